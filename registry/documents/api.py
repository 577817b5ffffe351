"""JSON routes for documents: upload, metadata, viewing copy, original, versions."""

from __future__ import annotations

from flask import jsonify, request

from registry.accounts.permissions import Permission
from registry.api.blueprint import api
from registry.api.util import json_body, text_field
from registry.audit.events import Action
from registry.documents import service
from registry.documents.web import send_content, upload_policy, uploaded_file
from registry.errors import validation
from registry.i18n import _
from registry.runtime import current_runtime, db
from registry.web.policy import current_actor, requires


def _result_json(result: service.UploadResult) -> dict:
    return {
        "document": service.document_json(db(), current_actor(), result.document),
        "duplicates": [{"id": d.id, "title": d.title, "kind": d.kind} for d in result.duplicates],
    }


def _version_arg() -> int | None:
    raw = request.args.get("version")
    if raw is None:
        return None
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 9):
        raise validation(version=str(_("version must be a whole number.")))
    return int(raw)


@api.post("/persons/<person_id>/documents")
@requires(Permission.DOCUMENT_UPLOAD)
def upload_document(person_id: str):
    """Upload a document for a person (multipart: file, kind, title; optional role, fields as JSON)."""
    form = request.form
    result = service.upload_document(
        db(),
        current_actor(),
        current_runtime().store,
        upload_policy(),
        person_id=person_id,
        kind=form.get("kind", ""),
        title=form.get("title", ""),
        role=form.get("role", "subject"),
        fields=form.get("fields"),
        upload=uploaded_file(),
    )
    return jsonify(_result_json(result)), 201


@api.get("/documents/<document_id>")
@requires(Permission.DOCUMENT_READ)
def get_document(document_id: str):
    """Document metadata and its version history."""
    actor = current_actor()
    return jsonify(document=service.document_json(db(), actor, service.get_document(db(), actor, document_id)))


@api.get("/documents/<document_id>/content")
@requires(Permission.DOCUMENT_READ)
def document_content(document_id: str):
    """The safe viewing copy (``?version=N`` for an earlier version); 409 while it is being made, or if none
    could be."""
    content = service.read_content(
        db(), current_actor(), current_runtime().store, document_id, original=False, version=_version_arg()
    )
    return send_content(content, attachment=False)


@api.get("/documents/<document_id>/original")
@requires(Permission.DOCUMENT_ORIGINAL)
def document_original(document_id: str):
    """The original file, bit for bit, as evidence (its own permission and log entry)."""
    content = service.read_content(
        db(), current_actor(), current_runtime().store, document_id, original=True, version=_version_arg()
    )
    return send_content(content, attachment=True)


@api.post("/documents/<document_id>/versions")
@requires(Permission.DOCUMENT_UPLOAD)
def add_version(document_id: str):
    """Add a restored or re-issued version (multipart: file, reason); earlier versions stay."""
    result = service.add_version(
        db(),
        current_actor(),
        current_runtime().store,
        upload_policy(),
        document_id=document_id,
        upload=uploaded_file(),
        reason=request.form.get("reason", ""),
    )
    return jsonify(_result_json(result)), 201


@api.post("/documents/<document_id>/persons")
@requires(Permission.DOCUMENT_UPLOAD)
def link_person(document_id: str):
    """Link the document to another person with a role (mother, child, alleged_parent ...)."""
    body = json_body()
    actor = current_actor()
    document = service.get_document(db(), actor, document_id, log=False, action=Action.DOCUMENT_LINKED)
    service.link_person(
        db(),
        actor,
        document,
        text_field(body, "person_id", required=True, max_length=36),
        text_field(body, "role", required=True, max_length=24),
        store=current_runtime().store,
    )
    return jsonify(document=service.document_json(db(), actor, document)), 201
