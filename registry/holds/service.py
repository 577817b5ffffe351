"""Legal holds: placed on a person, a case or a document with a reason, listed, lifted with a reason.

Need to know applies as everywhere: a lawyer places, sees and lifts holds only on persons, cases and
documents they may see; anything else answers "not found" exactly as an id that names nothing. A hold keeps
what it covers (``holds.coverage``) from disposal, and the store holds its objects too where it can.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from registry.accounts.actor import Actor
from registry.accounts.permissions import Permission
from registry.audit.events import Action
from registry.audit.service import record
from registry.cases import service as cases
from registry.cases.models import Case
from registry.db import utcnow
from registry.documents import service as documents
from registry.documents.models import Document
from registry.errors import AuditNote, Conflict, Forbidden, NotFound, validation
from registry.holds import coverage
from registry.holds.models import HoldTarget, LegalHold
from registry.i18n import _
from registry.persons.models import Person
from storage import EncryptedStore

MIN_REASON = 10


@dataclass(frozen=True)
class Target:
    """What a hold is on, as the reader may see it: its words for pages, the persons it concerns."""

    type: str
    id: str
    label: str
    person_ids: tuple[str, ...]


def _reason(text: str | None, field: str = "reason") -> str:
    reason = " ".join((text or "").split())
    if len(reason) < MIN_REASON:
        raise validation(**{field: str(_("Say in a sentence (at least %(n)d characters) why.", n=MIN_REASON))})
    return reason[:1000]


def _target_type(value: str | None) -> str:
    try:
        return HoldTarget(value or "").value
    except ValueError:
        raise validation(target_type=str(_("Choose what to hold: a person, a case or a document."))) from None


def _require(actor: Actor) -> None:
    if not actor.can(Permission.HOLD_MANAGE):
        raise Forbidden(str(_("Your role does not place or lift legal holds.")))


def resolve_target(db: Session, actor: Actor, target_type: str, target_id: str, action: str) -> Target:
    """The target if the actor may see it; otherwise "not found", the same as an id that names nothing
    (the refusal is logged under ``action``)."""
    target_id = (target_id or "").strip()
    if not target_id:
        raise validation(target_id=str(_("Give the id of the person, case or document.")))
    target_id = target_id[:36]
    if target_type == HoldTarget.PERSON:
        cases.require_person_visible(db, actor, target_id, action)
        person = db.get(Person, target_id)
        if person is None:  # a clerk sees the whole registry, so "visible" does not mean "exists"
            raise NotFound(
                str(_("No such person.")),
                audit=AuditNote(
                    action, target_type="person", target_id=target_id, details={"reason": "no such person"}
                ),
            )
        return Target(target_type, target_id, person.registry_number, (person.id,))
    if target_type == HoldTarget.CASE:
        case = db.get(Case, target_id)
        if case is None or case not in cases.cases_for(db, actor):
            raise NotFound(
                str(_("No such case.")),
                audit=AuditNote(
                    action, target_type="case", target_id=target_id, details={"reason": "not a case of the actor"}
                ),
            )
        return Target(target_type, target_id, case.reference, tuple(p.person_id for p in case.persons))
    document = documents.get_document(db, actor, target_id, log=False, action=action)
    return Target(target_type, target_id, document.title, tuple(document.person_ids))


def place_hold(
    db: Session, actor: Actor, store: EncryptedStore, *, target_type: str, target_id: str, reason: str
) -> tuple[LegalHold, Target]:
    _require(actor)
    kind, reason = _target_type(target_type), _reason(reason)
    target = resolve_target(db, actor, kind, target_id, Action.LEGAL_HOLD_PLACED)
    hold = LegalHold(target_type=kind, target_id=target.id, reason=reason, placed_by_id=actor.user_id)
    db.add(hold)
    db.flush()
    covered = coverage.documents_covered(db, hold)
    record(
        db,
        actor,
        Action.LEGAL_HOLD_PLACED,
        target_type="legal_hold",
        target_id=hold.id,
        person_ids=target.person_ids,
        reason=reason,
        details={
            "target_type": kind,
            "target_id": target.id,
            "documents": covered[:100],
            "documents_covered": len(covered),
        },
    )
    coverage.sync_store_holds(db, store, covered)
    return hold, target


def _visible_hold(db: Session, actor: Actor, hold_id: str, action: str) -> tuple[LegalHold, Target]:
    hold = db.get(LegalHold, (hold_id or "")[:36])
    if hold is not None:
        try:
            return hold, resolve_target(db, actor, hold.target_type, hold.target_id, action)
        except NotFound:
            pass
    raise NotFound(
        str(_("No such legal hold.")),
        audit=AuditNote(
            action, target_type="legal_hold", target_id=hold_id, details={"reason": "no such hold, or not visible"}
        ),
    )


def lift_hold(db: Session, actor: Actor, store: EncryptedStore, hold_id: str, reason: str) -> tuple[LegalHold, Target]:
    """Lifted with a reason; the store's hold stays on every object another active hold still covers."""
    _require(actor)
    reason = _reason(reason)
    hold, target = _visible_hold(db, actor, hold_id, Action.LEGAL_HOLD_LIFTED)
    if not hold.active:
        raise Conflict(
            str(_("This hold was lifted already.")),
            audit=AuditNote(
                Action.LEGAL_HOLD_LIFTED,
                target_type="legal_hold",
                target_id=hold.id,
                person_ids=target.person_ids,
                details={"reason": "lifted already"},
            ),
        )
    hold.lifted_at, hold.lifted_by_id, hold.lift_reason = utcnow(), actor.user_id, reason
    db.flush()
    covered = coverage.documents_covered(db, hold)
    still = coverage.held_document_ids(db) & set(covered)
    record(
        db,
        actor,
        Action.LEGAL_HOLD_LIFTED,
        target_type="legal_hold",
        target_id=hold.id,
        person_ids=target.person_ids,
        reason=reason,
        details={
            "target_type": hold.target_type,
            "target_id": hold.target_id,
            "documents_covered": len(covered),
            "still_held_by_other_holds": len(still),
        },
    )
    coverage.sync_store_holds(db, store, covered, release=True)
    return hold, target


def _listed_persons(target: Target) -> tuple[str, ...]:
    """A case's hold shows the case, not its persons; a person's or a document's names them."""
    return () if target.type == HoldTarget.CASE else target.person_ids


def list_holds(
    db: Session, actor: Actor, *, target_type: str = "", target_id: str = "", active_only: bool = False
) -> list[tuple[LegalHold, Target]]:
    """The holds the actor may see (all of them for a clerk), active first, newest first; logged."""
    _require(actor)
    query = sa.select(LegalHold)
    if target_type:
        query = query.where(LegalHold.target_type == _target_type(target_type))
    if target_id:
        query = query.where(LegalHold.target_id == target_id[:36])
    if active_only:
        query = query.where(coverage.ACTIVE)
    shown: list[tuple[LegalHold, Target]] = []
    for hold in db.scalars(query.order_by(LegalHold.lifted_at.is_not(None), LegalHold.placed_at.desc())):
        try:
            shown.append((hold, resolve_target(db, actor, hold.target_type, hold.target_id, Action.LEGAL_HOLDS_READ)))
        except NotFound:
            continue  # outside the reader's cases: not listed, not counted
    persons = sorted({p for _hold, target in shown for p in _listed_persons(target)})
    record(
        db,
        actor,
        Action.LEGAL_HOLDS_READ,
        target_type="legal_hold",
        person_ids=persons,
        details={
            "holds": len(shown),
            **({"target_type": target_type, "target_id": target_id[:36]} if target_type or target_id else {}),
        },
    )
    return shown


def hold_json(db: Session, hold: LegalHold, target: Target, store_holds: bool) -> dict[str, Any]:
    return {
        "id": hold.id,
        "target_type": hold.target_type,
        "target_id": hold.target_id,
        "target_label": target.label,
        "reason": hold.reason,
        "placed_by": hold.placed_by.username,
        "placed_at": hold.placed_at.isoformat(),
        "active": hold.active,
        "lifted_at": hold.lifted_at.isoformat() if hold.lifted_at else None,
        "lifted_by": hold.lifted_by.username if hold.lifted_by else None,
        "lift_reason": hold.lift_reason or None,
        "documents_covered": len(coverage.documents_covered(db, hold)),
        # Whether the object store also holds the objects (S3 Object Lock legal hold); a folder cannot.
        "store_legal_hold": store_holds,
    }


def document_held(db: Session, document: Document) -> bool:
    return bool(coverage.holds_on_document(db, document.id))
