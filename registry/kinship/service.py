"""Kinship claims and the evidence that moves them, inside the need-to-know boundary.

The rules live here, not in forms: a claim becomes genetically supported only on
genomic results that tested both persons and that the evidence policy finds strong
enough (``evidence.assess``: the method fits the relationship, enough loci, a
likelihood ratio at the policy's threshold); a result that excludes under the policy
moves it to excluded; it becomes court-established only on a recorded
court ruling that names both persons, establishes this very relationship and has
entered into force (appeal status final). Evidence decides as soon as it can: on
attaching, and again whenever its findings or its appeal status are recorded.
Every step is a history row and an access-log event in the same transaction,
and every call first checks that the actor may see both persons.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from registry.accounts.actor import Actor
from registry.accounts.permissions import Permission
from registry.audit.events import Action
from registry.audit.service import record
from registry.cases import service as cases
from registry.db import utcnow
from registry.documents import service as documents
from registry.documents.models import Document, PersonRole
from registry.errors import AuditNote, Conflict, Forbidden, NotFound, Refused, validation
from registry.i18n import _
from registry.kinship import evidence, inputs, labels
from registry.kinship.models import (
    AppealStatus,
    Conclusion,
    CostCoveredBy,
    CourtRuling,
    CourtRulingRelationship,
    GenomicMethod,
    GenomicResult,
    Relationship,
    RelationshipEvent,
    RelationshipEvidence,
    RelationshipKind,
    RelationshipStatus,
)
from registry.kinship.policy import current_policy
from registry.persons.models import DatePrecision, Person, Sex

GENOMIC = documents.GENOMIC
COURT_RULING = "court_ruling"
S = RelationshipStatus
K = RelationshipKind

CLOSED = frozenset({S.EXCLUDED, S.WITHDRAWN})
_BIOLOGICAL_STEPS: dict[str, frozenset[str]] = {
    S.CLAIMED: frozenset({S.TESTING, S.GENETICALLY_SUPPORTED, S.EXCLUDED, S.WITHDRAWN}),
    S.TESTING: frozenset({S.GENETICALLY_SUPPORTED, S.EXCLUDED, S.WITHDRAWN}),
    S.GENETICALLY_SUPPORTED: frozenset({S.COURT_ESTABLISHED, S.WITHDRAWN}),
}
# Guardianship is legal, not biological: a court establishes it without a genomic step.
_GUARDIAN_STEPS: dict[str, frozenset[str]] = {S.CLAIMED: frozenset({S.COURT_ESTABLISHED, S.WITHDRAWN})}
PARENTS = frozenset({K.BIOLOGICAL_MOTHER, K.BIOLOGICAL_FATHER})
# Kinds where the relative is an ancestor of the person: a chain of them must never loop.
ANCESTRAL = PARENTS | {K.GRANDPARENT}
# How many years older than the person the relative plausibly is: (fewest, most); None is unbounded.
_AGE_GAP: dict[str, tuple[int | None, int | None]] = {
    K.BIOLOGICAL_MOTHER: (12, 60),
    K.BIOLOGICAL_FATHER: (12, 80),
    K.GRANDPARENT: (24, 120),
    K.SIBLING: (-45, 45),
    K.HALF_SIBLING: (-70, 70),
    K.AUNT_UNCLE: (-25, 90),
}
MAX_FAMILY_PERSONS = 40


def allowed_steps(relationship: Relationship) -> frozenset[str]:
    steps = _GUARDIAN_STEPS if relationship.kind == K.GUARDIAN else _BIOLOGICAL_STEPS
    return steps.get(relationship.status, frozenset())


def awaited_evidence(relationship: Relationship) -> str | None:
    """The kind of document the claim waits for: a laboratory's result, then a ruling (nothing once decided)."""
    if relationship.kind == K.GUARDIAN:
        return COURT_RULING if relationship.status == S.CLAIMED else None
    waiting = {S.CLAIMED: GENOMIC, S.TESTING: GENOMIC, S.GENETICALLY_SUPPORTED: COURT_RULING}
    return waiting.get(S(relationship.status))


def next_steps(relationship: Relationship) -> list[str]:
    """The allowed steps in the order a claim travels (forward first, excluded and withdrawn last)."""
    allowed = allowed_steps(relationship)
    return [s.value for s in RelationshipStatus if s in allowed]


# ---------------------------------------------------------------- visibility


def _require_both_visible(
    db: Session, actor: Actor, person_ids: Iterable[str], action: str, target_id: str = ""
) -> str:
    """Both persons or nothing; the emergency reasons (if any) go into the log event."""
    reasons = []
    for person_id in person_ids:
        try:
            reasons.append(cases.require_person_visible(db, actor, person_id, action))
        except NotFound as exc:
            if not target_id:
                raise
            raise NotFound(str(_("No such relationship.")), audit=exc.audit) from None
    return "; ".join(r for r in reasons if r)


def _load(
    db: Session, actor: Actor, relationship_id: str, action: str, *, lock: bool = False
) -> tuple[Relationship, str]:
    query = sa.select(Relationship).where(Relationship.id == relationship_id)
    relationship = db.scalar(query.with_for_update() if lock else query)
    if relationship is None:
        raise NotFound(
            str(_("No such relationship.")),
            audit=AuditNote(action, target_type="relationship", target_id=relationship_id),
        )
    reason = _require_both_visible(db, actor, relationship.person_ids, action, relationship.id)
    return relationship, reason


def _visible_pair(query: sa.Select, actor: Actor) -> sa.Select:
    visible = cases.visible_person_ids(actor)
    if visible is None:
        return query
    return query.where(Relationship.person_id.in_(visible), Relationship.relative_id.in_(visible))


def visible_persons(db: Session, actor: Actor, person_ids: Iterable[str]) -> list[str]:
    """Those of ``person_ids`` the actor may see, in their order: the others are left out, never named."""
    return [p for p in person_ids if cases.can_see_person(db, actor, p)]


def visible_relationship_ids(db: Session, actor: Actor, relationship_ids: Iterable[str]) -> set[str]:
    """Those of the relationships whose two persons the actor may both see (as ``get_relationship`` asks)."""
    ids = set(relationship_ids)
    if not ids:
        return set()
    return set(db.scalars(_visible_pair(sa.select(Relationship.id).where(Relationship.id.in_(ids)), actor)))


# ---------------------------------------------------------------- plausibility


def _age_gap_years(person: Person, relative: Person) -> float | None:
    if person.birth_date is None or relative.birth_date is None:
        return None
    return (person.birth_date - relative.birth_date).days / 365.25


def _exact(person: Person) -> bool:
    return person.birth_date is not None and person.birth_date_precision == DatePrecision.EXACT


def birth_date_problem(kind: str, person: Person, relative: Person) -> str | None:
    """Why the recorded birth dates make this relation implausible, or None."""
    if kind == K.GUARDIAN:
        if relative.birth_date is None:
            return None
        age = (date.today() - relative.birth_date).days / 365.25
        return None if age >= 18 else str(_("By the recorded birth date the guardian is not yet 18."))
    gap = _age_gap_years(person, relative)
    fewest, most = _AGE_GAP[kind]
    if gap is None or ((fewest is None or gap >= fewest) and (most is None or gap <= most)):
        return None
    return str(
        _(
            "By the recorded birth dates the relative is %(gap)d years older than the person; for this "
            "relation expect %(fewest)d to %(most)d years. Check both birth dates.",
            gap=round(gap),
            fewest=fewest,
            most=most,
        )
    )


def _ancestors(db: Session, actor: Actor, person_id: str, *, skip: str) -> set[str]:
    """Everyone claimed (and not excluded or withdrawn) as a parent or grandparent, transitively,
    through the claims whose two persons the actor may see."""
    seen: set[str] = set()
    frontier = {person_id}
    while frontier and len(seen) < 500:
        rows = db.scalars(
            _visible_pair(
                sa.select(Relationship.relative_id).where(
                    Relationship.person_id.in_(frontier),
                    Relationship.kind.in_(ANCESTRAL),
                    Relationship.status.not_in(CLOSED),
                    Relationship.id != skip,
                ),
                actor,
            )
        )
        frontier = set(rows) - seen
        seen |= frontier
    return seen


def _warning_cycle(db: Session, actor: Actor, relationship: Relationship) -> str | None:
    if relationship.kind not in ANCESTRAL:
        return None
    if relationship.person_id in _ancestors(db, actor, relationship.relative_id, skip=relationship.id):
        return str(_("This claim makes a person their own ancestor: check the direction of the relationships."))
    return None


def _rival_parents(relationship: Relationship, statuses: Iterable[str]) -> sa.Select:
    """Other claims of the same parent role for the same person, wherever they are (filter before showing)."""
    return sa.select(Relationship).where(
        Relationship.person_id == relationship.person_id,
        Relationship.kind == relationship.kind,
        Relationship.id != relationship.id,
        Relationship.status.in_(list(statuses)),
    )


def _ruling_of(db: Session, relationship: Relationship) -> CourtRuling | None:
    event = next(
        (e for e in reversed(relationship.events) if e.to_status == S.COURT_ESTABLISHED and e.document_id), None
    )
    return db.get(CourtRuling, event.document_id) if event else None


def consistency_warnings(db: Session, actor: Actor, relationship: Relationship) -> list[str]:
    """Problems the reader should look at; they do not stop the work (the hard rules are in the steps).

    Only claims whose two persons the actor may see are consulted: a warning about another
    claim would otherwise tell a lawyer that someone outside their cases claims the person
    and what a test or a court said.
    """
    if relationship.status in CLOSED:
        return []
    warnings: list[str] = []
    cycle = _warning_cycle(db, actor, relationship)
    if cycle:
        warnings.append(cycle)
    if relationship.kind in PARENTS:
        rival = db.scalar(
            _visible_pair(_rival_parents(relationship, (S.GENETICALLY_SUPPORTED, S.COURT_ESTABLISHED)), actor).limit(1)
        )
        if rival is not None:
            warnings.append(
                str(_("Another claim of the same kind for this person is already %(status)s.", status=rival.status))
            )
    person, relative = db.get(Person, relationship.person_id), db.get(Person, relationship.relative_id)
    problem = birth_date_problem(relationship.kind, person, relative) if person and relative else None
    if problem:
        warnings.append(problem)
    ruling = _ruling_of(db, relationship) if relationship.status == S.COURT_ESTABLISHED else None
    if ruling is not None and ruling.appeal_status in (AppealStatus.APPEALED, AppealStatus.OVERTURNED):
        warnings.append(
            str(_("The ruling that established this relationship is %(appeal)s.", appeal=ruling.appeal_status))
        )
    return warnings


# ---------------------------------------------------------------- claims


def _history(
    relationship: Relationship, actor: Actor, before: str, after: str, document_id: str | None, note: str
) -> None:
    relationship.events.append(
        RelationshipEvent(
            actor_id=actor.user_id,
            actor_name=actor.username,
            from_status=before,
            to_status=after,
            document_id=document_id,
            note=note,
            at=utcnow(),
        )
    )


def claim_relationship(
    db: Session, actor: Actor, *, person_id: str, relative_id: str, kind: str, note: str = ""
) -> Relationship:
    kind = inputs.choice(RelationshipKind, kind, "kind")
    person_id = inputs.text(person_id, "person_id", 36, required=True)
    relative_id = inputs.text(relative_id, "relative_id", 36, required=True)
    note = inputs.text(note, "note", 2000, multiline=True)
    if person_id == relative_id:
        raise validation(relative_id=str(_("A person cannot be their own relative.")))
    reason = _require_both_visible(db, actor, (person_id, relative_id), Action.RELATIONSHIP_CLAIMED)
    person, relative = db.get(Person, person_id), db.get(Person, relative_id)
    if person is None or relative is None:
        raise NotFound(str(_("No such person.")))
    pairs = [(person_id, relative_id)] + ([(relative_id, person_id)] if kind in (K.SIBLING, K.HALF_SIBLING) else [])
    live = db.scalar(
        sa.select(Relationship.id)
        .where(
            Relationship.kind == kind,
            Relationship.status.not_in(CLOSED),
            sa.tuple_(Relationship.person_id, Relationship.relative_id).in_(pairs),
        )
        .limit(1)
    )
    if live:
        raise Conflict(
            str(_("This relationship is already claimed and open.")),
            fields={"relative_id": str(_("This relationship is already claimed and open."))},
        )
    problem = birth_date_problem(kind, person, relative)
    if problem and _exact(person) and _exact(relative):
        raise validation(relative_id=problem)
    relationship = Relationship(
        kind=kind,
        person_id=person_id,
        relative_id=relative_id,
        note=note,
        status=S.CLAIMED,
        claimed_by_id=actor.user_id,
    )
    _history(relationship, actor, "", S.CLAIMED, None, note)
    db.add(relationship)
    db.flush()
    record(
        db,
        actor,
        Action.RELATIONSHIP_CLAIMED,
        target_type="relationship",
        target_id=relationship.id,
        person_ids=relationship.person_ids,
        reason=reason,
        details={"kind": kind},
    )
    return relationship


def _names_both(document: Document, relationship: Relationship) -> bool:
    return set(relationship.person_ids) <= set(document.person_ids)


def _evidence_document(db: Session, actor: Actor, relationship: Relationship, document_id: str) -> Document:
    document = documents.get_document(
        db, actor, inputs.text(document_id, "document_id", 36, required=True), log=False
    )  # not_found (and logged) when the actor may not see it
    if not set(document.person_ids) & set(relationship.person_ids):
        raise validation(document_id=str(_("This document concerns neither person of the claim.")))
    if document.kind in (GENOMIC, COURT_RULING) and not _names_both(document, relationship):
        raise validation(
            document_id=str(_("This document must name both persons of the claim; link it to the other person first."))
        )
    result = db.get(GenomicResult, document.id) if document.kind == GENOMIC else None
    if result is not None:
        _require_possible(db, result.method, relationship, "document_id")
    return document


def _require_possible(db: Session, method: str, relationship: Relationship, field: str) -> None:
    """A method that cannot bear on this relationship at all (Y-STR and a mother) is refused, not weighed."""
    person, relative = db.get(Person, relationship.person_id), db.get(Person, relationship.relative_id)
    problem = evidence.impossibility(
        method, relationship.kind, person.sex if person else Sex.UNKNOWN, relative.sex if relative else Sex.UNKNOWN
    )
    if problem:
        raise Refused("biologically_impossible", 422, problem, fields={field: problem})


def tested_persons(db: Session, result: GenomicResult) -> list[str]:
    """Whom the result typed; results recorded before this was asked tested the persons their document names."""
    if result.tested is not None:
        return result.tested
    document = db.get(Document, result.document_id)
    return document.person_ids if document else []


def assess_claim(db: Session, relationship: Relationship, also: Document | None = None) -> evidence.Assessment:
    """What the claim's recorded genomic results (and ``also``, about to be attached) show together."""
    ids = [e.document_id for e in relationship.evidence]
    if also is not None and also.id not in ids:
        ids.append(also.id)
    found = {r.document_id: r for r in db.scalars(sa.select(GenomicResult).where(GenomicResult.document_id.in_(ids)))}
    results = [found[i] for i in ids if i in found]  # in the order they were attached
    return evidence.assess(
        relationship.kind, relationship.person_ids, [(r, tested_persons(db, r)) for r in results], current_policy()
    )


def _require_genomic(db: Session, relationship: Relationship, document: Document | None, wanted: str) -> None:
    if document is None or document.kind != GENOMIC:
        raise validation(document_id=str(_("Choose the genomic test result that shows this.")))
    if not _names_both(document, relationship):
        raise validation(document_id=str(_("The genomic test result must name both persons of the claim.")))
    result = db.get(GenomicResult, document.id)
    if result is None:
        raise validation(document_id=str(_("Record the laboratory's result for this document first.")))
    assessment = assess_claim(db, relationship, document)
    if assessment.implied != wanted:
        reading = assessment.reading(document.id)
        shown = assessment.outcome or (reading.finding if reading else evidence.Finding.NOT_APPLICABLE)
        why = " ".join(str(w) for w in (reading.reasons if reading else []) + assessment.reasons)
        raise validation(
            document_id=str(
                _(
                    "The laboratory concluded %(conclusion)s; under the evidence policy the results: %(shown)s. "
                    "The claim does not become %(wanted)s. %(why)s",
                    conclusion=labels.CONCLUSION_LABELS[result.conclusion],
                    shown=labels.FINDING_LABELS[shown],
                    wanted=labels.STATUS_LABELS[wanted],
                    why=why,
                )
            ).strip()
        )


def _require_one_established_parent(db: Session, actor: Actor, relationship: Relationship) -> None:
    """A person has one court-established parent of each kind, registry-wide.

    When the established one lies outside the actor's cases, the refusal names nothing of it:
    a clerk, who sees the whole registry, can look; the log keeps which claim stood in the way.
    """
    if relationship.kind not in PARENTS:
        return
    rival = db.scalar(_rival_parents(relationship, (S.COURT_ESTABLISHED,)).limit(1))
    if rival is None:
        return
    audit = AuditNote(
        Action.RELATIONSHIP_CHANGED,
        target_type="relationship",
        target_id=relationship.id,
        person_ids=tuple(relationship.person_ids),
        details={"reason": "another parent of this kind is court-established", "established": rival.id},
    )
    if visible_relationship_ids(db, actor, [rival.id]):
        raise Conflict(
            str(_("A court has already established another person in this role for this person.")),
            fields={"document_id": str(_("Another person is already established in this role."))},
            audit=audit,
        )
    message = str(_("A registry rule prevents this step. Ask a registry clerk to look at this claim."))
    raise Conflict(message, fields={"document_id": message}, audit=audit)


def _require_ruling(db: Session, actor: Actor, relationship: Relationship, document: Document | None) -> None:
    if document is None or document.kind != COURT_RULING:
        raise validation(document_id=str(_("Choose the court ruling that establishes this relationship.")))
    if not _names_both(document, relationship):
        raise validation(document_id=str(_("The court ruling must name both persons of the claim.")))
    ruling = db.get(CourtRuling, document.id)
    if ruling is None:
        raise validation(document_id=str(_("Record the court, case number, date and decision of the ruling first.")))
    if relationship.id not in ruling.relationship_ids:
        raise validation(document_id=str(_("The recorded ruling does not establish this relationship.")))
    if ruling.appeal_status == AppealStatus.OVERTURNED:
        raise validation(document_id=str(_("This ruling was overturned on appeal.")))
    if ruling.appeal_status != AppealStatus.FINAL:
        raise validation(
            document_id=str(
                _(
                    "This ruling has not entered into force yet. Record its appeal status "
                    "as final once it has; the claim then moves by itself."
                )
            )
        )
    _require_one_established_parent(db, actor, relationship)


def _step(
    db: Session,
    actor: Actor,
    relationship: Relationship,
    target: str,
    document: Document | None,
    note: str,
    reason: str,
) -> None:
    if target not in allowed_steps(relationship):
        message = str(
            _(
                "A %(kind)s claim that is %(status)s cannot become %(target)s.",
                kind=relationship.kind,
                status=relationship.status,
                target=target,
            )
        )
        raise Conflict(message, fields={"status": message})
    if target == S.GENETICALLY_SUPPORTED:
        _require_genomic(db, relationship, document, S.GENETICALLY_SUPPORTED)
    elif target == S.EXCLUDED:
        _require_genomic(db, relationship, document, S.EXCLUDED)
    elif target == S.COURT_ESTABLISHED:
        _require_ruling(db, actor, relationship, document)
    elif target == S.WITHDRAWN and not note:
        raise validation(note=str(_("Say why the claim is withdrawn.")))
    if document is not None:
        _attach(relationship, actor, document, note)
    before = relationship.status
    relationship.status = target
    _history(relationship, actor, before, target, document.id if document else None, note)
    db.flush()
    record(
        db,
        actor,
        Action.RELATIONSHIP_CHANGED,
        target_type="relationship",
        target_id=relationship.id,
        person_ids=relationship.person_ids,
        reason=reason,
        details={"from": before, "to": target, "document_id": document.id if document else ""},
    )


def _attach(relationship: Relationship, actor: Actor, document: Document, note: str) -> bool:
    if any(e.document_id == document.id for e in relationship.evidence):
        return False
    relationship.evidence.append(
        RelationshipEvidence(document_id=document.id, attached_by_id=actor.user_id, note=note, attached_at=utcnow())
    )
    return True


def change_status(
    db: Session, actor: Actor, relationship_id: str, *, status: str, document_id: str = "", note: str = ""
) -> Relationship:
    target = inputs.choice(RelationshipStatus, status, "status")
    note = inputs.text(note, "note", 2000, multiline=True)
    relationship, reason = _load(db, actor, relationship_id, Action.RELATIONSHIP_CHANGED, lock=True)
    document = _evidence_document(db, actor, relationship, document_id) if document_id else None
    _step(db, actor, relationship, target, document, note, reason)
    return relationship


def _implied_status(db: Session, relationship: Relationship, document: Document) -> str | None:
    """What a piece of evidence says about the claim: a result's conclusion, a ruling's decision."""
    if document.kind == GENOMIC:
        if db.get(GenomicResult, document.id) is None:
            return None
        assessment = assess_claim(db, relationship, document)
        reading = assessment.reading(document.id)
        return assessment.implied if reading and reading.finding != evidence.Finding.NOT_APPLICABLE else None
    if document.kind == COURT_RULING:
        ruling = db.get(CourtRuling, document.id)
        return S.COURT_ESTABLISHED if _in_force_for(ruling, relationship) else None
    return None


def _in_force_for(ruling: CourtRuling | None, relationship: Relationship) -> bool:
    return (
        ruling is not None and relationship.id in ruling.relationship_ids and ruling.appeal_status == AppealStatus.FINAL
    )


def _attach_logged(
    db: Session, actor: Actor, relationship: Relationship, document: Document, note: str, reason: str
) -> None:
    if _attach(relationship, actor, document, note):
        db.flush()
        record(
            db,
            actor,
            Action.EVIDENCE_ATTACHED,
            target_type="relationship",
            target_id=relationship.id,
            person_ids=relationship.person_ids,
            reason=reason,
            details={"document_id": document.id, "kind": document.kind},
        )


def _settle(db: Session, actor: Actor, relationship: Relationship, document: Document, note: str, reason: str) -> None:
    """What the evidence says moves the claim, where the claim's steps allow it."""
    implied = _implied_status(db, relationship, document)
    if implied and implied in allowed_steps(relationship):
        _step(db, actor, relationship, implied, document, note, reason)


def attach_evidence(
    db: Session, actor: Actor, relationship_id: str, *, document_id: str, note: str = ""
) -> Relationship:
    """Attach a document; a result or ruling that decides the claim moves it in the same step."""
    note = inputs.text(note, "note", 2000, multiline=True)
    relationship, reason = _load(db, actor, relationship_id, Action.EVIDENCE_ATTACHED, lock=True)
    document = _evidence_document(db, actor, relationship, document_id)
    _attach_logged(db, actor, relationship, document, note, reason)
    _settle(db, actor, relationship, document, note, reason)
    return relationship


def _attached_claims(db: Session, actor: Actor, document: Document) -> list[str]:
    """The claims the document is evidence of, as far as the actor may see both persons of each."""
    ids = db.scalars(
        sa.select(RelationshipEvidence.relationship_id).where(RelationshipEvidence.document_id == document.id)
    )
    return sorted(visible_relationship_ids(db, actor, ids))


def _reevaluate(db: Session, actor: Actor, document: Document) -> None:
    """Newly recorded findings or appeal status decide the claims the document is attached to, as attaching
    it would have. A claim whose persons the actor may not both see waits for someone who may."""
    for relationship_id in _attached_claims(db, actor, document):
        relationship, reason = _load(db, actor, relationship_id, Action.RELATIONSHIP_CHANGED, lock=True)
        _settle(db, actor, relationship, document, "", reason)


def evidence_claims(db: Session, actor: Actor, document_id: str) -> list[Relationship]:
    """The claims a document is attached to that the actor may see (the page after recording names their status;
    the claim's own page logs its read)."""
    document = documents.get_document(db, actor, document_id, log=False)
    ids = _attached_claims(db, actor, document)
    return list(db.scalars(sa.select(Relationship).where(Relationship.id.in_(ids)).order_by(Relationship.created_at)))


def awaiting_rulings(
    db: Session, relationship: Relationship, evidence: list[tuple[RelationshipEvidence, Document]]
) -> list[tuple[Document, CourtRuling]]:
    """Attached rulings that establish this claim but have not entered into force (open to or under appeal)."""
    if relationship.status in CLOSED | {S.COURT_ESTABLISHED}:
        return []
    found = []
    for _evidence, document in evidence:
        ruling = db.get(CourtRuling, document.id) if document.kind == COURT_RULING else None
        if (
            ruling is not None
            and relationship.id in ruling.relationship_ids
            and ruling.appeal_status in (AppealStatus.OPEN, AppealStatus.APPEALED)
        ):
            found.append((document, ruling))
    return found


# ---------------------------------------------------------------- uploading evidence from a claim


@dataclass
class EvidenceUpload:
    """An upload made from a claim: the document names both persons and is attached to the claim."""

    relationship: Relationship
    person: Person  # the person the upload is made for (the URL's person)
    other: Person  # the claim's other person, linked too


def suggested_roles(relationship: Relationship) -> dict[str, str]:
    """The roles a claim's two persons usually have in its evidence, to fill the upload form."""
    if relationship.kind in PARENTS:
        roles = (PersonRole.CHILD, PersonRole.ALLEGED_PARENT)
    elif relationship.kind == K.GUARDIAN:
        roles = (PersonRole.CHILD, PersonRole.APPLICANT)
    else:
        roles = (PersonRole.SUBJECT, PersonRole.SUBJECT)
    return {relationship.person_id: roles[0].value, relationship.relative_id: roles[1].value}


def evidence_upload(db: Session, actor: Actor, relationship_id: str, person_id: str) -> EvidenceUpload:
    """The claim an upload form is reached from (a read: the form names both persons)."""
    relationship = get_relationship(
        db, actor, inputs.text(relationship_id, "relationship_id", 36, required=True), Action.EVIDENCE_ATTACHED
    )
    if person_id not in relationship.person_ids:
        raise NotFound(
            str(_("No such relationship.")),
            audit=AuditNote(
                Action.EVIDENCE_ATTACHED, target_type="relationship", target_id=relationship.id, person_ids=(person_id,)
            ),
        )
    other_id = next(p for p in relationship.person_ids if p != person_id)
    return EvidenceUpload(relationship, db.get_one(Person, person_id), db.get_one(Person, other_id))


def other_role(value: str) -> str:
    """The other person's role in an upload from a claim, checked before the file is taken in."""
    return inputs.choice(PersonRole, value, "other_role")


def attach_upload(db: Session, actor: Actor, target: EvidenceUpload, document: Document, role: str) -> Relationship:
    """Link the fresh upload to the claim's other person and attach it to the claim, in the upload's step."""
    documents.link_person(db, actor, document, target.other.id, other_role(role))
    return attach_evidence(db, actor, target.relationship.id, document_id=document.id)


def findings_recorded(db: Session, document: Document) -> bool:
    """Has someone typed the laboratory's findings or the ruling's details from this document?"""
    model = {GENOMIC: GenomicResult, COURT_RULING: CourtRuling}.get(document.kind)
    return model is not None and db.get(model, document.id) is not None


# ---------------------------------------------------------------- reading


def get_relationship(
    db: Session, actor: Actor, relationship_id: str, attempted: str = Action.RELATIONSHIP_VIEWED
) -> Relationship:
    """``attempted`` names a refusal in the log (a bundle export is refused as an export, not a view)."""
    relationship, reason = _load(db, actor, relationship_id, attempted)
    record(
        db,
        actor,
        Action.RELATIONSHIP_VIEWED,
        target_type="relationship",
        target_id=relationship.id,
        person_ids=relationship.person_ids,
        reason=reason,
    )
    return relationship


def _touching(db: Session, actor: Actor, person_ids: set[str]) -> list[Relationship]:
    query = sa.select(Relationship).where(
        sa.or_(Relationship.person_id.in_(person_ids), Relationship.relative_id.in_(person_ids))
    )
    return list(db.scalars(_visible_pair(query, actor).order_by(Relationship.created_at)))


def relationships_of_person(db: Session, actor: Actor, person_id: str) -> list[Relationship]:
    reason = cases.require_person_visible(db, actor, person_id, Action.RELATIONSHIP_VIEWED)
    found = _touching(db, actor, {person_id})
    record(
        db,
        actor,
        Action.RELATIONSHIP_VIEWED,
        target_type="person",
        target_id=person_id,
        reason=reason,
        person_ids={person_id, *(p for r in found for p in r.person_ids)},
        details={"relationships": len(found)},
    )
    return found


@dataclass
class Family:
    """A person's relatives up to a few steps away, as the actor may see them."""

    centre: Person
    persons: dict[str, Person]
    relationships: list[Relationship]


def family(db: Session, actor: Actor, person_id: str, *, depth: int = 2) -> Family:
    reason = cases.require_person_visible(db, actor, person_id, Action.RELATIONSHIP_VIEWED)
    centre = db.get(Person, person_id)
    if centre is None:
        raise NotFound(str(_("No such person.")))
    reached, frontier = {person_id}, {person_id}
    found: dict[str, Relationship] = {}
    for _hop in range(depth):
        touched: set[str] = set()
        for relationship in _touching(db, actor, frontier):
            found[relationship.id] = relationship
            touched.update(relationship.person_ids)
        room = max(0, MAX_FAMILY_PERSONS - len(reached))
        frontier = set(sorted(touched - reached)[:room])
        reached |= frontier
    kept = [r for r in found.values() if set(r.person_ids) <= reached]
    persons = {p.id: p for p in db.scalars(sa.select(Person).where(Person.id.in_(reached)))}
    record(
        db,
        actor,
        Action.RELATIONSHIP_VIEWED,
        target_type="person",
        target_id=person_id,
        reason=reason,
        person_ids=reached,
        details={"view": "family", "relationships": len(kept)},
    )
    return Family(centre, persons, kept)


@dataclass
class KinshipLists:
    orphans: list[Person] = field(default_factory=list)
    waiting_for_test: list[Relationship] = field(default_factory=list)
    waiting_for_ruling: list[Relationship] = field(default_factory=list)
    persons: dict[str, Person] = field(default_factory=dict)


def kinship_lists(db: Session, actor: Actor, limit: int = 200) -> KinshipLists:
    """Orphans with no established relative, claims waiting for a test, supported claims waiting for a ruling.

    An orphan counts as such unless an established relationship the actor may see says otherwise:
    dropping them for one outside the actor's cases would tell of it.
    """
    established = _visible_pair(
        sa.select(Relationship.id).where(
            Relationship.status == S.COURT_ESTABLISHED,
            sa.or_(Relationship.person_id == Person.id, Relationship.relative_id == Person.id),
        ),
        actor,
    )
    orphans_query = sa.select(Person).where(Person.categories.contains("orphan"), ~established.exists())
    visible = cases.visible_person_ids(actor)
    if visible is not None:
        orphans_query = orphans_query.where(Person.id.in_(visible))
    lists = KinshipLists(orphans=list(db.scalars(orphans_query.order_by(Person.registry_number).limit(limit))))
    waiting = _visible_pair(sa.select(Relationship), actor).order_by(Relationship.updated_at)
    lists.waiting_for_test = list(
        db.scalars(
            waiting.where(Relationship.status.in_([S.CLAIMED, S.TESTING]), Relationship.kind != K.GUARDIAN).limit(limit)
        )
    )
    lists.waiting_for_ruling = list(
        db.scalars(
            waiting.where(
                sa.or_(
                    Relationship.status == S.GENETICALLY_SUPPORTED,
                    sa.and_(Relationship.kind == K.GUARDIAN, Relationship.status == S.CLAIMED),
                )
            ).limit(limit)
        )
    )
    ids = {p.id for p in lists.orphans} | {
        p for r in lists.waiting_for_test + lists.waiting_for_ruling for p in r.person_ids
    }
    lists.persons = {p.id: p for p in db.scalars(sa.select(Person).where(Person.id.in_(ids)))}
    record(
        db,
        actor,
        Action.RELATIONSHIP_VIEWED,
        target_type="kinship_lists",
        person_ids=ids,
        details={
            "orphans": len(lists.orphans),
            "waiting_for_test": len(lists.waiting_for_test),
            "waiting_for_ruling": len(lists.waiting_for_ruling),
        },
    )
    return lists


def persons_by_id(db: Session, ids: Iterable[str]) -> dict[str, Person]:
    return {p.id: p for p in db.scalars(sa.select(Person).where(Person.id.in_(set(ids))))}


def visible_evidence(
    db: Session, actor: Actor, relationship: Relationship
) -> list[tuple[RelationshipEvidence, Document]]:
    """Attached documents the actor may see: genomic results stay hidden from roles without genomic access."""
    ids = [e.document_id for e in relationship.evidence]
    docs = {d.id: d for d in db.scalars(sa.select(Document).where(Document.id.in_(ids)))}
    return [
        (e, docs[e.document_id])
        for e in relationship.evidence
        if docs[e.document_id].kind != GENOMIC or actor.can(Permission.GENOMIC_READ)
    ]


def candidate_documents(db: Session, actor: Actor, relationship: Relationship) -> list[Document]:
    """Documents of either person not yet attached to the claim (those naming both listed first)."""
    attached = {e.document_id for e in relationship.evidence}
    seen: dict[str, Document] = {}
    for person_id in relationship.person_ids:
        person = db.get(Person, person_id)
        for document, _role in documents.documents_of_person(db, actor, person) if person else ():
            if document.id not in attached:
                seen.setdefault(document.id, document)
    return sorted(seen.values(), key=lambda d: (not _names_both(d, relationship), d.kind, d.title))


# ---------------------------------------------------------------- genomic results and court rulings


def _structured_document(db: Session, actor: Actor, document_id: str, kind: str, *, log: bool) -> Document:
    document = documents.get_document(db, actor, document_id, log=log)
    if document.kind != kind:
        raise validation(document_id=str(_("This document is not a %(kind)s.", kind=kind)))
    return document


def _free(value: Any, field: str, limit: int, *, required: bool = False, multiline: bool = False) -> str:
    """A free-text field of a genomic result: text, and never a genotype."""
    return inputs.no_genotype(inputs.text(value, field, limit, required=required, multiline=multiline), field)


def _seals(value: Any) -> str:
    seals = [
        inputs.no_genotype(s, "seal_numbers") for s in inputs.text_list(value, "seal_numbers", limit=20, item_limit=64)
    ]
    if not seals:
        raise validation(seal_numbers=str(_("Give the seal number of each sample (chain of custody).")))
    return json.dumps(seals, ensure_ascii=False)


def _cost_minor(value: Any) -> int | None:
    cost = inputs.decimal(value, "cost", low=Decimal(0), high=Decimal(10) ** 12)
    return int(cost * 100) if cost is not None else None


def _tested(document: Document, value: Any) -> list[str] | None:
    """Two persons (a duo) or three (a trio: child, mother, alleged father), all named by the document; none
    given: the persons the document names, read whenever the result is weighed (they may be linked later)."""
    ids = list(dict.fromkeys(inputs.text_list(value, "tested_person_ids", limit=3, item_limit=36)))
    if not ids:
        return None
    if len(ids) < 2:
        raise validation(
            tested_person_ids=str(
                _("Choose the two persons (a duo) or three persons (a trio) whose samples were tested.")
            )
        )
    if not set(ids) <= set(document.person_ids):
        raise validation(
            tested_person_ids=str(_("Every tested person must be named by the document; link them to it first."))
        )
    return ids


def _identity_checks(value: Any) -> list[dict[str, str]]:
    """Each donor's identity document checked at collection: its type and number."""
    if value in (None, ""):
        return []
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value) or len(value) > 3:
        raise validation(
            identity_checks=str(
                _("Give at most three identity checks, each with a person, a document type and a number.")
            )
        )
    return [
        {
            "person_id": inputs.text(item.get("person_id"), "identity_checks", 36, required=True),
            "document_type": _free(item.get("document_type"), "identity_checks", 64, required=True),
            "document_number": _free(item.get("document_number"), "identity_checks", 64, required=True),
        }
        for item in value
    ]


def _clean_genomic(document: Document, data: dict[str, Any]) -> dict[str, Any]:
    get = data.get
    fields = inputs.gather(
        {
            "laboratory": lambda: _free(get("laboratory"), "laboratory", 200, required=True),
            "accreditation": lambda: _free(get("accreditation"), "accreditation", 200),
            "accredited_iso17025": lambda: inputs.flag(get("accredited_iso17025")),
            "accredited_until": lambda: inputs.day(get("accredited_until"), "accredited_until", not_after_today=False),
            "reported_on": lambda: inputs.day(get("reported_on"), "reported_on"),
            "method": lambda: inputs.choice(GenomicMethod, get("method"), "method"),
            "loci_tested": lambda: inputs.whole_number(
                get("loci_tested"), "loci_tested", low=1, high=10_000, required=True
            ),
            "inconsistent_loci": lambda: inputs.whole_number(
                get("inconsistent_loci"), "inconsistent_loci", low=0, high=10_000
            ),
            "combined_relationship_index": lambda: _float(
                inputs.decimal(
                    get("combined_relationship_index"),
                    "combined_relationship_index",
                    low=Decimal(0),
                    high=Decimal(10) ** 30,
                )
            ),
            "probability_of_relatedness": lambda: _float(
                inputs.decimal(
                    get("probability_of_relatedness"), "probability_of_relatedness", low=Decimal(0), high=Decimal(100)
                )
            ),
            "conclusion": lambda: inputs.choice(Conclusion, get("conclusion"), "conclusion"),
            "tested_person_ids": lambda: _tested(document, get("tested_person_ids")),
            "collected_by": lambda: _free(get("collected_by"), "collected_by", 200, required=True),
            "collected_on": lambda: inputs.day(get("collected_on"), "collected_on", required=True),
            "collected_where": lambda: _free(get("collected_where"), "collected_where", 300, required=True),
            "identity_checks": lambda: _identity_checks(get("identity_checks")),
            "identity_checked_by": lambda: _free(get("identity_checked_by"), "identity_checked_by", 200),
            "witness": lambda: _free(get("witness"), "witness", 200),
            "seal_numbers": lambda: _seals(get("seal_numbers")),
            "custody_notes": lambda: _free(get("custody_notes"), "custody_notes", 5000, multiline=True),
            "cost_minor": lambda: _cost_minor(get("cost")),
            "cost_currency": lambda: inputs.text(get("cost_currency") or "KZT", "cost_currency", 3).upper(),
            "cost_covered_by": lambda: inputs.choice(
                CostCoveredBy, get("cost_covered_by") or CostCoveredBy.STATE, "cost_covered_by"
            ),
        }
    )
    _check_findings(fields)
    tested = fields["tested_person_ids"]
    checked = [c["person_id"] for c in fields["identity_checks"]]
    if not set(checked) <= set(tested or document.person_ids) or len(set(checked)) < len(checked):
        raise validation(identity_checks=str(_("Give one identity check for each tested person, no more.")))
    fields["tested_person_ids"] = json.dumps(tested) if tested else None
    fields["identity_checks"] = json.dumps(fields["identity_checks"], ensure_ascii=False)
    return fields


def _check_findings(fields: dict[str, Any]) -> None:
    """Numbers that contradict each other are a typing error, refused before anything is weighed."""
    if fields["inconsistent_loci"] is not None and fields["inconsistent_loci"] > fields["loci_tested"]:
        raise validation(inconsistent_loci=str(_("More inconsistent loci than loci tested.")))
    if fields["reported_on"] is not None and fields["reported_on"] < fields["collected_on"]:
        raise validation(reported_on=str(_("The report cannot come before the samples were collected.")))
    if fields["accredited_iso17025"] and fields["accredited_until"] is None:
        raise validation(accredited_until=str(_("Give the day the laboratory's accreditation expires.")))


def _float(value: Decimal | None) -> float | None:
    return float(value) if value is not None else None


def _require_genomic_access(actor: Actor) -> None:
    if not actor.can(Permission.GENOMIC_READ):
        raise Forbidden(str(_("Your role does not handle genomic results.")))


def record_genomic_result(db: Session, actor: Actor, document_id: str, data: dict[str, Any]) -> GenomicResult:
    """The laboratory's findings, typed once; a corrected result arrives as a new document."""
    _require_genomic_access(actor)
    document = _structured_document(db, actor, document_id, GENOMIC, log=False)
    if db.get(GenomicResult, document.id) is not None:
        raise Conflict(
            str(_("The result of this document is recorded already; a corrected result is uploaded as a new document."))
        )
    result = GenomicResult(document_id=document.id, recorded_by_id=actor.user_id, **_clean_genomic(document, data))
    _require_fits(db, result, document)
    db.add(result)
    db.flush()
    record(
        db,
        actor,
        Action.EVIDENCE_ATTACHED,
        target_type="document",
        target_id=document.id,
        person_ids=document.person_ids,
        details={"recorded": "genomic_result"},
    )
    _reevaluate(db, actor, document)
    return result


def _require_fits(db: Session, result: GenomicResult, document: Document) -> None:
    """Refused at recording: Y-STR with a female donor, or a method that cannot bear on a claim the document is
    already evidence of (Y-STR and a mother, mtDNA and a father)."""
    claims = db.scalars(
        sa.select(Relationship)
        .join(RelationshipEvidence, RelationshipEvidence.relationship_id == Relationship.id)
        .where(RelationshipEvidence.document_id == document.id)
    )
    for relationship in claims:
        _require_possible(db, result.method, relationship, "method")
    if result.method == GenomicMethod.Y_STR:
        sexes = db.scalars(sa.select(Person.sex).where(Person.id.in_(result.tested or document.person_ids)))
        if Sex.FEMALE in set(sexes):
            message = str(
                _(
                    "A Y-STR test compares males of one paternal line; a tested person is female. Record "
                    "an autosomal test."
                )
            )
            raise Refused("biologically_impossible", 422, message, fields={"method": message})


def genomic_result(db: Session, actor: Actor, document_id: str) -> tuple[Document, GenomicResult | None]:
    _require_genomic_access(actor)
    document = _structured_document(db, actor, document_id, GENOMIC, log=True)
    return document, db.get(GenomicResult, document.id)


def _established(db: Session, actor: Actor, document: Document, value: Any) -> list[str]:
    ids = inputs.text_list(value, "relationship_ids", limit=50, item_limit=36)
    for relationship_id in ids:
        relationship, _reason = _load(db, actor, relationship_id, Action.EVIDENCE_ATTACHED)
        if not _names_both(document, relationship):
            raise validation(
                relationship_ids=str(
                    _("The ruling must name both persons of each relationship it establishes; link it to them first.")
                )
            )
    return sorted(set(ids))


def _clean_ruling(db: Session, actor: Actor, document: Document, data: dict[str, Any]) -> dict[str, Any]:
    get = data.get
    return inputs.gather(
        {
            "court": lambda: inputs.text(get("court"), "court", 200, required=True),
            "case_number": lambda: inputs.text(get("case_number"), "case_number", 100, required=True),
            "ruling_date": lambda: inputs.day(get("ruling_date"), "ruling_date", required=True),
            "decision": lambda: inputs.text(get("decision"), "decision", 10_000, required=True, multiline=True),
            "appeal_status": lambda: inputs.choice(
                AppealStatus, get("appeal_status") or AppealStatus.OPEN, "appeal_status"
            ),
            "relationship_ids": lambda: _established(db, actor, document, get("relationship_ids")),
        }
    )


def _unseen_established(db: Session, actor: Actor, ruling: CourtRuling | None) -> set[str]:
    """What a ruling establishes that the actor may not see: never offered to them, so never dropped by them."""
    ids = set(ruling.relationship_ids) if ruling is not None else set()
    return ids - visible_relationship_ids(db, actor, ids)


def moved_a_claim(db: Session, document: Document) -> bool:
    """Has the ruling moved a claim? Then what it says is history, and only its appeal status changes."""
    return (
        db.scalar(sa.select(RelationshipEvent.id).where(RelationshipEvent.document_id == document.id).limit(1))
        is not None
    )


def record_court_ruling(db: Session, actor: Actor, document_id: str, data: dict[str, Any]) -> CourtRuling:
    """Record or correct a ruling; once it has established a relationship only its appeal status changes.

    The claims it is attached to as evidence and establishes move once it is final.
    """
    document = _structured_document(db, actor, document_id, COURT_RULING, log=False)
    ruling = db.get(CourtRuling, document.id)
    if ruling is not None and moved_a_claim(db, document):
        ruling.appeal_status = inputs.choice(AppealStatus, data.get("appeal_status"), "appeal_status")
        return _ruling_recorded(db, actor, document, ruling)
    fields = _clean_ruling(db, actor, document, data)
    ids = sorted(set(fields.pop("relationship_ids")) | _unseen_established(db, actor, ruling))
    if ruling is None:
        ruling = CourtRuling(document_id=document.id, recorded_by_id=actor.user_id)
        db.add(ruling)
    for key, value in fields.items():
        setattr(ruling, key, value)
    ruling.established = [CourtRulingRelationship(relationship_id=r) for r in ids]
    return _ruling_recorded(db, actor, document, ruling)


def change_appeal_status(db: Session, actor: Actor, document_id: str, appeal_status: str) -> CourtRuling:
    """The ruling enters into force (final), is appealed or overturned; whatever else it says stays."""
    document = _structured_document(db, actor, document_id, COURT_RULING, log=False)
    ruling = db.get(CourtRuling, document.id)
    if ruling is None:
        raise validation(appeal_status=str(_("Record the court, case number, date and decision of the ruling first.")))
    ruling.appeal_status = inputs.choice(AppealStatus, appeal_status, "appeal_status")
    return _ruling_recorded(db, actor, document, ruling)


def _ruling_recorded(db: Session, actor: Actor, document: Document, ruling: CourtRuling) -> CourtRuling:
    """Logged, then every claim the ruling is evidence of is re-evaluated (a final ruling moves them)."""
    db.flush()
    record(
        db,
        actor,
        Action.EVIDENCE_ATTACHED,
        target_type="document",
        target_id=document.id,
        person_ids=document.person_ids,
        details={
            "recorded": "court_ruling",
            "appeal_status": ruling.appeal_status,
            "relationships": ruling.relationship_ids,
        },
    )
    _reevaluate(db, actor, document)
    return ruling


def court_ruling(db: Session, actor: Actor, document_id: str) -> tuple[Document, CourtRuling | None]:
    """Shown, like any document, to whoever may see one of its persons (not found otherwise)."""
    document = _structured_document(db, actor, document_id, COURT_RULING, log=True)
    return document, db.get(CourtRuling, document.id)


def ruling_candidates(db: Session, actor: Actor, document: Document) -> list[Relationship]:
    """The relationships between persons the ruling names, as far as the actor may see both persons of each."""
    named = set(document.person_ids)
    found = {
        r.id: r
        for person_id in visible_persons(db, actor, document.person_ids)
        for r in relationships_of_person(db, actor, person_id)
        if set(r.person_ids) <= named
    }
    return list(found.values())


# ---------------------------------------------------------------- JSON


def person_label(person: Person | None) -> dict[str, Any]:
    if person is None:
        return {}
    name = person.official_name
    return {
        "id": person.id,
        "registry_number": person.registry_number,
        "name": name.full if name else "",
        "birth_date": person.birth_date.isoformat() if person.birth_date else None,
        "birth_date_precision": person.birth_date_precision,
    }


def relationship_json(
    db: Session, actor: Actor, relationship: Relationship, *, persons: dict[str, Person] | None = None
) -> dict[str, Any]:
    persons = persons if persons is not None else persons_by_id(db, relationship.person_ids)
    evidence = visible_evidence(db, actor, relationship)
    shown = {d.id for _e, d in evidence}
    return {
        "id": relationship.id,
        "kind": relationship.kind,
        "status": relationship.status,
        "person": person_label(persons.get(relationship.person_id)),
        "relative": person_label(persons.get(relationship.relative_id)),
        "note": relationship.note,
        "created_at": relationship.created_at.isoformat(),
        "updated_at": relationship.updated_at.isoformat(),
        "next_steps": next_steps(relationship),
        "warnings": consistency_warnings(db, actor, relationship),
        "evidence": [
            {
                "document_id": d.id,
                "kind": d.kind,
                "title": d.title,
                "attached_at": e.attached_at.isoformat(),
                "note": e.note,
            }
            for e, d in evidence
        ],
        "rulings_awaiting_entry_into_force": [d.id for d, _r in awaiting_rulings(db, relationship, evidence)],
        "genomic_assessment": assessment_json(assess_claim(db, relationship))
        if actor.can(Permission.GENOMIC_READ)
        else None,
        "history": [
            {
                "at": e.at.isoformat(),
                "actor": e.actor_name,
                "from": e.from_status,
                "to": e.to_status,
                "document_id": e.document_id if e.document_id in shown else None,
                "note": e.note,
            }
            for e in relationship.events
        ],
    }


def strength_json(likelihood_ratio: float | None) -> dict[str, Any]:
    """The likelihood ratio and its ENFSI verbal equivalent, in the reader's language."""
    strength = evidence.verbal_scale(likelihood_ratio)
    return {
        "likelihood_ratio": likelihood_ratio,
        "scale": evidence.ENFSI_SOURCE,
        "band": strength.band if strength else None,
        "favours": (None if strength is None else "claim" if strength.favours_claim else "not_related"),
        "words": str(labels.strength_words(strength)),
    }


def genomic_json(result: GenomicResult, shown: Iterable[str] | None = None) -> dict[str, Any]:
    """``shown``: the persons the reader may see; the tested persons and identity checks name no others."""
    seen = None if shown is None else set(shown)
    tested = result.tested if result.tested is None or seen is None else [p for p in result.tested if p in seen]
    checks = [c for c in result.identity_list if seen is None or c["person_id"] in seen]
    return {
        "document_id": result.document_id,
        "laboratory": result.laboratory,
        "accreditation": result.accreditation,
        "accredited_iso17025": result.accredited_iso17025,
        "accredited_until": result.accredited_until.isoformat() if result.accredited_until else None,
        "reported_on": result.reported_on.isoformat() if result.reported_on else None,
        "accredited_on_report": result.accredited_on_report(),
        "method": result.method,
        "loci_tested": result.loci_tested,
        "inconsistent_loci": result.inconsistent_loci,
        "combined_relationship_index": result.combined_relationship_index,
        "probability_of_relatedness": result.probability_of_relatedness,
        "conclusion": result.conclusion,
        "strength": strength_json(result.combined_relationship_index),
        "tested_person_ids": tested,
        "sample_collection": {
            "collected_by": result.collected_by,
            "collected_on": result.collected_on.isoformat(),
            "collected_where": result.collected_where,
            "identity_checks": checks,
            "identity_checked_by": result.identity_checked_by,
            "witness": result.witness,
            "seal_numbers": result.seal_list,
            "custody_notes": result.custody_notes,
        },
        "cost": f"{Decimal(result.cost_minor) / 100:.2f}" if result.cost_minor is not None else None,
        "cost_currency": result.cost_currency,
        "cost_covered_by": result.cost_covered_by,
        "recorded_at": result.recorded_at.isoformat(),
    }


def assessment_json(assessment: evidence.Assessment) -> dict[str, Any]:
    """What the claim's results show together under the policy, why they do not decide, what would settle it."""
    return {
        "outcome": assessment.outcome or None,
        "implied_status": assessment.implied,
        "combined_likelihood_ratio": assessment.combined_likelihood_ratio,
        "results": [
            {
                "document_id": r.result.document_id,
                "finding": r.finding,
                "strength": strength_json(r.result.combined_relationship_index),
                "reasons": [str(w) for w in r.reasons],
            }
            for r in assessment.readings
        ],
        "reasons": [str(w) for w in assessment.reasons],
        "advice": [str(w) for w in assessment.advice],
    }


def ruling_json(db: Session, actor: Actor, ruling: CourtRuling) -> dict[str, Any]:
    """Relationships the actor may not see are left out of what the ruling establishes, never hinted at."""
    shown = visible_relationship_ids(db, actor, ruling.relationship_ids)
    return {
        "document_id": ruling.document_id,
        "court": ruling.court,
        "case_number": ruling.case_number,
        "ruling_date": ruling.ruling_date.isoformat(),
        "decision": ruling.decision,
        "appeal_status": ruling.appeal_status,
        "relationship_ids": [r for r in ruling.relationship_ids if r in shown],
        "recorded_at": ruling.recorded_at.isoformat(),
    }
