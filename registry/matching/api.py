"""JSON routes: possible same persons (of a record, or of a draft before registering), the review queue,
decisions and undoing a merge."""

from __future__ import annotations

from flask import jsonify, request

from registry.accounts.permissions import Permission
from registry.api.blueprint import api
from registry.api.util import json_body, page_args
from registry.matching import service
from registry.matching.models import PairStatus
from registry.runtime import db
from registry.web import listing
from registry.web.policy import current_actor, requires

# The review queue as a list (registry.web.listing): most probable first, a page at a time.
MATCH_QUEUE = listing.ListSpec(sorts=("probability",), default_sort="-probability")


@api.get("/persons/<person_id>/matches")
@requires(Permission.PERSON_READ)
def person_matches(person_id: str):
    """Records that may be the same person as this one, best first, each with its score and per-field reasons;
    only records the caller may see; not_found if the person is outside the caller's cases."""
    found = service.candidates_of_person(db(), current_actor(), person_id)
    return jsonify(candidates=[service.candidate_json(c.person, c.scored) for c in found])


@api.post("/persons/matches")
@requires(Permission.PERSON_WRITE)
def draft_matches():
    """Registered persons that may be the one about to be registered: send the body of POST /persons
    (names, sex, birth_date, birth_date_precision, place_of_birth_designation) and optionally
    document_numbers; nothing is saved."""
    found = service.candidates_of_draft(db(), current_actor(), json_body())
    return jsonify(candidates=[service.candidate_json(c.person, c.scored) for c in found])


@api.get("/matches")
@requires(Permission.PERSON_WRITE)
def match_queue():
    """Pairs of records waiting for a decision, most probable first, with their scores and reasons."""
    page, per_page = page_args()
    listing.read(request.args, MATCH_QUEUE, page=page, per_page=per_page)
    result = service.review_queue(db(), current_actor(), page, per_page)
    return jsonify(
        pairs=[
            {
                **service.pair_json(r.pair),
                "probability": round(r.scored.probability, 4),
                "band": r.band,
                "persons": [service.candidate_json(p, r.scored)["person"] for p in (r.first, r.second)],
                "reasons": service.candidate_json(r.second, r.scored)["reasons"],
            }
            for r in result.items
        ],
        total=result.total,
        page=result.page,
        per_page=result.per_page,
        pages=result.pages,
    )


@api.post("/persons/<person_id>/matches/<other_id>")
@requires(Permission.PERSON_WRITE)
def decide_match(person_id: str, other_id: str):
    """Decide on two records: {"decision": "same" | "not_same" | "approve" | "reject", "reason": "...",
    "survivor_id": optional}. "same" proposes a merge (202: nothing moves yet; the survivor stays, by default the
    record registered first); a second clerk's "approve" merges, "reject" sends the pair back to the queue (the
    proposer may withdraw so); approving one's own proposal is 403. "not_same" is remembered."""
    pair, merged = service.decide(db(), current_actor(), person_id, other_id, json_body())
    body = jsonify(pair=service.pair_json(pair), merge=service.merge_json(merged) if merged else None)
    return body, 202 if pair.status == PairStatus.PROPOSED else 200


@api.post("/merges/<merge_id>/undo")
@requires(Permission.PERSON_WRITE)
def undo_merge(merge_id: str):
    """Undo a merge: {"reason": "..."}; what the merge moved goes back to the merged record."""
    found = service.undo_merge(db(), current_actor(), merge_id, json_body())
    return jsonify(merge=service.merge_json(found))
