"""JSON routes for cases, their members and persons, and emergency access."""

from __future__ import annotations

from flask import request

from registry.accounts import service as accounts
from registry.accounts.permissions import Permission
from registry.api.blueprint import api
from registry.api.schema import operation
from registry.api.util import page_args
from registry.cases import service
from registry.cases.schemas import (
    CaseCreate,
    CaseMemberAdd,
    CaseOut,
    CasePage,
    CasePersonAdd,
    CaseReply,
    EmergencyAccessOpen,
    EmergencyAccessOut,
    EmergencyAccessReply,
)
from registry.runtime import current_runtime, db
from registry.web import listing
from registry.web.policy import current_actor, requires


@api.get("/cases")
@requires(Permission.CASE_READ)
@operation(reply=CasePage)
def list_cases() -> CasePage:
    """Cases the caller belongs to (all cases for administrators and clerks); filter ``status`` (open, closed),
    order ``sort`` (reference, title, opened; ``-`` first for descending, newest first by default)."""
    page, per_page = page_args(default_size=100, max_size=500)
    found = service.list_cases(
        db(), current_actor(), listing.read(request.args, service.CASE_LIST, page=page, per_page=per_page)
    )
    return CasePage(
        cases=[CaseOut.of(c) for c in found.items],
        total=found.total,
        page=found.page,
        per_page=found.per_page,
        pages=found.pages,
    )


@api.post("/cases")
@requires(Permission.CASE_MANAGE)
@operation(body=CaseCreate, reply=CaseReply, status=201)
def create_case(body: CaseCreate) -> CaseReply:
    """Open a case: reference, title, court_case_number."""
    case = service.create_case(db(), current_actor(), **body.model_dump())
    return CaseReply(case=CaseOut.of(case))


@api.post("/cases/<case_id>/members")
@requires(Permission.CASE_MANAGE)
@operation(body=CaseMemberAdd, reply=CaseReply, status=201)
def add_case_member(case_id: str, body: CaseMemberAdd) -> CaseReply:
    """Add a staff member to a case by username."""
    actor = current_actor()
    case = service.get_case(db(), actor, case_id)
    service.add_member(db(), actor, case, accounts.user_by_name(db(), body.username))
    return CaseReply(case=CaseOut.of(case))


@api.post("/cases/<case_id>/persons")
@requires(Permission.CASE_PERSONS)
@operation(body=CasePersonAdd, reply=CaseReply, status=201)
def add_case_person(case_id: str, body: CasePersonAdd) -> CaseReply:
    """Put a person (by person_id) into a case."""
    actor = current_actor()
    case = service.get_case(db(), actor, case_id)
    service.add_person(db(), actor, case, body.person_id)
    return CaseReply(case=CaseOut.of(case))


@api.post("/persons/<person_id>/emergency-access")
@requires(Permission.EMERGENCY_ACCESS)
@operation(body=EmergencyAccessOpen, reply=EmergencyAccessReply, status=201)
def open_emergency_access(person_id: str, body: EmergencyAccessOpen) -> EmergencyAccessReply:
    """Break glass: open one person outside your cases for a limited time, with a reason."""
    grant = service.open_emergency_access(
        db(), current_actor(), person_id, body.reason, current_runtime().settings.emergency_access_minutes
    )
    return EmergencyAccessReply(emergency_access=EmergencyAccessOut(person_id=person_id, expires_at=grant.expires_at))
