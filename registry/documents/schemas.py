"""What an upload, a new version and a link to another person take (the API's bodies and the document pages'
forms), and what a document looks like to a client."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, ConfigDict, Field
from sqlalchemy.orm import Session

from registry.accounts.actor import Actor
from registry.api.schema import Body, Line, Reply, invalid
from registry.cases import service as cases
from registry.documents.inspection import DocumentKind
from registry.documents.models import Document, DocumentVersion, PersonRole, ViewingStatus
from registry.documents.service import viewing_problem
from registry.holds import coverage
from registry.i18n import _

Scalar = str | int | bool | None


def _titled(value: str) -> str:
    if not value:
        raise invalid(str(_("Give the document a title, for example 'Birth record, Raqqa, 2016'.")))
    return value


def _subject_unless_said(value: Any) -> Any:
    """No role given (an empty choice on a form) is the person the document is about."""
    return value or PersonRole.SUBJECT


def _structured(value: Any) -> Any:
    """Structured fields come as a JSON object (in a multipart form: its text) of text, numbers or yes/no."""
    if value in (None, ""):
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise invalid(str(_("Structured fields must be a JSON object."))) from None
    if not isinstance(value, dict) or not all(
        isinstance(v, str | int | bool | None) and not isinstance(v, float) for v in value.values()
    ):
        raise invalid(str(_("Structured fields must be a JSON object of text, numbers or yes/no.")))
    return {str(k)[:64]: v for k, v in value.items()}


def _explained(value: str) -> str:
    if not value:
        raise invalid(str(_("Say why there is a new version (restored, re-issued, better scan...).")))
    return value


Role = Annotated[PersonRole, BeforeValidator(_subject_unless_said)]


class DocumentUpload(Body):
    """The form fields of an upload (multipart: these, and the file in ``file``)."""

    kind: DocumentKind
    title: Annotated[Line, Field(max_length=300), AfterValidator(_titled)] = Field(
        examples=["Birth record, Raqqa, 2016"]
    )
    role: Role = Field(PersonRole.SUBJECT, description="how the document concerns the person")
    fields: Annotated[dict[str, Scalar], BeforeValidator(_structured)] = Field(
        {}, description="structured fields (JSON), e.g. the record's number", examples=[{"record_number": "1147"}]
    )


class VersionUpload(Body):
    """The form fields of a new version (multipart: this, and the file in ``file``)."""

    reason: Annotated[Line, Field(max_length=500), AfterValidator(_explained)] = Field(
        examples=["Re-issued by the civil registry"]
    )


class DocumentLink(Body):
    """Another person the document concerns, and how."""

    person_id: Annotated[Line, Field(min_length=1, max_length=36)]
    role: PersonRole

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"person_id": "6f1c2a9e-3b7d-4e21-9a55-0c8d2f4b7a10", "role": "mother"}]}
    )


class LinkRole(Body):
    """The role chosen on the document page's link form (the person is given there by registry number)."""

    role: Role = PersonRole.SUBJECT


# ---------------------------------------------------------------- answers


class ViewingCopyOut(Reply):
    status: ViewingStatus
    content_type: str | None
    problem: str | None = Field(description="why no viewing copy could be made, in the reader's language")


class VersionOut(Reply):
    number: int
    reason: str
    filename: str
    content_type: str
    size: int
    fingerprint: str
    pages: int | None
    viewing_copy: ViewingCopyOut
    uploaded_by: str
    uploaded_by_name: str
    uploaded_at: datetime
    worm_locked: bool = Field(description="the original is under an object lock in the store")
    disposal_id: str | None
    disposed_at: datetime | None

    @classmethod
    def of(cls, version: DocumentVersion) -> VersionOut:
        return cls(
            number=version.number,
            reason=version.reason,
            filename=version.filename,
            content_type=version.content_type,
            size=version.size,
            fingerprint=version.fingerprint,
            pages=version.pages,
            viewing_copy=ViewingCopyOut(
                status=ViewingStatus(version.viewing_status),
                content_type=version.viewing.content_type if version.viewing else None,
                problem=viewing_problem(version),
            ),
            uploaded_by=version.uploaded_by_id,
            uploaded_by_name=version.uploaded_by.username,
            uploaded_at=version.uploaded_at,
            worm_locked=version.original.locked_until is not None,
            disposal_id=version.disposal_id,
            disposed_at=version.original.disposed_at,
        )


class LinkOut(Reply):
    person_id: str
    role: PersonRole


class DocumentOut(Reply):
    """A document: its metadata, the persons it concerns (those the caller may see) and every version."""

    id: str
    kind: DocumentKind
    title: str
    fields: dict[str, Scalar]
    created_at: datetime
    persons: list[LinkOut]
    versions: list[VersionOut]
    disposed: bool
    legal_hold: bool

    @classmethod
    def of(cls, db: Session, actor: Actor, document: Document) -> DocumentOut:
        """Linked persons outside the caller's cases are left out: a shared document must not name them."""
        return cls(
            id=document.id,
            kind=DocumentKind(document.kind),
            title=document.title,
            fields=json.loads(document.fields),
            created_at=document.created_at,
            persons=[
                LinkOut(person_id=link.person_id, role=PersonRole(link.role))
                for link in document.persons
                if cases.can_see_person(db, actor, link.person_id)
            ],
            versions=[VersionOut.of(v) for v in document.versions],
            disposed=document.disposed,
            legal_hold=bool(coverage.holds_on_document(db, document.id)),
        )


class DocumentReply(Reply):
    document: DocumentOut


class DuplicateOut(Reply):
    id: str
    title: str
    kind: DocumentKind


class UploadReply(Reply):
    """The document with its new version, and earlier uploads of the same file the caller may see."""

    document: DocumentOut
    duplicates: list[DuplicateOut]
