"""JSON routes for cases, their members and persons, and emergency access."""

from __future__ import annotations

from flask import jsonify, request

from registry.accounts import service as accounts
from registry.accounts.permissions import Permission
from registry.api.blueprint import api
from registry.api.util import json_body, page_args, text_field
from registry.cases import service
from registry.cases.models import Case
from registry.runtime import current_runtime, db
from registry.web import listing
from registry.web.policy import current_actor, requires


def case_json(case: Case) -> dict:
    return {
        "id": case.id,
        "reference": case.reference,
        "title": case.title,
        "court_case_number": case.court_case_number,
        "is_open": case.is_open,
        "members": [m.user_id for m in case.members],
        "persons": [p.person_id for p in case.persons],
    }


@api.get("/cases")
@requires(Permission.CASE_READ)
def list_cases():
    """Cases the caller belongs to (all cases for administrators and clerks); filter ``status`` (open, closed),
    order ``sort`` (reference, title, opened; ``-`` first for descending, newest first by default)."""
    page, per_page = page_args(default_size=100, max_size=500)
    found = service.list_cases(
        db(), current_actor(), listing.read(request.args, service.CASE_LIST, page=page, per_page=per_page)
    )
    return jsonify(
        cases=[case_json(c) for c in found.items],
        total=found.total,
        page=found.page,
        per_page=found.per_page,
        pages=found.pages,
    )


@api.post("/cases")
@requires(Permission.CASE_MANAGE)
def create_case():
    """Open a case: reference, title, court_case_number."""
    body = json_body()
    case = service.create_case(
        db(),
        current_actor(),
        reference=text_field(body, "reference", required=True),
        title=text_field(body, "title", required=True),
        court_case_number=text_field(body, "court_case_number"),
    )
    return jsonify(case=case_json(case)), 201


@api.post("/cases/<case_id>/members")
@requires(Permission.CASE_MANAGE)
def add_case_member(case_id: str):
    """Add a staff member to a case by username."""
    actor = current_actor()
    case = service.get_case(db(), actor, case_id)
    user = accounts.user_by_name(db(), text_field(json_body(), "username", required=True, max_length=64))
    service.add_member(db(), actor, case, user)
    return jsonify(case=case_json(case)), 201


@api.post("/cases/<case_id>/persons")
@requires(Permission.CASE_PERSONS)
def add_case_person(case_id: str):
    """Put a person (by person_id) into a case."""
    actor = current_actor()
    case = service.get_case(db(), actor, case_id)
    service.add_person(db(), actor, case, text_field(json_body(), "person_id", required=True, max_length=36))
    return jsonify(case=case_json(case)), 201


@api.post("/persons/<person_id>/emergency-access")
@requires(Permission.EMERGENCY_ACCESS)
def open_emergency_access(person_id: str):
    """Break glass: open one person outside your cases for a limited time, with a reason."""
    grant = service.open_emergency_access(
        db(),
        current_actor(),
        person_id,
        text_field(json_body(), "reason", required=True),
        current_runtime().settings.emergency_access_minutes,
    )
    return jsonify(emergency_access={"person_id": person_id, "expires_at": grant.expires_at.isoformat()}), 201
