"""Restoring the papers a person came back without: requests, their evidence, the mother's choices.

A request moves opened → evidence_collected → submitted → issued → handed_over (or is
rejected with a reason). Collected evidence is required before it moves on; an issued
request names the issued document, which must be of the kind that was asked for. For a
child's birth record the mother's choices (name, surname, place of birth to be written)
are kept with her recorded consent; the actual place of birth is kept apart and shown
only to roles that register persons.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from registry.accounts.actor import Actor
from registry.accounts.models import User
from registry.accounts.permissions import Permission
from registry.audit.events import Action
from registry.audit.service import record
from registry.cases import service as cases
from registry.db import utcnow
from registry.documents import service as documents
from registry.documents.models import Document
from registry.errors import AuditNote, Conflict, NotFound, validation
from registry.i18n import _
from registry.kinship import inputs
from registry.persons.models import Person, Sex
from registry.restoration.models import (
    FINISHED,
    RestorationEvent,
    RestorationEvidence,
    RestorationReason,
    RestorationRequest,
    RestorationStatus,
    WantedDocument,
)
from registry.web import listing

R = RestorationStatus
STEPS: dict[str, frozenset[str]] = {
    R.OPENED: frozenset({R.EVIDENCE_COLLECTED, R.REJECTED}),
    R.EVIDENCE_COLLECTED: frozenset({R.SUBMITTED, R.REJECTED}),
    R.SUBMITTED: frozenset({R.ISSUED, R.REJECTED}),
    R.ISSUED: frozenset({R.HANDED_OVER}),
}
EDITABLE = frozenset({R.OPENED, R.EVIDENCE_COLLECTED})  # the mother's choices can change until submission
DEFAULT_DAYS = 30


def allowed_steps(request: RestorationRequest) -> frozenset[str]:
    return STEPS.get(request.status, frozenset())


def choices_editable(request: RestorationRequest) -> bool:
    return request.document_wanted == WantedDocument.BIRTH_RECORD and request.status in EDITABLE


def sees_actual_place(actor: Actor) -> bool:
    return actor.can(Permission.PERSON_WRITE)


# ---------------------------------------------------------------- loading


def _load(
    db: Session, actor: Actor, request_id: str, action: str, *, lock: bool = False
) -> tuple[RestorationRequest, str]:
    query = sa.select(RestorationRequest).where(RestorationRequest.id == request_id)
    request = db.scalar(query.with_for_update() if lock else query)
    if request is None:
        raise NotFound(
            str(_("No such restoration request.")),
            audit=AuditNote(action, target_type="restoration", target_id=request_id),
        )
    reasons = []
    for person_id in request.person_ids:
        try:
            reasons.append(cases.require_person_visible(db, actor, person_id, action))
        except NotFound as exc:
            raise NotFound(str(_("No such restoration request.")), audit=exc.audit) from None
    return request, "; ".join(r for r in reasons if r)


def _clerk(db: Session, user_id: str, field_name: str) -> User:
    user = db.get(User, user_id) if user_id else None
    if user is None or not user.is_active or Permission.RESTORATION_WRITE not in user.permissions:
        raise validation(**{field_name: str(_("Choose an active clerk who handles restorations."))})
    return user


def clerk_id_by_username(db: Session, username: str) -> str:
    """The API names clerks by user name, as case membership does."""
    user_id = db.scalar(sa.select(User.id).where(User.username == username.strip().lower()))
    if user_id is None:
        raise validation(assigned_clerk=str(_("No user named %(name)s.", name=username)))
    return user_id


def clerks(db: Session) -> list[User]:
    """Staff a request can be assigned to."""
    users = db.scalars(sa.select(User).where(User.is_active.is_(True)).order_by(User.full_name))
    return [u for u in users if Permission.RESTORATION_WRITE in u.permissions]


def _history(
    request: RestorationRequest, actor: Actor, before: str, after: str, document_id: str | None = None, note: str = ""
) -> None:
    request.events.append(
        RestorationEvent(
            actor_id=actor.user_id,
            actor_name=actor.username,
            from_status=before,
            to_status=after,
            document_id=document_id,
            note=note,
            at=utcnow(),
        )
    )


def _log(
    db: Session, actor: Actor, action: str, request: RestorationRequest, emergency_reason: str, **details: Any
) -> None:
    record(
        db,
        actor,
        action,
        target_type="restoration",
        target_id=request.id,
        person_ids=request.person_ids,
        reason=emergency_reason,
        details=details,
    )


# ---------------------------------------------------------------- opening and changing


def _due(value: Any) -> date:
    due = inputs.day(value, "due_date", not_after_today=False) or date.today() + timedelta(days=DEFAULT_DAYS)
    if due < date.today():
        raise validation(due_date=str(_("The due date cannot be in the past.")))
    return due


def open_request(
    db: Session,
    actor: Actor,
    *,
    person_id: str,
    document_wanted: str,
    reason: str,
    assigned_clerk_id: str = "",
    due_date: Any = None,
    notes: str = "",
) -> RestorationRequest:
    typed = inputs.gather(
        {
            "document_wanted": lambda: inputs.choice(WantedDocument, document_wanted, "document_wanted"),
            "reason": lambda: inputs.choice(RestorationReason, reason, "reason"),
            "notes": lambda: inputs.text(notes, "notes", 5000, multiline=True),
            "due_date": lambda: _due(due_date),
        }
    )
    wanted, why, notes, due = typed["document_wanted"], typed["reason"], typed["notes"], typed["due_date"]
    emergency = cases.require_person_visible(db, actor, person_id, Action.RESTORATION_OPENED)
    clerk = _clerk(db, assigned_clerk_id or actor.user_id or "", "assigned_clerk_id")
    if db.get(Person, person_id) is None:
        raise NotFound(str(_("No such person.")))
    running = db.scalar(
        sa.select(RestorationRequest.id)
        .where(
            RestorationRequest.person_id == person_id,
            RestorationRequest.document_wanted == wanted,
            RestorationRequest.status.not_in(FINISHED),
        )
        .limit(1)
    )
    if running:
        message = str(_("A request for this document of this person is already running."))
        raise Conflict(message, fields={"document_wanted": message})
    request = RestorationRequest(
        person_id=person_id,
        document_wanted=wanted,
        reason=why,
        status=R.OPENED,
        assigned_clerk_id=clerk.id,
        due_date=due,
        notes=notes,
        opened_by_id=actor.user_id,
    )
    _history(request, actor, "", R.OPENED, note=notes)
    db.add(request)
    db.flush()
    _log(
        db,
        actor,
        Action.RESTORATION_OPENED,
        request,
        emergency,
        document_wanted=wanted,
        reason=why,
        assigned_to=clerk.username,
    )
    return request


def _document_of(db: Session, actor: Actor, request: RestorationRequest, document_id: str, field_name: str) -> Document:
    document = documents.get_document(
        db, actor, inputs.text(document_id, field_name, 36, required=True), log=False
    )  # not_found (and logged) when the actor may not see it
    if not set(document.person_ids) & set(request.person_ids):
        raise validation(**{field_name: str(_("This document does not concern the person of the request."))})
    return document


def attach_evidence(db: Session, actor: Actor, request_id: str, *, document_id: str) -> RestorationRequest:
    request, reason = _load(db, actor, request_id, Action.RESTORATION_CHANGED, lock=True)
    if request.status not in (R.OPENED, R.EVIDENCE_COLLECTED, R.SUBMITTED):
        raise Conflict(str(_("A request that is %(status)s takes no more evidence.", status=request.status)))
    document = _document_of(db, actor, request, document_id, "document_id")
    if any(e.document_id == document.id for e in request.evidence):
        return request
    request.evidence.append(
        RestorationEvidence(document_id=document.id, attached_by_id=actor.user_id, attached_at=utcnow())
    )
    db.flush()
    _log(db, actor, Action.RESTORATION_CHANGED, request, reason, evidence=document.id, kind=document.kind)
    return request


def change_status(
    db: Session, actor: Actor, request_id: str, *, status: str, note: str = "", issued_document_id: str = ""
) -> RestorationRequest:
    target = inputs.choice(RestorationStatus, status, "status")
    note = inputs.text(note, "note", 2000, multiline=True)
    request, reason = _load(db, actor, request_id, Action.RESTORATION_CHANGED, lock=True)
    if target not in allowed_steps(request):
        message = str(_("A request that is %(status)s cannot become %(target)s.", status=request.status, target=target))
        raise Conflict(message, fields={"status": message})
    document_id = None
    if target == R.EVIDENCE_COLLECTED and not request.evidence:
        raise validation(status=str(_("Attach at least one piece of evidence first.")))
    if target == R.REJECTED and not note:
        raise validation(note=str(_("Say why the request is rejected.")))
    if target == R.ISSUED:
        document = _document_of(db, actor, request, issued_document_id, "issued_document_id")
        if document.kind != request.document_wanted or request.person_id not in document.person_ids:
            raise validation(
                issued_document_id=str(_("Choose the issued %(kind)s of this person.", kind=request.document_wanted))
            )
        request.issued_document_id = document_id = document.id
    before = request.status
    request.status = target
    _history(request, actor, before, target, document_id, note)
    db.flush()
    _log(
        db,
        actor,
        Action.RESTORATION_CHANGED,
        request,
        reason,
        **{"from": before, "to": target},
        document_id=document_id or "",
    )
    return request


def record_mother_choices(db: Session, actor: Actor, request_id: str, data: dict[str, Any]) -> RestorationRequest:
    """The mother's choices for her child's birth record, kept only with her recorded consent."""
    request, reason = _load(db, actor, request_id, Action.RESTORATION_CHANGED, lock=True)
    if request.document_wanted != WantedDocument.BIRTH_RECORD:
        raise validation(form=str(_("A mother's choices belong to a birth record request.")))
    if request.status not in EDITABLE:
        raise Conflict(str(_("The request is submitted; the choices can no longer change.")))
    if not inputs.flag(data.get("mother_consent")):
        raise validation(mother_consent=str(_("Record the choices only when the mother has consented.")))
    mother_id = inputs.text(data.get("mother_id"), "mother_id", 36, required=True)
    if mother_id == request.person_id:
        raise validation(mother_id=str(_("The mother is another person than the child.")))
    mother_reason = cases.require_person_visible(db, actor, mother_id, Action.RESTORATION_CHANGED)
    mother = db.get(Person, mother_id)
    if mother is None:
        raise NotFound(str(_("No such person.")))
    if mother.sex == Sex.MALE:
        raise validation(mother_id=str(_("The person chosen as the mother is recorded as male.")))
    get = data.get
    chosen = inputs.gather(
        {
            "chosen_family_name": lambda: inputs.text(get("chosen_family_name"), "chosen_family_name", 200),
            "chosen_given_name": lambda: inputs.text(get("chosen_given_name"), "chosen_given_name", 200, required=True),
            "chosen_patronymic": lambda: inputs.text(get("chosen_patronymic"), "chosen_patronymic", 200),
            "chosen_place_of_birth": lambda: inputs.text(
                get("chosen_place_of_birth"), "chosen_place_of_birth", 300, required=True
            ),
        }
    )
    actual = inputs.text(data.get("actual_place_of_birth"), "actual_place_of_birth", 300)
    for key, value in chosen.items():
        setattr(request, key, value)
    if actual and sees_actual_place(actor):
        request.actual_place_of_birth = actual
    request.mother_id = mother.id
    request.consent_recorded_at = utcnow()
    request.consent_recorded_by_id = actor.user_id
    db.flush()
    _log(
        db,
        actor,
        Action.RESTORATION_CHANGED,
        request,
        "; ".join(r for r in (reason, mother_reason) if r),
        mother_choices="recorded with consent",
    )
    return request


def reassign(
    db: Session, actor: Actor, request_id: str, *, assigned_clerk_id: str, due_date: Any
) -> RestorationRequest:
    request, reason = _load(db, actor, request_id, Action.RESTORATION_CHANGED, lock=True)
    if request.status in FINISHED:
        raise Conflict(str(_("The request is finished.")))
    clerk = _clerk(db, assigned_clerk_id, "assigned_clerk_id")
    due = inputs.day(due_date, "due_date", not_after_today=False) or request.due_date
    request.assigned_clerk_id, request.due_date = clerk.id, due
    db.flush()
    _log(db, actor, Action.RESTORATION_CHANGED, request, reason, assigned_to=clerk.username, due_date=due.isoformat())
    return request


# ---------------------------------------------------------------- reading


def get_request(db: Session, actor: Actor, request_id: str) -> RestorationRequest:
    request, reason = _load(db, actor, request_id, Action.RESTORATION_VIEWED)
    _log(db, actor, Action.RESTORATION_VIEWED, request, reason)
    return request


def _visible(query: sa.Select, actor: Actor) -> sa.Select:
    visible = cases.visible_person_ids(actor)
    if visible is None:
        return query
    return query.where(
        RestorationRequest.person_id.in_(visible),
        sa.or_(RestorationRequest.mother_id.is_(None), RestorationRequest.mother_id.in_(visible)),
    )


def requests_of_person(db: Session, actor: Actor, person_id: str) -> list[RestorationRequest]:
    """The requests for this person or naming her as the mother, those whose persons the actor may all see."""
    query = sa.select(RestorationRequest).where(
        sa.or_(RestorationRequest.person_id == person_id, RestorationRequest.mother_id == person_id)
    )
    return list(db.scalars(_visible(query, actor).order_by(RestorationRequest.opened_at, RestorationRequest.id)))


VIEWS = ("all", "mine", "overdue", "waiting_for_evidence")


def _view_filter(query: sa.Select, actor: Actor, view: str) -> sa.Select:
    running = RestorationRequest.status.not_in(FINISHED)
    if view == "mine":
        return query.where(RestorationRequest.assigned_clerk_id == actor.user_id, running)
    if view == "overdue":
        return query.where(RestorationRequest.due_date < date.today(), running)
    if view == "waiting_for_evidence":
        return query.where(RestorationRequest.status == R.OPENED)
    return query


# The request list: views, stages and the document wanted as filters; due date, opening, stage as orders.
RESTORATION_LIST = listing.ListSpec(
    sorts=("due", "opened", "status", "wanted"),
    default_sort="due",
    filters={"view": VIEWS, "status": tuple(RestorationStatus), "wanted": tuple(WantedDocument)},
)
_ORDERS = {
    "due": [RestorationRequest.due_date],
    "opened": [RestorationRequest.opened_at],
    "status": [RestorationRequest.status],
    "wanted": [RestorationRequest.document_wanted],
}


def list_requests(
    db: Session, actor: Actor, wanted: listing.ListQuery, *, person_id: str = ""
) -> listing.ListPage[RestorationRequest]:
    """One page of the requests the actor may see, narrowed and ordered as asked (see ``RESTORATION_LIST``)."""
    view = wanted.get("view") or "all"
    query = _view_filter(_visible(sa.select(RestorationRequest), actor), actor, view)
    if wanted.get("status"):
        query = query.where(RestorationRequest.status == wanted.get("status"))
    if wanted.get("wanted"):
        query = query.where(RestorationRequest.document_wanted == wanted.get("wanted"))
    if person_id:
        cases.require_person_visible(db, actor, person_id, Action.RESTORATION_VIEWED)
        query = query.where(RestorationRequest.person_id == person_id)
    found = listing.page_of(db, listing.ordered(query, wanted, _ORDERS, RestorationRequest.id), wanted)
    record(
        db,
        actor,
        Action.RESTORATION_VIEWED,
        target_type="restoration_list",
        person_ids={p for r in found.items for p in r.person_ids},
        details={
            "view": view,
            "results": len(found.items),
            "page": found.page,
            **({"filters": sorted(wanted.filters)} if wanted.filters else {}),
        },
    )
    return found


@dataclass
class WorkList:
    mine: list[RestorationRequest] = field(default_factory=list)
    overdue: list[RestorationRequest] = field(default_factory=list)
    waiting_for_evidence: list[RestorationRequest] = field(default_factory=list)


def work_list(db: Session, actor: Actor, limit: int = 200) -> WorkList:
    """A clerk's day: my open requests, the overdue ones, those still waiting for evidence."""
    base = (
        _visible(sa.select(RestorationRequest), actor)
        .order_by(RestorationRequest.due_date, RestorationRequest.id)
        .limit(limit)
    )
    work = WorkList(
        *(list(db.scalars(_view_filter(base, actor, view))) for view in ("mine", "overdue", "waiting_for_evidence"))
    )
    shown = work.mine + work.overdue + work.waiting_for_evidence
    record(
        db,
        actor,
        Action.RESTORATION_VIEWED,
        target_type="restoration_list",
        person_ids={p for r in shown for p in r.person_ids},
        details={
            "view": "work_list",
            "mine": len(work.mine),
            "overdue": len(work.overdue),
            "waiting_for_evidence": len(work.waiting_for_evidence),
        },
    )
    return work


def evidence_documents(
    db: Session, actor: Actor, request: RestorationRequest
) -> list[tuple[RestorationEvidence, Document]]:
    """The attached documents, as the actor may see them (genomic results only with genomic access)."""
    ids = [e.document_id for e in request.evidence]
    found = {d.id: d for d in db.scalars(sa.select(Document).where(Document.id.in_(ids)))}
    return [
        (e, found[e.document_id])
        for e in request.evidence
        if found[e.document_id].kind != documents.GENOMIC or actor.can(Permission.GENOMIC_READ)
    ]


def is_overdue(request: RestorationRequest) -> bool:
    return request.status not in FINISHED and request.due_date < date.today()


def hidden_evidence(db: Session, actor: Actor, requests: list[RestorationRequest]) -> frozenset[str]:
    """Evidence this actor may not know of: genomic results, for roles without genomic access."""
    if actor.can(Permission.GENOMIC_READ):
        return frozenset()
    ids = {e.document_id for r in requests for e in r.evidence}
    return frozenset(db.scalars(sa.select(Document.id).where(Document.id.in_(ids), Document.kind == documents.GENOMIC)))


def request_json(
    request: RestorationRequest,
    actor: Actor,
    persons: dict[str, Person],
    users: dict[str, User],
    hidden: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    person = persons.get(request.person_id)
    clerk = users.get(request.assigned_clerk_id)
    data: dict[str, Any] = {
        "id": request.id,
        "person_id": request.person_id,
        "person_registry_number": person.registry_number if person else "",
        "document_wanted": request.document_wanted,
        "reason": request.reason,
        "status": request.status,
        "assigned_clerk": clerk.username if clerk else "",
        "due_date": request.due_date.isoformat(),
        "overdue": is_overdue(request),
        "notes": request.notes,
        "issued_document_id": request.issued_document_id,
        "opened_at": request.opened_at.isoformat(),
        "next_steps": sorted(allowed_steps(request)),
        "evidence": [
            {"document_id": e.document_id, "attached_at": e.attached_at.isoformat()}
            for e in request.evidence
            if e.document_id not in hidden
        ],
        "history": [
            {
                "at": e.at.isoformat(),
                "actor": e.actor_name,
                "from": e.from_status,
                "to": e.to_status,
                "document_id": None if e.document_id in hidden else e.document_id,
                "note": e.note,
            }
            for e in request.events
        ],
        "mother_choices": None,
    }
    if request.has_mother_choices:
        data["mother_choices"] = {
            "mother_id": request.mother_id,
            "chosen_family_name": request.chosen_family_name,
            "chosen_given_name": request.chosen_given_name,
            "chosen_patronymic": request.chosen_patronymic,
            "chosen_place_of_birth": request.chosen_place_of_birth,
            "consent_recorded_at": request.consent_recorded_at.isoformat() if request.consent_recorded_at else None,
        }
        if sees_actual_place(actor):
            data["mother_choices"]["actual_place_of_birth"] = request.actual_place_of_birth
    return data


def context_for(db: Session, requests: list[RestorationRequest]) -> tuple[dict[str, Person], dict[str, User]]:
    """The persons and clerks a list of requests names, loaded in two queries."""
    person_ids = {p for r in requests for p in r.person_ids}
    user_ids = {r.assigned_clerk_id for r in requests}
    persons = {p.id: p for p in db.scalars(sa.select(Person).where(Person.id.in_(person_ids)))}
    users = {u.id: u for u in db.scalars(sa.select(User).where(User.id.in_(user_ids)))}
    return persons, users
