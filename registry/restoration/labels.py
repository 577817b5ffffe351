"""Words a clerk reads for each restoration choice and status (translated)."""

from __future__ import annotations

from typing import Any

from registry.i18n import _
from registry.restoration.models import RestorationReason as Why
from registry.restoration.models import RestorationStatus as S
from registry.restoration.models import WantedDocument as W

WANTED_LABELS: dict[str, Any] = {
    W.BIRTH_RECORD: _("birth record"),
    W.IDENTITY_DOCUMENT: _("identity document"),
    W.PASSPORT: _("passport"),
}
REASON_LABELS: dict[str, Any] = {
    Why.BORN_ABROAD: _("born abroad"),
    Why.LOST: _("lost"),
    Why.CONFISCATED: _("confiscated"),
    Why.NEVER_ISSUED: _("never issued"),
}
STATUS_LABELS: dict[str, Any] = {
    S.OPENED: _("opened"),
    S.EVIDENCE_COLLECTED: _("evidence collected"),
    S.SUBMITTED: _("submitted"),
    S.ISSUED: _("issued"),
    S.HANDED_OVER: _("handed over"),
    S.REJECTED: _("rejected"),
}
