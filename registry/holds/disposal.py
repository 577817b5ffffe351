"""Disposal under the retention schedule: what is due, a proposal by one member of staff, approval by another.

A document is due when its newest version was uploaded longer ago than its kind's period
(``holds.retention``); permanent kinds never are. Never disposed of: anything a legal hold covers, anything
whose objects are locked (``locked_until`` still to come, or the store says it would refuse), anything inside
its period. All of it is checked when the list is made, when it is proposed, and again at approval, which
disposes of what still passes and names what it kept and why.

Approval disposes of the files, not the record: the document, its versions, the persons it concerns and the
access log stay; each version names the disposal, each object is marked disposed, and the bytes (original and
viewing copy) are deleted from the store once the transaction has committed. The approval event carries the
signed disposal record (what, why, who proposed, who approved), signed with the audit key over its own
context line, so a disposal record never verifies as a checkpoint or a bundle.
"""

from __future__ import annotations

import base64
import binascii
import logging
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy.orm import Session

from registry.accounts.actor import Actor
from registry.accounts.permissions import Permission
from registry.accounts.service import refuse_own_proposal
from registry.audit.checkpoints import public_key_id
from registry.audit.events import Action, canonical_json, canonical_text, clean_details, format_time
from registry.audit.service import record
from registry.db import on_commit, utcnow
from registry.documents.models import Document, DocumentVersion, StoredObject
from registry.errors import AuditNote, Conflict, Forbidden, NotFound, Refused, validation
from registry.holds import coverage
from registry.holds.models import Disposal, DisposalItem, DisposalStatus
from registry.holds.retention import cutoff, describe, years_later
from registry.i18n import _
from storage import EncryptedStore, ObjectNotFound, StorageError

log = logging.getLogger("registry.holds")
DISPOSAL_CONTEXT = b"kinship-registry/disposal-record/v1\n"
# One disposal names at most this many documents and versions: the access log keeps lists of up to 100 items,
# and the signed record must be in the log whole. A longer list is disposed of in several proposals.
MAX_DOCUMENTS = 100
MAX_VERSIONS = 100
RECORD_FIELDS = (
    "disposal",
    "documents",
    "kinds",
    "versions",
    "why",
    "kept",
    "rule",
    "proposed_by",
    "proposed_at",
    "approved_by",
    "approved_at",
)
# Why a due document is kept (stored as "code: detail").
HELD, LOCKED, STORE_REFUSES, PROPOSED, PERMANENT_NOW, INSIDE_PERIOD, GONE = (
    "legal_hold",
    "object_lock",
    "store_refuses",
    "proposed",
    "permanent",
    "inside_period",
    "no_such_document",
)


@dataclass(frozen=True)
class Due:
    """A document past its retention period, and why it is kept anyway (``kept`` empty: it may go)."""

    document_id: str
    kind: str
    newest_upload: datetime
    years: int
    versions: tuple[int, ...]
    kept: str = ""

    @property
    def due_on(self) -> date:
        return years_later(self.newest_upload, self.years)

    @property
    def why(self) -> str:
        """The rule that makes it due, in the words of the signed record (English, like every log detail)."""
        return (
            f"{self.kind} kept {self.years} years after its newest version, uploaded "
            f"{self.newest_upload:%Y-%m-%d}; due since {self.due_on.isoformat()}"
        )


def _require(actor: Actor) -> None:
    if not actor.can(Permission.RETENTION_MANAGE):
        raise Forbidden(str(_("Your role does not manage the retention schedule.")))


def _versions(db: Session, document_ids: list[str]) -> dict[str, list[DocumentVersion]]:
    found: dict[str, list[DocumentVersion]] = {i: [] for i in document_ids}
    for version in db.scalars(
        sa.select(DocumentVersion).where(DocumentVersion.document_id.in_(document_ids)).order_by(DocumentVersion.number)
    ):
        found[version.document_id].append(version)
    return found


def _objects(versions: list[DocumentVersion]) -> list[StoredObject]:
    return [o for v in versions for o in (v.original, v.viewing) if o is not None and o.disposed_at is None]


def _locked(objects: list[StoredObject], now: datetime) -> str:
    until = max((o.locked_until for o in objects if o.locked_until and o.locked_until > now), default=None)
    return f"{LOCKED}: locked until {until:%Y-%m-%d}" if until else ""


def _store_refuses(store: EncryptedStore, objects: list[StoredObject]) -> str:
    try:
        for obj in objects:
            blocked = store.deletion_blocked(obj.key)
            if blocked:
                return f"{STORE_REFUSES}: {blocked}"[:160]
    except StorageError as exc:
        log.error("asking the store whether it would delete: %s", exc)
        raise Refused(
            "storage_unavailable",
            503,
            str(_("The object store does not answer just now, so nothing was disposed of. Try again later.")),
        ) from None
    return ""


def _proposed(db: Session) -> dict[str, str]:
    """Document id -> the open proposal that already names it."""
    return dict(
        db.execute(
            sa.select(DisposalItem.document_id, DisposalItem.disposal_id)
            .join(Disposal, Disposal.id == DisposalItem.disposal_id)
            .where(Disposal.status == DisposalStatus.PROPOSED)
        ).all()
    )


def due_documents(
    db: Session, schedule: dict[str, int | None], now: datetime | None = None, store: EncryptedStore | None = None
) -> list[Due]:
    """Every document past its period, oldest first, each with why it is kept if it is ("" if it may go).
    With ``store``, the store is asked too whether it would refuse the deletion."""
    now = now or utcnow()
    limited = {kind: years for kind, years in schedule.items() if years is not None}
    if not limited:
        return []
    newest = sa.func.max(DocumentVersion.uploaded_at)
    disposed = sa.select(DocumentVersion.document_id).where(DocumentVersion.disposal_id.is_not(None))
    rows = db.execute(
        sa.select(Document.id, Document.kind, newest)
        .join(DocumentVersion, DocumentVersion.document_id == Document.id)
        .where(Document.kind.in_(list(limited)), Document.id.not_in(disposed))
        .group_by(Document.id, Document.kind)
        .having(
            sa.or_(
                *(sa.and_(Document.kind == kind, newest < cutoff(now.date(), years)) for kind, years in limited.items())
            )
        )
        .order_by(newest, Document.id)
    ).all()
    if not rows:
        return []
    held, proposed = coverage.held_document_ids(db), _proposed(db)
    versions = _versions(db, [row[0] for row in rows])
    found = []
    for document_id, kind, uploaded in rows:
        objects = _objects(versions[document_id])
        kept = (
            f"{HELD}: under a legal hold"
            if document_id in held
            else f"{PROPOSED}: named by open proposal {proposed[document_id]}"
            if document_id in proposed
            else _locked(objects, now) or (_store_refuses(store, objects) if store is not None else "")
        )
        found.append(
            Due(document_id, kind, uploaded, limited[kind], tuple(v.number for v in versions[document_id]), kept)
        )
    return found


def _within_limits(due: list[Due]) -> list[Due]:
    chosen: list[Due] = []
    versions = 0
    for item in due:
        if len(chosen) == MAX_DOCUMENTS or versions + len(item.versions) > MAX_VERSIONS:
            break
        chosen.append(item)
        versions += len(item.versions)
    return chosen


def _persons_of(db: Session, document_ids: list[str]) -> list[str]:
    found = db.scalars(sa.select(Document).where(Document.id.in_(document_ids)))
    return sorted({p for document in found for p in document.person_ids})


def propose(
    db: Session,
    actor: Actor,
    schedule: dict[str, int | None],
    store: EncryptedStore | None = None,
    now: datetime | None = None,
) -> Disposal:
    """Name what is due and may go (at most ``MAX_DOCUMENTS``); another member of staff approves it."""
    _require(actor)
    chosen = _within_limits([d for d in due_documents(db, schedule, now, store) if not d.kept])
    if not chosen:
        raise Conflict(
            str(
                _(
                    "Nothing is due for disposal: every document is inside its retention period, "
                    "permanent, held, locked or already proposed."
                )
            ),
            audit=AuditNote(
                Action.DISPOSAL_PROPOSED, outcome="failed", target_type="disposal", details={"reason": "nothing due"}
            ),
        )
    disposal = Disposal(
        proposed_by_id=actor.user_id,
        items=[
            DisposalItem(document_id=d.document_id, kind=d.kind, newest_upload=d.newest_upload, years=d.years)
            for d in chosen
        ],
    )
    db.add(disposal)
    db.flush()
    ids = [d.document_id for d in chosen]
    record(
        db,
        actor,
        Action.DISPOSAL_PROPOSED,
        target_type="disposal",
        target_id=disposal.id,
        person_ids=_persons_of(db, ids),
        details={
            "documents": ids,
            "kinds": [d.kind for d in chosen],
            "why": [d.why for d in chosen],
            "rule": describe(schedule),
        },
    )
    return disposal


def get_disposal(db: Session, actor: Actor, disposal_id: str, action: str) -> Disposal:
    _require(actor)
    disposal = db.get(Disposal, (disposal_id or "")[:36])
    if disposal is None:
        raise NotFound(
            str(_("No such disposal.")), audit=AuditNote(action, target_type="disposal", target_id=disposal_id)
        )
    return disposal


def _undecided(disposal: Disposal, action: str) -> None:
    if disposal.status != DisposalStatus.PROPOSED:
        raise Conflict(
            str(_("This disposal was decided already (%(status)s).", status=disposal.status)),
            audit=AuditNote(
                action, target_type="disposal", target_id=disposal.id, details={"reason": f"already {disposal.status}"}
            ),
        )


def _recheck(
    db: Session,
    store: EncryptedStore,
    schedule: dict[str, int | None],
    disposal: Disposal,
    versions: dict[str, list[DocumentVersion]],
    now: datetime,
) -> dict[str, str]:
    """Document id -> why it is kept now ("" to dispose of it): everything checked again, the store too."""
    held = coverage.held_document_ids(db)
    kept: dict[str, str] = {}
    for item in disposal.items:
        found = versions.get(item.document_id) or []
        years = schedule.get(item.kind)
        newest = max((v.uploaded_at for v in found), default=None)
        objects = _objects(found)
        if not found or any(v.disposed for v in found):
            kept[item.document_id] = f"{GONE}: no such document, or disposed of already"
        elif years is None:
            kept[item.document_id] = f"{PERMANENT_NOW}: {item.kind} is kept permanently now"
        elif newest is None or years_later(newest, years) > now.date():
            kept[item.document_id] = f"{INSIDE_PERIOD}: a version was added since, or the period grew"
        elif item.document_id in held:
            kept[item.document_id] = f"{HELD}: under a legal hold"
        else:
            kept[item.document_id] = _locked(objects, now) or _store_refuses(store, objects)
    return kept


def sign_record(key: Ed25519PrivateKey, signed: dict[str, Any]) -> str:
    return base64.b64encode(key.sign(DISPOSAL_CONTEXT + canonical_json(signed))).decode()


def verify_record(details: dict[str, Any], public: Ed25519PublicKey) -> bool:
    """Whether the disposal record in an approval event's details is the one the audit key signed."""
    try:
        signed = {name: details[name] for name in RECORD_FIELDS}
        signature = base64.b64decode(details["signature"], validate=True)
        public.verify(signature, DISPOSAL_CONTEXT + canonical_json(signed))
    except (KeyError, TypeError, ValueError, binascii.Error, InvalidSignature):
        return False
    return True


def approve(
    db: Session,
    actor: Actor,
    store: EncryptedStore,
    key: Ed25519PrivateKey,
    schedule: dict[str, int | None],
    disposal_id: str,
    now: datetime | None = None,
) -> Disposal:
    """A second member of staff approves: what still passes every check is disposed of, the rest kept."""
    now = now or utcnow()
    disposal = get_disposal(db, actor, disposal_id, Action.DISPOSAL_APPROVED)
    _undecided(disposal, Action.DISPOSAL_APPROVED)
    refuse_own_proposal(
        actor,
        disposal.proposed_by_id,
        str(
            _(
                "You proposed this disposal, so you cannot approve it: another member of staff who "
                "manages retention must."
            )
        ),
        AuditNote(
            Action.DISPOSAL_APPROVED,
            target_type="disposal",
            target_id=disposal.id,
            details={"reason": "the proposer may not approve"},
        ),
    )
    versions = _versions(db, [i.document_id for i in disposal.items])
    kept = _recheck(db, store, schedule, disposal, versions, now)
    going = [i for i in disposal.items if not kept[i.document_id]]
    if not going:
        raise Conflict(
            str(
                _(
                    "Nothing this proposal names may be disposed of any more (a hold, a lock, a new "
                    "version or a changed schedule): reject it."
                )
            ),
            audit=AuditNote(
                Action.DISPOSAL_APPROVED,
                outcome="failed",
                target_type="disposal",
                target_id=disposal.id,
                details={"kept": sorted(kept.values())[:100]},
            ),
        )
    keys: list[str] = []
    for item in disposal.items:
        item.outcome, item.kept_because = (
            ("kept", kept[item.document_id][:300]) if kept[item.document_id] else ("disposed", "")
        )
    for item in going:
        for version in versions[item.document_id]:
            version.disposal_id = disposal.id
            for obj in _objects([version]):
                obj.disposed_at = now
                keys.append(obj.key)
    disposal.status, disposal.decided_by_id, disposal.decided_at = DisposalStatus.APPROVED, actor.user_id, now
    signed = _record(disposal, going, versions, kept, schedule, actor, now)
    disposal.record, disposal.signature = canonical_text(signed), sign_record(key, signed)
    db.flush()
    documents = {
        d.id: d for d in db.scalars(sa.select(Document).where(Document.id.in_([i.document_id for i in going])))
    }
    record(
        db,
        actor,
        Action.DISPOSAL_APPROVED,
        target_type="disposal",
        target_id=disposal.id,
        person_ids=sorted({p for d in documents.values() for p in d.person_ids}),
        details={
            **signed,
            "signature": disposal.signature,
            "key_id": public_key_id(key.public_key()),
            "signed_context": DISPOSAL_CONTEXT.decode().strip(),
        },
    )
    for item in going:
        record(
            db,
            actor,
            Action.DOCUMENT_DISPOSED,
            target_type="document",
            target_id=item.document_id,
            person_ids=documents[item.document_id].person_ids,
            details={
                "disposal": disposal.id,
                "kind": item.kind,
                "versions": [str(v.number) for v in versions[item.document_id]],
            },
        )
    on_commit(db, lambda: delete_objects(store, keys))
    return disposal


def _record(
    disposal: Disposal,
    going: list[DisposalItem],
    versions: dict[str, list[DocumentVersion]],
    kept: dict[str, str],
    schedule: dict[str, int | None],
    actor: Actor,
    now: datetime,
) -> dict[str, Any]:
    """What, why, who proposed, who approved: only strings and lists of strings, as the log keeps them."""
    dues = [
        Due(
            i.document_id,
            i.kind,
            max(v.uploaded_at for v in versions[i.document_id]),
            i.years,
            tuple(v.number for v in versions[i.document_id]),
        )
        for i in going
    ]
    signed = {
        "disposal": disposal.id,
        "documents": [d.document_id for d in dues],
        "kinds": [d.kind for d in dues],
        "versions": [f"{d.document_id}:{n}" for d in dues for n in d.versions],
        "why": [d.why for d in dues],
        "kept": [f"{doc}: {why}"[:200] for doc, why in sorted(kept.items()) if why],
        "rule": describe(schedule),
        "proposed_by": disposal.proposed_by.username,
        "proposed_at": format_time(disposal.proposed_at),
        "approved_by": actor.username,
        "approved_at": format_time(now),
    }
    if clean_details(signed) != signed:  # the log must keep exactly what was signed
        raise RuntimeError("the disposal record does not fit the access log as it is")
    return signed


def reject(db: Session, actor: Actor, disposal_id: str, reason: str) -> Disposal:
    """Anyone who manages retention (the proposer too, withdrawing it) rejects a proposal, saying why."""
    reason = " ".join((reason or "").split())
    if len(reason) < 10:
        raise validation(reason=str(_("Say in a sentence (at least %(n)d characters) why.", n=10)))
    disposal = get_disposal(db, actor, disposal_id, Action.DISPOSAL_REJECTED)
    _undecided(disposal, Action.DISPOSAL_REJECTED)
    disposal.status, disposal.decided_by_id, disposal.decided_at = DisposalStatus.REJECTED, actor.user_id, utcnow()
    disposal.decision_reason = reason[:1000]
    db.flush()
    record(
        db,
        actor,
        Action.DISPOSAL_REJECTED,
        target_type="disposal",
        target_id=disposal.id,
        person_ids=_persons_of(db, [i.document_id for i in disposal.items]),
        reason=reason,
        details={"documents": [i.document_id for i in disposal.items]},
    )
    return disposal


def delete_objects(store: EncryptedStore, keys: list[str]) -> list[str]:
    """Delete disposed objects from the store; returns those it refused (``registry retention run`` retries)."""
    failed = []
    for key in keys:
        try:
            store.delete(key)
        except ObjectNotFound:
            continue
        except StorageError:
            log.exception("disposed object %s could not be deleted; `registry retention run` retries", key)
            failed.append(key)
    return failed


def leftover_objects(db: Session, store: EncryptedStore) -> list[str]:
    """Objects marked disposed that the store still holds (a deletion refused or interrupted)."""
    keys = db.scalars(
        sa.select(StoredObject.key).where(StoredObject.disposed_at.is_not(None)).order_by(StoredObject.key)
    )
    return [k for k in keys if store.exists(k)]


def disposal_json(disposal: Disposal) -> dict[str, Any]:
    return {
        "id": disposal.id,
        "status": disposal.status,
        "proposed_by": disposal.proposed_by.username,
        "proposed_at": disposal.proposed_at.isoformat(),
        "decided_by": disposal.decided_by.username if disposal.decided_by else None,
        "decided_at": disposal.decided_at.isoformat() if disposal.decided_at else None,
        "decision_reason": disposal.decision_reason or None,
        "documents": [
            {
                "document_id": i.document_id,
                "kind": i.kind,
                "newest_upload": i.newest_upload.isoformat(),
                "years": i.years,
                "outcome": i.outcome or None,
                "kept_because": i.kept_because or None,
            }
            for i in disposal.items
        ],
        "record": disposal.record,
        "signature": disposal.signature,
    }


def due_json(due: Due) -> dict[str, Any]:
    return {
        "document_id": due.document_id,
        "kind": due.kind,
        "uploaded_at": due.newest_upload.isoformat(),
        "versions": list(due.versions),
        "retention_years": due.years,
        "due_on": due.due_on.isoformat(),
        "why": due.why,
        "kept_because": due.kept or None,
    }


def list_disposals(db: Session, actor: Actor, limit: int = 100) -> list[Disposal]:
    _require(actor)
    return list(
        db.scalars(
            sa.select(Disposal)
            .order_by(Disposal.status != DisposalStatus.PROPOSED, Disposal.proposed_at.desc())
            .limit(limit)
        )
    )
