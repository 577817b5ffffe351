"""Possible same person, inside the need-to-know boundary: candidates, the review queue and decisions.

A reader is offered only candidates they may see (``cases.visible_person_ids`` is part of the blocking query),
so a lawyer never learns through a match of a person outside their cases. Every list that names persons is
one access-log event naming them; every decision is one event with its reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from registry.accounts.actor import Actor
from registry.accounts.service import refuse_own_proposal
from registry.audit.events import Action
from registry.audit.service import record
from registry.cases import service as cases
from registry.db import utcnow
from registry.errors import AuditNote, Conflict, NotFound, validation
from registry.i18n import _
from registry.matching import engine, merge
from registry.matching.compare import Reason, Scored
from registry.matching.models import MatchPair, PairStatus, PersonMerge
from registry.persons import service as persons
from registry.persons.models import Person
from registry.web import listing

SAME, NOT_SAME, APPROVE, REJECT = "same", "not_same", "approve", "reject"
DECISIONS = (SAME, NOT_SAME, APPROVE, REJECT)
_ACTIONS = {
    SAME: Action.PERSON_MERGE_PROPOSED,
    NOT_SAME: Action.PERSON_NOT_SAME,
    APPROVE: Action.PERSON_MERGED,
    REJECT: Action.PERSON_MERGE_REJECTED,
}
MIN_REASON = 10


@dataclass
class Candidate:
    person: Person
    scored: Scored
    proposal: MatchPair | None = None  # a merge of the two proposed by one clerk, waiting for a second

    @property
    def probability(self) -> float:
        return self.scored.probability

    @property
    def band(self) -> str:
        return engine.band(self.scored.probability)

    @property
    def reasons(self) -> list[Reason]:
        return self.scored.reasons


def _persons(db: Session, ids: list[str]) -> dict[str, Person]:
    return {p.id: p for p in db.scalars(sa.select(Person).where(Person.id.in_(ids)))} if ids else {}


def _candidates(db: Session, found: list[Scored]) -> list[Candidate]:
    people = _persons(db, [s.record.id for s in found])
    return [Candidate(people[s.record.id], s) for s in found if s.record.id in people]


def _log_shown(db: Session, actor: Actor, person_ids: list[str], context: str, **details: Any) -> None:
    record(
        db,
        actor,
        Action.PERSON_SEARCHED,
        target_type="person_search",
        person_ids=list(dict.fromkeys(person_ids)),
        details={"context": context, **details},
    )


def candidates_of_person(db: Session, actor: Actor, person_id: str, *, on_page: bool = False) -> list[Candidate]:
    """Records that may be the same person as this one, best first, among those the reader may see.

    The API logs the person asked about and the candidates; the person's page has logged the person already
    and logs the candidates only when there are some.
    """
    reason = cases.require_person_visible(db, actor, person_id, Action.PERSON_SEARCHED)
    if db.get(Person, person_id) is None:
        raise NotFound(str(_("No such person.")))
    found = _candidates(db, engine.find_for_person(db, person_id, visible=cases.visible_person_ids(actor)))
    shown = [c.person.id for c in found]
    proposals = db.scalars(
        sa.select(MatchPair).where(
            MatchPair.status == PairStatus.PROPOSED,
            sa.or_(MatchPair.person_a_id == person_id, MatchPair.person_b_id == person_id),
        )
    )
    waiting = {p.person_b_id if p.person_a_id == person_id else p.person_a_id: p for p in proposals}
    for candidate in found:
        candidate.proposal = waiting.get(candidate.person.id)
    if shown or not on_page:
        _log_shown(
            db,
            actor,
            shown if on_page else [person_id, *shown],
            "possible same person",
            candidates=len(shown),
            **({"emergency_reason": reason} if reason else {}),
        )
    return found


def clean_draft(data: Any) -> engine.Draft:
    """A person as typed before registering (the fields of ``POST /persons``, plus ``document_numbers``)."""
    if not isinstance(data, dict):
        raise validation(names=str(_("Give at least one name.")))
    names = persons.clean_names(data.get("names"))
    fields = persons.clean_person_fields(
        {
            k: v
            for k, v in data.items()
            if k in ("sex", "birth_date", "birth_date_precision", "place_of_birth_designation")
        }
    )
    numbers = data.get("document_numbers") or []
    if (
        not isinstance(numbers, list)
        or len(numbers) > 10
        or not all(isinstance(n, str) and len(n) <= 64 for n in numbers)
    ):
        raise validation(document_numbers=str(_("Give at most ten document numbers, each as text.")))
    return engine.draft(
        [(n.family_name, n.given_name, n.patronymic) for n in names],
        sex=fields.get("sex", "unknown"),
        birth_date=fields.get("birth_date"),
        birth_date_precision=fields.get("birth_date_precision", "unknown"),
        place=fields.get("place_of_birth_designation", ""),
        document_numbers=numbers,
    )


def candidates_of_draft(
    db: Session,
    actor: Actor,
    data: Any,
    *,
    draft: engine.Draft | None = None,
    threshold: float = engine.SHOWN,
    log_empty: bool = True,
) -> list[Candidate]:
    """Registered persons that may be the one being registered, among those the reader may see."""
    draft = draft or clean_draft(data)
    found = _candidates(
        db, engine.find(db, draft.record, draft.keys, visible=cases.visible_person_ids(actor), threshold=threshold)
    )
    if found or log_empty:
        _log_shown(
            db, actor, [c.person.id for c in found], "possible same person before registering", candidates=len(found)
        )
    return found


# ---------------------------------------------------------------- the review queue


@dataclass
class Review:
    pair: MatchPair
    first: Person
    second: Person
    scored: Scored

    @property
    def band(self) -> str:
        return engine.band(self.scored.probability)


def review_queue(db: Session, actor: Actor, page: int = 1, per_page: int = 25) -> listing.ListPage[Review]:
    """Pairs waiting for a decision: proposed merges (waiting for a second clerk) first, then the most probable;
    pairs with a merged-away record are not listed."""
    live = sa.select(Person.id).where(Person.merged_into_id.is_(None))
    query = sa.select(MatchPair).where(
        MatchPair.status.in_([PairStatus.PROPOSED, PairStatus.PENDING]),
        MatchPair.person_a_id.in_(live),
        MatchPair.person_b_id.in_(live),
    )
    visible = cases.visible_person_ids(actor)
    if visible is not None:
        query = query.where(MatchPair.person_a_id.in_(visible), MatchPair.person_b_id.in_(visible))
    proposed_first = sa.case((MatchPair.status == PairStatus.PROPOSED, 0), else_=1)
    query = query.order_by(proposed_first, MatchPair.probability.desc(), MatchPair.id)
    found = listing.page_of(db, query, listing.ListQuery("", {}, page, per_page))
    ids = [i for p in found.items for i in (p.person_a_id, p.person_b_id)]
    people, records = _persons(db, ids), engine.load_records(db, ids)
    from registry.matching.compare import score

    reviews = [
        Review(p, people[p.person_a_id], people[p.person_b_id], score(records[p.person_a_id], records[p.person_b_id]))
        for p in found.items
    ]
    if reviews:
        _log_shown(db, actor, ids, "review queue", pairs=len(reviews))
    return listing.ListPage(reviews, found.total, found.page, found.per_page)


# ---------------------------------------------------------------- decisions


def _reason(text: Any) -> str:
    reason = " ".join(text.split()) if isinstance(text, str) else ""
    if len(reason) < MIN_REASON:
        raise validation(reason=str(_("Say in a sentence (at least 10 characters) why you decided so.")))
    return reason[:2000]


def _visible_person(db: Session, actor: Actor, person_id: str, action: Action) -> Person:
    cases.require_person_visible(db, actor, person_id, action)
    person = db.get(Person, person_id)
    if person is None:
        raise NotFound(
            str(_("No such person.")),
            audit=AuditNote(action, target_type="person", target_id=person_id, details={"reason": "no such person"}),
        )
    return person


def _pair(db: Session, a: str, b: str) -> MatchPair:
    first, second = engine.pair_ids(a, b)
    pair = db.scalar(sa.select(MatchPair).where(MatchPair.person_a_id == first, MatchPair.person_b_id == second))
    if pair is None:
        pair = MatchPair(person_a_id=first, person_b_id=second, status=PairStatus.PENDING, probability=0.0)
        db.add(pair)
    return pair


def decide(db: Session, actor: Actor, person_id: str, other_id: str, data: Any) -> tuple[MatchPair, PersonMerge | None]:
    """A clerk's decision on two records, logged with its reason.

    "not_same" is remembered (the pair is never offered again). "same" only proposes the merge: merging moves
    case links, and with them who may see each record, so nothing moves until a second clerk "approve"s it
    (the proposer's own approval is refused and logged); "reject" sends the pair back to the queue.
    ``survivor_id`` says which record stays, by default the one registered first.
    """
    data = data if isinstance(data, dict) else {}
    decision = data.get("decision")
    if decision not in DECISIONS:
        raise validation(decision=str(_("Choose one of: %(allowed)s", allowed=", ".join(DECISIONS))))
    reason = _reason(data.get("reason"))
    action = _ACTIONS[decision]
    one, other = _visible_person(db, actor, person_id, action), _visible_person(db, actor, other_id, action)
    if one.id == other.id:
        raise validation(decision=str(_("A record cannot be compared with itself.")))
    pair = _pair(db, one.id, other.id)
    if decision in (APPROVE, REJECT) and pair.status != PairStatus.PROPOSED:
        raise Conflict(str(_("No merge of these two records is waiting for approval.")))
    if decision == SAME and pair.status == PairStatus.PROPOSED:
        raise Conflict(
            str(_("A merge of these two records is already waiting for a second clerk: approve or reject it."))
        )
    if decision == APPROVE:
        return pair, _approve(db, actor, pair, one, other, reason)
    proposer = pair.proposed_by_id
    pair.proposed_by_id, pair.proposed_at, pair.survivor_id = None, None, None
    pair.decided_at, pair.decided_by_id, pair.reason = utcnow(), actor.user_id, reason
    details: dict[str, Any] = {}
    if decision == SAME:
        survivor, merged = _sides(one, other, data.get("survivor_id") or _first_registered(one, other).id)
        merge.refuse_unless_mergeable(db, survivor, merged)
        pair.status, pair.survivor_id = PairStatus.PROPOSED, survivor.id
        pair.proposed_by_id, pair.proposed_at = actor.user_id, pair.decided_at
        details = {"merged": merged.registry_number, "survivor": survivor.registry_number}
    else:
        pair.status = PairStatus.NOT_SAME if decision == NOT_SAME else PairStatus.PENDING
        if proposer:
            details = {"proposed_by": proposer}
    db.flush()
    record(
        db,
        actor,
        action,
        target_type="person",
        target_id=one.id,
        person_ids=[one.id, other.id],
        reason=reason,
        details=details or None,
    )
    return pair, None


def _first_registered(one: Person, other: Person) -> Person:
    return min((one, other), key=lambda p: (p.created_at, p.registry_number))


def _sides(one: Person, other: Person, survivor_id: Any) -> tuple[Person, Person]:
    """(the record that stays, the record merged into it)."""
    if survivor_id not in (one.id, other.id):
        raise validation(survivor_id=str(_("The record that stays must be one of the two.")))
    return (one, other) if survivor_id == one.id else (other, one)


def _approve(db: Session, actor: Actor, pair: MatchPair, one: Person, other: Person, reason: str) -> PersonMerge:
    """The second clerk's approval: everything is checked again, then the records are merged."""
    refuse_own_proposal(
        actor,
        pair.proposed_by_id,
        str(_("A merge needs a second clerk: someone other than the one who proposed it must approve it.")),
        AuditNote(
            Action.PERSON_MERGED,
            target_type="person",
            target_id=one.id,
            person_ids=(one.id, other.id),
            details={"reason": "own proposal"},
        ),
    )
    survivor, merged = _sides(one, other, pair.survivor_id)
    proposer = pair.proposed_by_id
    done = merge.merge(db, survivor, merged, reason=pair.reason, by=proposer)
    done.approved_by_id = actor.user_id
    pair.status, pair.decided_at, pair.decided_by_id = PairStatus.SAME, utcnow(), actor.user_id
    db.flush()
    record(
        db,
        actor,
        Action.PERSON_MERGED,
        target_type="person",
        target_id=survivor.id,
        person_ids=[merged.id, survivor.id],
        reason=reason,
        details={
            "merge": done.id,
            "proposed_by": proposer,
            "merged": merged.registry_number,
            "survivor": survivor.registry_number,
            **{k: len(v) for k, v in done.moved_rows.items()},
        },
    )
    return done


def get_merge(db: Session, actor: Actor, merge_id: str) -> PersonMerge:
    found = db.get(PersonMerge, merge_id)
    if found is None or not (
        cases.can_see_person(db, actor, found.survivor_id) and cases.can_see_person(db, actor, found.merged_id)
    ):
        raise NotFound(
            str(_("No such merge.")),
            audit=AuditNote(Action.PERSON_MERGE_UNDONE, target_type="merge", target_id=merge_id),
        )
    return found


def undo_merge(db: Session, actor: Actor, merge_id: str, data: Any) -> PersonMerge:
    """The merged record stands on its own again, with exactly what it brought; logged with the reason."""
    reason = _reason((data or {}).get("reason") if isinstance(data, dict) else None)
    found = get_merge(db, actor, merge_id)
    merge.undo(db, found, reason=reason, by=actor.user_id)
    pair = db.scalar(
        sa.select(MatchPair).where(
            MatchPair.person_a_id == min(found.survivor_id, found.merged_id),
            MatchPair.person_b_id == max(found.survivor_id, found.merged_id),
        )
    )
    if pair is not None:  # back in the queue: a clerk decides again, "not the same" this time perhaps
        pair.status, pair.decided_at, pair.decided_by_id = PairStatus.PENDING, None, None
    db.flush()
    record(
        db,
        actor,
        Action.PERSON_MERGE_UNDONE,
        target_type="person",
        target_id=found.merged_id,
        person_ids=[found.merged_id, found.survivor_id],
        reason=reason,
        details={"merge": found.id},
    )
    return found


def merges_into(db: Session, person_id: str) -> list[tuple[PersonMerge, Person]]:
    """The merges that stand with this record as the survivor, and each merged record (for the undo form)."""
    rows = db.execute(
        sa.select(PersonMerge, Person)
        .join(Person, Person.id == PersonMerge.merged_id)
        .where(PersonMerge.survivor_id == person_id, PersonMerge.undone_at.is_(None))
        .order_by(PersonMerge.merged_at)
    )
    return [(m, p) for m, p in rows]


# ---------------------------------------------------------------- JSON


def candidate_json(person: Person, scored: Scored) -> dict[str, Any]:
    official = person.official_name
    return {
        "person": {
            "id": person.id,
            "registry_number": person.registry_number,
            "name": official.full if official else "",
        },
        "probability": round(scored.probability, 4),
        "weight": round(scored.weight, 2),
        "band": engine.band(scored.probability),
        "reasons": [{"field": r.field, "level": r.level, "weight": r.weight, **r.detail} for r in scored.reasons],
    }


def merge_json(found: PersonMerge) -> dict[str, Any]:
    return {
        "id": found.id,
        "survivor_id": found.survivor_id,
        "merged_id": found.merged_id,
        "reason": found.reason,
        "merged_at": found.merged_at.isoformat(),
        "proposed_by_id": found.merged_by_id,
        "approved_by_id": found.approved_by_id,
        "undone": found.undone_at is not None,
        "moved": {k: len(v) for k, v in found.moved_rows.items()},
    }


def pair_json(pair: MatchPair) -> dict[str, Any]:
    return {
        "id": pair.id,
        "person_ids": [pair.person_a_id, pair.person_b_id],
        "status": pair.status,
        "probability": round(pair.probability, 4),
        "reason": pair.reason,
        "proposed_by_id": pair.proposed_by_id,
        "survivor_id": pair.survivor_id,
    }
