"""JSON routes for document restoration requests."""

from __future__ import annotations

from flask import jsonify, request

from registry.accounts.permissions import Permission
from registry.api.blueprint import api
from registry.api.util import json_body, page_args, text_field
from registry.restoration import service
from registry.restoration.models import RestorationRequest
from registry.runtime import db
from registry.web import listing
from registry.web.policy import current_actor, requires


def _json(found: list[RestorationRequest]) -> list[dict]:
    actor = current_actor()
    persons, users = service.context_for(db(), found)
    hidden = service.hidden_evidence(db(), actor, found)
    return [service.request_json(r, actor, persons, users, hidden) for r in found]


def _clerk_id(body: dict) -> str:
    username = text_field(body, "assigned_clerk", max_length=64)
    return service.clerk_id_by_username(db(), username) if username else ""


@api.post("/restorations")
@requires(Permission.RESTORATION_WRITE)
def open_restoration():
    """Open a request: person_id, document_wanted, reason; optional assigned_clerk (user name), due_date, notes."""
    body = json_body()
    found = service.open_request(
        db(),
        current_actor(),
        person_id=text_field(body, "person_id", required=True, max_length=36),
        document_wanted=text_field(body, "document_wanted", required=True, max_length=24),
        reason=text_field(body, "reason", required=True, max_length=24),
        assigned_clerk_id=_clerk_id(body),
        due_date=text_field(body, "due_date", max_length=10),
        notes=text_field(body, "notes", max_length=5000),
    )
    return jsonify(restoration=_json([found])[0]), 201


@api.get("/restorations")
@requires(Permission.RESTORATION_READ)
def list_restorations():
    """Requests the caller may see; ``view`` = all, mine, overdue, waiting_for_evidence; ``status``; ``wanted``
    (the document); ``person_id``; order ``sort`` (due, opened, status, wanted; ``-`` first for descending)."""
    page, per_page = page_args(default_size=200, max_size=500)
    found = service.list_requests(
        db(),
        current_actor(),
        listing.read(request.args, service.RESTORATION_LIST, page=page, per_page=per_page),
        person_id=request.args.get("person_id", "")[:36],
    )
    return jsonify(
        restorations=_json(found.items), total=found.total, page=found.page, per_page=found.per_page, pages=found.pages
    )


@api.get("/restorations/<request_id>")
@requires(Permission.RESTORATION_READ)
def get_restoration(request_id: str):
    """One request with its evidence, history and (for a birth record) the mother's choices."""
    return jsonify(restoration=_json([service.get_request(db(), current_actor(), request_id)])[0])


@api.post("/restorations/<request_id>/evidence")
@requires(Permission.RESTORATION_WRITE)
def attach_restoration_evidence(request_id: str):
    """Attach a document of the person (or the mother) as evidence."""
    found = service.attach_evidence(
        db(),
        current_actor(),
        request_id,
        document_id=text_field(json_body(), "document_id", required=True, max_length=36),
    )
    return jsonify(restoration=_json([found])[0]), 201


@api.post("/restorations/<request_id>/status")
@requires(Permission.RESTORATION_WRITE)
def change_restoration_status(request_id: str):
    """Move the request: evidence_collected, submitted, issued (with issued_document_id), handed_over, rejected."""
    body = json_body()
    found = service.change_status(
        db(),
        current_actor(),
        request_id,
        status=text_field(body, "status", required=True, max_length=24),
        note=text_field(body, "note", max_length=2000),
        issued_document_id=text_field(body, "issued_document_id", max_length=36),
    )
    return jsonify(restoration=_json([found])[0])


@api.post("/restorations/<request_id>/mother-choices")
@requires(Permission.RESTORATION_WRITE)
def record_mother_choices(request_id: str):
    """A mother's choices for her child's birth record (mother_consent must be true)."""
    found = service.record_mother_choices(db(), current_actor(), request_id, json_body())
    return jsonify(restoration=_json([found])[0])


@api.post("/restorations/<request_id>/assignment")
@requires(Permission.RESTORATION_WRITE)
def reassign_restoration(request_id: str):
    """Give the request to another clerk (assigned_clerk, a user name); optionally a new due_date."""
    body = json_body()
    found = service.reassign(
        db(),
        current_actor(),
        request_id,
        assigned_clerk_id=_clerk_id(body),
        due_date=text_field(body, "due_date", max_length=10),
    )
    return jsonify(restoration=_json([found])[0])
