"""JSON routes for documents: upload, metadata, viewing copy, original, versions."""

from __future__ import annotations

from flask import Response, request

from registry.accounts.permissions import Permission
from registry.api.blueprint import api
from registry.api.schema import Binary, operation
from registry.audit.events import Action
from registry.documents import service
from registry.documents.inspection import ALLOWED_TYPES
from registry.documents.schemas import (
    DocumentLink,
    DocumentOut,
    DocumentReply,
    DocumentUpload,
    DuplicateOut,
    UploadReply,
    VersionUpload,
)
from registry.documents.web import send_content, upload_policy, uploaded_file
from registry.errors import validation
from registry.i18n import _
from registry.runtime import current_runtime, db
from registry.web.policy import current_actor, requires

# The viewing copy and the original are files, of the types the registry takes in (Content-Type says which).
_FILE_TYPES = tuple(sorted(set().union(*ALLOWED_TYPES.values())))
VIEWING_COPY = Binary(_FILE_TYPES, "The viewing copy, made from the original without its active content or metadata")
ORIGINAL = Binary(_FILE_TYPES, "The original file, bit for bit, as a download")


def _uploaded(result: service.UploadResult) -> UploadReply:
    return UploadReply(
        document=DocumentOut.of(db(), current_actor(), result.document),
        duplicates=[DuplicateOut.model_validate(d) for d in result.duplicates],
    )


def _version_arg() -> int | None:
    raw = request.args.get("version")
    if raw is None:
        return None
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 9):
        raise validation(version=str(_("version must be a whole number.")))
    return int(raw)


@api.post("/persons/<person_id>/documents")
@requires(Permission.DOCUMENT_UPLOAD)
@operation(body=DocumentUpload, reply=UploadReply, status=201, files=("file",))
def upload_document(person_id: str, body: DocumentUpload) -> UploadReply:
    """Upload a document for a person (multipart: file, kind, title; optional role, fields as JSON)."""
    result = service.upload_document(
        db(),
        current_actor(),
        current_runtime().store,
        upload_policy(),
        person_id=person_id,
        described=body,
        upload=uploaded_file(),
    )
    return _uploaded(result)


@api.get("/documents/<document_id>")
@requires(Permission.DOCUMENT_READ)
@operation(reply=DocumentReply)
def get_document(document_id: str) -> DocumentReply:
    """Document metadata and its version history."""
    actor = current_actor()
    document = service.get_document(db(), actor, document_id)
    return DocumentReply(document=DocumentOut.of(db(), actor, document))


@api.get("/documents/<document_id>/content")
@requires(Permission.DOCUMENT_READ)
@operation(reply=VIEWING_COPY)
def document_content(document_id: str) -> Response:
    """The safe viewing copy (``?version=N`` for an earlier version); 409 while it is being made, or if none
    could be."""
    content = service.read_content(
        db(), current_actor(), current_runtime().store, document_id, original=False, version=_version_arg()
    )
    return send_content(content, attachment=False)


@api.get("/documents/<document_id>/original")
@requires(Permission.DOCUMENT_ORIGINAL)
@operation(reply=ORIGINAL)
def document_original(document_id: str) -> Response:
    """The original file, bit for bit, as evidence (its own permission and log entry)."""
    content = service.read_content(
        db(), current_actor(), current_runtime().store, document_id, original=True, version=_version_arg()
    )
    return send_content(content, attachment=True)


@api.post("/documents/<document_id>/versions")
@requires(Permission.DOCUMENT_UPLOAD)
@operation(body=VersionUpload, reply=UploadReply, status=201, files=("file",))
def add_version(document_id: str, body: VersionUpload) -> UploadReply:
    """Add a restored or re-issued version (multipart: file, reason); earlier versions stay."""
    result = service.add_version(
        db(),
        current_actor(),
        current_runtime().store,
        upload_policy(),
        document_id=document_id,
        upload=uploaded_file(),
        reason=body.reason,
    )
    return _uploaded(result)


@api.post("/documents/<document_id>/persons")
@requires(Permission.DOCUMENT_UPLOAD)
@operation(body=DocumentLink, reply=DocumentReply, status=201)
def link_person(document_id: str, body: DocumentLink) -> DocumentReply:
    """Link the document to another person with a role (mother, child, alleged_parent ...)."""
    actor = current_actor()
    document = service.get_document(db(), actor, document_id, log=False, action=Action.DOCUMENT_LINKED)
    service.link_person(db(), actor, document, body.person_id, body.role.value, store=current_runtime().store)
    return DocumentReply(document=DocumentOut.of(db(), actor, document))
