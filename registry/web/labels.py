"""Words a clerk reads for the codes the registry stores (sex, status, document kind, log action...),
and dates, times, numbers and sizes as the reader writes them.

Pages show `{{ person.sex|label("sex") }}`: the code is stored and exchanged as is,
the words follow the clerk's language. A code without words (new, or from an
older record) is shown as it is rather than hidden. Dates and numbers follow the
reader's locale (Babel); times are shown in the registry's time zone (the setting
``time_zone``), whatever the server's; a date known only to the month or the year
is shown so, never with a day that nobody recorded.
"""

from __future__ import annotations

import unicodedata
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime, format_skeleton
from babel.numbers import format_decimal
from babel.units import format_unit
from flask import Flask, current_app
from flask_babel import get_locale

from registry.accounts.permissions import Role
from registry.audit.events import Action, Outcome
from registry.documents.models import PersonRole
from registry.i18n import _
from registry.persons.models import Category, DatePrecision, NameKind, PersonStatus, Script, Sex

LABELS: dict[str, dict[str, Any]] = {
    "sex": {Sex.FEMALE: _("female"), Sex.MALE: _("male"), Sex.UNKNOWN: _("not known")},
    "date_precision": {
        DatePrecision.EXACT: _("exact date"),
        DatePrecision.MONTH: _("month and year only"),
        DatePrecision.YEAR: _("year only"),
        DatePrecision.ESTIMATED: _("estimated"),
        DatePrecision.UNKNOWN: _("date not known"),
    },
    "category": {
        Category.CHILD: _("child"),
        Category.ORPHAN: _("orphan"),
        Category.WOMAN: _("woman"),
        Category.MAN: _("man"),
    },
    "person_status": {
        PersonStatus.IDENTIFIED_ABROAD: _("identified abroad"),
        PersonStatus.CONSENTED_TO_RETURN: _("consented to return"),
        PersonStatus.RETURNED: _("returned"),
        PersonStatus.IN_REHABILITATION: _("in rehabilitation"),
        PersonStatus.RESETTLED: _("resettled"),
        PersonStatus.REFUSED_TO_RETURN: _("refused to return"),
    },
    "name_kind": {
        NameKind.BIRTH: _("name at birth"),
        NameKind.RECORDED_ABROAD: _("name as recorded abroad"),
        NameKind.CHOSEN_BY_MOTHER: _("name chosen by the mother"),
        NameKind.OFFICIAL: _("official name"),
        NameKind.ALIAS: _("alias"),
    },
    "script": {Script.CYRILLIC: _("Cyrillic"), Script.LATIN: _("Latin"), Script.ARABIC: _("Arabic")},
    "document_kind": {
        "identity_document": _("identity document"),
        "passport": _("passport"),
        "birth_record": _("birth record"),
        "genomic_test_result": _("genomic (DNA) test result"),
        "court_ruling": _("court ruling"),
        "consent_receipt": _("voluntary return receipt"),
        "other": _("other document"),
    },
    "person_role": {
        PersonRole.SUBJECT: _("the person concerned"),
        PersonRole.MOTHER: _("mother"),
        PersonRole.FATHER: _("father"),
        PersonRole.CHILD: _("child"),
        PersonRole.ALLEGED_PARENT: _("alleged parent"),
        PersonRole.APPLICANT: _("applicant"),
    },
    "version_reason": {"initial": _("first upload")},
    "staff_role": {
        Role.ADMIN: _("administrator"),
        Role.CLERK: _("registry clerk"),
        Role.LAWYER: _("lawyer"),
        Role.CASEWORKER: _("caseworker"),
        Role.AUDITOR: _("auditor"),
    },
    "outcome": {Outcome.ALLOWED: _("allowed"), Outcome.DENIED: _("denied"), Outcome.FAILED: _("failed")},
    "action": {
        Action.LOGIN: _("signed in"),
        Action.LOGIN_FAILED: _("sign-in failed"),
        Action.LOGOUT: _("signed out"),
        Action.MFA_ENROLLED: _("set up two-step sign-in"),
        Action.PASSWORD_CHANGED: _("changed the password"),
        Action.TOKEN_CREATED: _("created an API token"),
        Action.TOKEN_REVOKED: _("revoked an API token"),
        Action.TOKEN_REJECTED: _("API token refused"),
        Action.NDA_PUBLISHED: _("published a new NDA text"),
        Action.NDA_SIGNED: _("signed the NDA"),
        Action.ACCESS_DENIED: _("access refused"),
        Action.EMERGENCY_ACCESS: _("emergency access"),
        Action.USER_CREATED: _("created a staff account"),
        Action.USER_CHANGED: _("changed a staff account"),
        Action.ROLES_CHANGED: _("changed roles"),
        Action.CASE_CREATED: _("opened a case"),
        Action.CASE_MEMBER_ADDED: _("added a case member"),
        Action.CASE_MEMBER_REMOVED: _("removed a case member"),
        Action.CASE_PERSON_ADDED: _("added a person to a case"),
        Action.PERSON_CREATED: _("registered a person"),
        Action.PERSON_UPDATED: _("changed a person's record"),
        Action.PERSON_VIEWED: _("viewed a person's record"),
        Action.PERSON_SEARCHED: _("searched for persons"),
        Action.PERSONS_IMPORTED: _("imported persons"),
        Action.DOCUMENT_UPLOADED: _("uploaded a document"),
        Action.DOCUMENT_VERSION_ADDED: _("added a document version"),
        Action.DOCUMENT_REFINGERPRINTED: _("fingerprinted a document's original again under a new key"),
        Action.DOCUMENT_LINKED: _("linked a document to a person"),
        Action.DOCUMENT_VIEWED: _("viewed a document"),
        Action.DOCUMENT_CONTENT_READ: _("opened a document's viewing copy"),
        Action.DOCUMENT_ORIGINAL_READ: _("downloaded a document's original"),
        Action.RELATIONSHIP_CLAIMED: _("recorded a kinship claim"),
        Action.RELATIONSHIP_CHANGED: _("changed a kinship status"),
        Action.RELATIONSHIP_VIEWED: _("viewed kinship"),
        Action.EVIDENCE_ATTACHED: _("attached kinship evidence"),
        Action.BUNDLE_EXPORTED: _("exported an evidence bundle"),
        Action.RESTORATION_OPENED: _("opened a document restoration"),
        Action.RESTORATION_CHANGED: _("changed a document restoration"),
        Action.RESTORATION_VIEWED: _("viewed a document restoration"),
        Action.AUDIT_READ: _("read the access log"),
        Action.ACCESS_REPORT_READ: _("read an access report"),
        Action.ACCESS_REPORT_EXPORTED: _("exported an access report"),
        Action.REQUEST_REFUSED: _("request refused"),
        Action.ROLE_CHANGE_PROPOSED: _("proposed a role change"),
        Action.ROLE_CHANGE_APPROVED: _("approved a role change"),
        Action.ROLE_CHANGE_REJECTED: _("rejected a role change"),
        Action.ACCOUNT_SETUP_ISSUED: _("issued an account set-up link"),
        Action.ACCOUNT_SET_UP: _("set up their account"),
        Action.UNLOCKABLE_STORE_ACCEPTED: _("started on a store that cannot lock objects (accepted by the operator)"),
        Action.LEGAL_HOLD_PLACED: _("placed a legal hold"),
        Action.LEGAL_HOLD_LIFTED: _("lifted a legal hold"),
        Action.LEGAL_HOLDS_READ: _("viewed legal holds"),
        Action.DISPOSAL_PROPOSED: _("proposed a disposal under the retention schedule"),
        Action.DISPOSAL_APPROVED: _("approved a disposal (signed disposal record)"),
        Action.DISPOSAL_REJECTED: _("rejected a disposal"),
        Action.DOCUMENT_DISPOSED: _("disposed of a document's files (its record kept)"),
        Action.PERSON_EXPORTED: _("exported everything held about a person"),
        Action.PERSON_NOT_SAME: _("decided that two records are not the same person"),
        Action.PERSON_MERGE_PROPOSED: _("proposed merging two records of the same person"),
        Action.PERSON_MERGE_REJECTED: _("rejected or withdrew a proposed merge"),
        Action.PERSON_MERGED: _("merged two records of the same person"),
        Action.PERSON_MERGE_UNDONE: _("undid a merge of two records"),
    },
    "target": {
        "person": _("person"),
        "person_search": _("person search"),
        "person_import": _("person import"),
        "document": _("document"),
        "case": _("case"),
        "user": _("staff account"),
        "api_token": _("API token"),
        "nda": _("NDA"),
        "emergency_access": _("emergency access"),
        "relationship": _("kinship"),
        "kinship_lists": _("kinship lists"),
        "restoration": _("document restoration"),
        "restoration_list": _("restoration list"),
        "request": _("request"),
        "audit": _("access log"),
        "anomalies": _("anomalies"),
        "document_list": _("document list"),
        "legal_hold": _("legal hold"),
        "disposal": _("disposal"),
        "merge": _("merge of two records"),
    },
}


def label(value: Any, group: str) -> str:
    """The words for a stored code in the current language; the code itself if it has none."""
    if value is None:
        return ""
    words = LABELS[group].get(value)
    return str(value if words is None else words)


def _locale() -> str:
    return str(get_locale() or "en")


def number(value: float | int | None) -> str:
    """1250000.0 as the reader writes it: 1,250,000 or 1 250 000; no ".0" on a whole number."""
    return "" if value is None else format_decimal(value, locale=_locale())


def day(value: date | datetime | None) -> str:
    """A whole date in the reader's words (1 сентября 2018 г.)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(_zone())
    return format_date(value, "long", locale=_locale())


def when(value: datetime | None) -> str:
    """A moment in the registry's time zone, in the reader's format; naive values are UTC."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return format_datetime(value, "short", tzinfo=_zone(), locale=_locale())


def partial_date(value: date | None, precision: str) -> str:
    """A date only as exact as it was recorded: '2018', 'сентябрь 2018 г.', never an invented day."""
    if value is None or precision == DatePrecision.UNKNOWN:
        return str(_("date not known"))
    if precision == DatePrecision.YEAR:
        return str(value.year)
    if precision == DatePrecision.MONTH:
        return format_skeleton("yMMMM", value, locale=_locale())
    if precision == DatePrecision.ESTIMATED:
        return str(_("about %(year)d", year=value.year))
    return day(value)


def filesize(size: int | None) -> str:
    """Bytes as a person reads them: 820 KB, 50 MB, 1,2 GB (1024-based, like the upload limit)."""
    if size is None:
        return ""
    amount, unit = float(size), "byte"
    for bigger in ("kilobyte", "megabyte", "gigabyte"):
        if amount < 1024:
            break
        amount, unit = amount / 1024, bigger
    pattern = "#,##0" if unit == "byte" or amount >= 10 else "#,##0.#"
    return format_unit(
        amount, "byte" if unit == "byte" else f"digital-{unit}", "short", format=pattern, locale=_locale()
    )


def _zone() -> ZoneInfo:
    return current_app.extensions["registry_zone"]


SCRIPT_OF_LETTERS = {"LATIN": Script.LATIN, "CYRILLIC": Script.CYRILLIC, "ARABIC": Script.ARABIC}


def written_in(text: str) -> str | None:
    """The one script the letters of ``text`` are in; None when there are no letters or scripts mix."""
    found = {SCRIPT_OF_LETTERS.get(unicodedata.name(ch, "").split(" ")[0]) for ch in text if ch.isalpha()}
    return found.pop() if len(found) == 1 else None


def script_mismatch(script: str, *parts: str) -> str | None:
    """The script a name is really written in, when that is not the one chosen for it."""
    actual = written_in(" ".join(parts))
    return actual if actual is not None and actual != script else None


def register(app: Flask) -> None:
    """Filters, not globals: form macros already take a parameter called `label`."""
    settings = app.extensions["registry"].settings
    app.extensions["registry_zone"] = ZoneInfo(settings.time_zone)
    for function in (label, number, day, when, partial_date, filesize):
        app.add_template_filter(function)
    app.jinja_env.globals.update(
        script_mismatch=script_mismatch,
        upload_limit_bytes=settings.max_upload_mb * 1024 * 1024,
        session_idle_seconds=settings.session_idle_minutes * 60,
    )
