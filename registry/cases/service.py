"""Cases and the need-to-know rule: who may see which person.

Clerks see every person of the registry; lawyers and caseworkers see a person
only through a case they belong to, or through a running emergency access.
A person outside that boundary is reported as not found, never as forbidden,
so an id guessed from outside tells nothing about whether it exists.

Two requests must still tell: break glass and adding a person to a case name a
person the caller may not see, and answer whether that person exists. Each refusal
is logged, and past a few an hour every such request of that user is refused, so
ids cannot be tested in bulk; auditors see who tried (``audit.anomalies.probing``).
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from registry.accounts.actor import Actor
from registry.accounts.models import User
from registry.accounts.permissions import REGISTRY_WIDE_ROLES, Permission, Role
from registry.audit.anomalies import refused_person_requests
from registry.audit.events import Action
from registry.audit.service import AuditSubject, record
from registry.cases.models import Case, CaseMember, CasePerson, EmergencyAccess
from registry.db import utcnow
from registry.errors import AuditNote, Conflict, Forbidden, NotFound, TooManyAttempts, ValidationFailed, validation
from registry.i18n import _
from registry.persons.models import Person
from registry.web import listing

PROBE_LIMIT = 10  # refused requests naming a person (break glass, add to a case) a user may make...
PROBE_WINDOW = timedelta(hours=1)  # ...in this long; then each one is refused and counts again


def sees_whole_registry(actor: Actor) -> bool:
    return bool(actor.roles & REGISTRY_WIDE_ROLES)


def visible_person_ids(actor: Actor) -> sa.Select | None:
    """A sub-select of the person ids this actor may see; None means every person."""
    if sees_whole_registry(actor):
        return None
    if actor.user is None or not actor.can(Permission.PERSON_READ):
        return sa.select(CasePerson.person_id).where(sa.false())
    through_cases = (
        sa.select(CasePerson.person_id)
        .join(CaseMember, CaseMember.case_id == CasePerson.case_id)
        .join(Case, Case.id == CasePerson.case_id)
        .where(CaseMember.user_id == actor.user_id, Case.is_open.is_(True))
    )
    through_emergency = sa.select(EmergencyAccess.person_id).where(
        EmergencyAccess.user_id == actor.user_id, EmergencyAccess.expires_at > utcnow()
    )
    return through_cases.union(through_emergency)


def can_see_person(db: Session, actor: Actor, person_id: str) -> bool:
    visible = visible_person_ids(actor)
    if visible is None:
        return actor.can(Permission.PERSON_READ)
    return db.scalar(sa.select(sa.literal(1)).where(sa.literal(person_id).in_(visible))) is not None


def active_emergency(db: Session, actor: Actor, person_id: str) -> EmergencyAccess | None:
    return db.scalar(
        sa.select(EmergencyAccess)
        .where(
            EmergencyAccess.user_id == actor.user_id,
            EmergencyAccess.person_id == person_id,
            EmergencyAccess.expires_at > utcnow(),
        )
        .order_by(EmergencyAccess.expires_at.desc())
        .limit(1)
    )


def require_person_visible(db: Session, actor: Actor, person_id: str, action: str) -> str:
    """Returns the emergency reason when access is by emergency, '' otherwise; raises NotFound outside."""
    if not can_see_person(db, actor, person_id):
        raise NotFound(
            str(_("No such person.")),
            audit=AuditNote(
                action,
                target_type="person",
                target_id=person_id,
                person_ids=(person_id,),
                details={"reason": "outside the actor's cases"},
            ),
        )
    if sees_whole_registry(actor):
        return ""
    grant = active_emergency(db, actor, person_id)
    in_case = db.scalar(
        sa.select(CasePerson.person_id)
        .join(CaseMember, CaseMember.case_id == CasePerson.case_id)
        .where(CasePerson.person_id == person_id, CaseMember.user_id == actor.user_id)
        .limit(1)
    )
    return grant.reason if grant is not None and in_case is None else ""


def _limit_probing(db: Session, actor: AuditSubject, action: str, target_id: str) -> None:
    """Refuse (and log) a request naming a person once the user's refused ones reach ``PROBE_LIMIT``."""
    if actor.user_id is None:  # the command line and start-up work guess nothing
        return
    if refused_person_requests(db, actor.user_id, since=utcnow() - PROBE_WINDOW) < PROBE_LIMIT:
        return
    raise TooManyAttempts(
        str(_("Too many requests named persons that do not exist. Try again in an hour, or ask a registry clerk.")),
        audit=AuditNote(
            action,
            target_type="person",
            target_id=target_id,
            details={"reason": "too many refused requests naming a person"},
        ),
    )


def _no_such_person(action: str, target_id: str) -> AuditNote:
    """The refusal is logged under the request's own action: the rate limit and the auditors count it."""
    return AuditNote(action, target_type="person", target_id=target_id, details={"reason": "no such person"})


def open_emergency_access(db: Session, actor: Actor, person_id: str, reason: str, minutes: int) -> EmergencyAccess:
    """Break glass: the reason is required (``schemas.EmergencyAccessOpen``), the grant expires, and auditors see it
    listed."""
    if not actor.can(Permission.EMERGENCY_ACCESS):
        raise Forbidden(str(_("Your role cannot open emergency access.")))
    _limit_probing(db, actor, Action.EMERGENCY_ACCESS, person_id)
    if db.get(Person, person_id) is None:
        raise NotFound(str(_("No such person.")), audit=_no_such_person(Action.EMERGENCY_ACCESS, person_id))
    grant = EmergencyAccess(
        user_id=actor.user_id,
        person_id=person_id,
        reason=reason,
        expires_at=utcnow() + timedelta(minutes=minutes),
    )
    db.add(grant)
    db.flush()
    record(
        db,
        actor,
        Action.EMERGENCY_ACCESS,
        target_type="person",
        target_id=person_id,
        person_ids=[person_id],
        reason=reason,
        details={"minutes": minutes},
    )
    return grant


def list_emergency_access(db: Session, limit: int = 200) -> list[tuple[EmergencyAccess, User]]:
    rows = db.execute(
        sa.select(EmergencyAccess, User)
        .join(User, User.id == EmergencyAccess.user_id)
        .order_by(EmergencyAccess.granted_at.desc())
        .limit(limit)
    )
    return [(g, u) for g, u in rows]


# ---------------------------------------------------------------- cases


def create_case(db: Session, actor: Actor, *, reference: str, title: str, court_case_number: str = "") -> Case:
    """A new case (its fields as ``schemas.CaseCreate`` checked them); its reference is the only one of that name."""
    if db.scalar(sa.select(Case.id).where(Case.reference == reference)):
        raise Conflict(str(_("A case with this reference exists.")), fields={"reference": "taken"})
    case = Case(reference=reference, title=title, court_case_number=court_case_number)
    db.add(case)
    db.flush()
    record(db, actor, Action.CASE_CREATED, target_type="case", target_id=case.id, details={"reference": reference})
    return case


def _cases_of(actor: Actor) -> sa.Select:
    """The cases this actor may see: all for administrators and clerks, their own for the others."""
    query = sa.select(Case)
    if not (actor.can(Permission.CASE_MANAGE) or sees_whole_registry(actor)):
        query = query.join(CaseMember, CaseMember.case_id == Case.id).where(CaseMember.user_id == actor.user_id)
    return query


def cases_for(db: Session, actor: Actor) -> list[Case]:
    return list(db.scalars(_cases_of(actor).order_by(Case.created_at.desc())))


def cases_of_person(db: Session, actor: Actor, person_id: str) -> list[tuple[Case, CasePerson]]:
    """The cases one person is in that this actor may see (a lawyer's own, every case for a clerk), oldest first."""
    query = _cases_of(actor).add_columns(CasePerson).join(CasePerson, CasePerson.case_id == Case.id)
    return [
        (case, link)
        for case, link in db.execute(query.where(CasePerson.person_id == person_id).order_by(Case.created_at, Case.id))
    ]


CASE_LIST = listing.ListSpec(
    sorts=("reference", "title", "opened"), default_sort="-opened", filters={"status": ("open", "closed")}
)
_CASE_ORDERS = {"reference": [Case.reference], "title": [Case.title], "opened": [Case.created_at]}


def list_cases(db: Session, actor: Actor, wanted: listing.ListQuery) -> listing.ListPage[Case]:
    """One page of the actor's cases, open or closed as asked, in the order asked (see ``CASE_LIST``)."""
    query = _cases_of(actor)
    if wanted.get("status"):
        query = query.where(Case.is_open.is_(wanted.get("status") == "open"))
    return listing.page_of(db, listing.ordered(query, wanted, _CASE_ORDERS, Case.id), wanted)


def get_case(db: Session, actor: Actor, case_id: str) -> Case:
    case = db.get(Case, case_id)
    if case is None or case not in cases_for(db, actor):
        raise NotFound(
            str(_("No such case.")),
            audit=AuditNote(
                Action.ACCESS_DENIED,
                target_type="case",
                target_id=case_id,
                details={"reason": "not a member of the case"},
            ),
        )
    return case


def add_member(db: Session, actor: Actor, case: Case, user: User) -> None:
    if not user.roles & {Role.LAWYER, Role.CASEWORKER, Role.CLERK}:
        raise validation(user=str(_("Only lawyers, caseworkers and clerks can be members of a case.")))
    if any(m.user_id == user.id for m in case.members):
        return
    case.members.append(CaseMember(user_id=user.id))
    db.flush()
    record(db, actor, Action.CASE_MEMBER_ADDED, target_type="case", target_id=case.id, details={"user": user.username})


def remove_member(db: Session, actor: Actor, case: Case, user: User) -> None:
    case.members = [m for m in case.members if m.user_id != user.id]
    db.flush()
    record(
        db, actor, Action.CASE_MEMBER_REMOVED, target_type="case", target_id=case.id, details={"user": user.username}
    )


def add_person(db: Session, actor: AuditSubject, case: Case, person_id: str) -> None:
    _limit_probing(db, actor, Action.CASE_PERSON_ADDED, person_id)
    if db.get(Person, person_id) is None:
        raise NotFound(str(_("No such person.")), audit=_no_such_person(Action.CASE_PERSON_ADDED, person_id))
    _put_person(db, actor, case, person_id)


def add_person_by_number(db: Session, actor: Actor, case: Case, registry_number: str) -> None:
    """The form's way in: a registry number as typed, held to the same limit as an id."""
    number = registry_number.strip().upper()[:64]
    _limit_probing(db, actor, Action.CASE_PERSON_ADDED, number)
    person_id = db.scalar(sa.select(Person.id).where(Person.registry_number == number))
    if person_id is None:
        message = str(_("No person has this registry number."))
        raise ValidationFailed(
            message, fields={"registry_number": message}, audit=_no_such_person(Action.CASE_PERSON_ADDED, number)
        )
    _put_person(db, actor, case, person_id)


def _put_person(db: Session, actor: AuditSubject, case: Case, person_id: str) -> None:
    if any(p.person_id == person_id for p in case.persons):
        return
    case.persons.append(CasePerson(person_id=person_id))
    db.flush()
    record(db, actor, Action.CASE_PERSON_ADDED, target_type="case", target_id=case.id, person_ids=[person_id])
