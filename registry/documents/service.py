"""Documents: the upload pipeline, versions, reading, and duplicate detection.

An upload is spooled to disk while it is hashed and measured (memory does not
grow with file size), typed from its bytes, opened in a resource-limited child
process (what cannot be opened is refused there and then), and its original is
stored encrypted, bit for bit, meanwhile. The rows and the access-log event
share one transaction; if it rolls back, the object it stored is deleted, and
the original is put under retention (WORM) only once the transaction has
committed. The viewing copy is made after the answer (``documents.copies``):
rendering scanned pages takes seconds each, and the clerk should not wait.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, BinaryIO, Protocol

import sqlalchemy as sa
from flask_babel import gettext
from sqlalchemy.orm import Session

from registry.accounts.actor import Actor
from registry.accounts.permissions import Permission
from registry.audit.events import Action
from registry.audit.service import record
from registry.cases import service as cases
from registry.db import new_id, on_commit, on_rollback
from registry.documents.binding import ORIGINAL, VIEWING, object_context, version_context
from registry.documents.copies import store_file
from registry.documents.inspection import (
    FileRefused,
    check_declared_type,
    refusal,
    safe_filename,
    sniff_content_type,
)
from registry.documents.models import (
    Document,
    DocumentPerson,
    DocumentVersion,
    StoredObject,
    ViewingStatus,
)
from registry.documents.spool import UploadSpool
from registry.documents.viewing_copy import ConversionLimits, inspect_original
from registry.errors import AuditNote, Forbidden, NotFound, Refused, StoredObjectMismatch
from registry.holds import coverage
from registry.holds.models import Disposal
from registry.i18n import _
from registry.persons.models import Person
from storage import EncryptedStore, IntegrityError, LockUnsupported, ObjectInfo, StorageError, StorageUnavailable

if TYPE_CHECKING:  # the schemas read the service (viewing_problem)
    from registry.documents.schemas import DocumentUpload

log = logging.getLogger("registry.documents")
CHUNK = 1024 * 1024
GENOMIC = "genomic_test_result"


@dataclass(frozen=True)
class UploadedFile:
    stream: BinaryIO
    filename: str | None
    declared_type: str | None


class CopyQueue(Protocol):
    def submit(self, version_id: str, spooled: str | None = None, *, cost: int | None = None) -> None:
        """Make the version's viewing copy soon (``cost``: its estimate); the spooled original is handed over."""


@dataclass(frozen=True)
class UploadPolicy:
    max_bytes: int
    workdir: str
    retention: timedelta
    copies: CopyQueue
    conversion: ConversionLimits = ConversionLimits()


@dataclass
class UploadResult:
    document: Document
    version: DocumentVersion
    duplicates: list[Document]


# ---------------------------------------------------------------- ingest


def _spool(stream: BinaryIO, work: str, max_bytes: int) -> tuple[str, int]:
    path = os.path.join(work, "original")
    if isinstance(stream, UploadSpool):  # the web upload: on disk already
        _check_size(stream.size, max_bytes)
        stream.move_to(path)
        return path, stream.size
    size = 0
    with open(path, "wb") as out:
        while chunk := stream.read(CHUNK):
            size += len(chunk)
            _check_size(size, max_bytes)
            out.write(chunk)
    return path, size


def _check_size(size: int, max_bytes: int) -> None:
    if size > max_bytes:
        raise Refused(
            "file_too_large",
            413,
            str(
                _(
                    "The file is larger than %(mb)d MB. Scan at a lower resolution or split it.",
                    mb=max_bytes // (1024 * 1024),
                )
            ),
        )


def _stored(db: Session, store: EncryptedStore, info: ObjectInfo, content_type: str) -> StoredObject:
    on_rollback(db, lambda: store.delete(info.key))
    obj = StoredObject(
        key=info.key,
        size=info.size,
        fingerprint=info.fingerprint,
        key_id=info.key_id,
        wrapped_key=info.wrapped_key,
        content_type=content_type,
    )
    db.add(obj)
    return obj


def _discard(store: EncryptedStore, storing: Future[ObjectInfo]) -> None:
    """The upload failed after its original went to the store: wait for that put, then delete the object."""
    try:
        key = storing.result().key
    except Exception:
        return  # a put stores all or nothing
    try:
        store.delete(key)
    except StorageError:
        log.exception("could not delete %s after a failed upload; `registry storage scrub` lists it", key)


def _lock_after_commit(db: Session, store: EncryptedStore, obj: StoredObject, retention: timedelta) -> None:
    until = datetime.now(UTC) + retention

    def lock() -> None:
        try:
            store.lock(obj.key, until)
        except LockUnsupported:
            return

    if store.supports_lock():
        obj.locked_until = until
        on_commit(db, lock)


def _refused(error: FileRefused, action: str, person_ids: list[str]) -> Refused:
    """The inspection names its words in English; the clerk reads them in their own language."""
    return Refused(
        error.code,
        error.http_status,
        error.words.render(gettext),
        audit=AuditNote(
            action,
            outcome="failed",
            target_type="document",
            person_ids=tuple(person_ids),
            details={"refused": error.code},
        ),
    )


def _store_failed(error: Exception, action: str, person_ids: list[str]) -> Refused:
    """The store broke half-way: the rollback removes what was stored; the clerk may simply retry."""
    log.error("storing an upload failed: %s", error, exc_info=error)
    return Refused(
        "storage_unavailable",
        503,
        str(
            _(
                "The document could not be stored just now, so nothing was saved. Try again in a few minutes; "
                "if it keeps failing, tell the administrator."
            )
        ),
        audit=AuditNote(
            action,
            outcome="failed",
            target_type="document",
            person_ids=tuple(person_ids),
            details={"failed": "storage"},
        ),
    )


def _ingest(
    db: Session,
    actor: Actor,
    store: EncryptedStore,
    upload: UploadedFile,
    kind: str,
    policy: UploadPolicy,
    action: str,
    person_ids: list[str],
    document_id: str,
    number: int,
) -> DocumentVersion:
    """The version ``number`` of document ``document_id`` (its original is stored bound to both)."""
    os.makedirs(policy.workdir, mode=0o700, exist_ok=True)
    version_id = str(uuid.uuid4())
    with tempfile.TemporaryDirectory(dir=policy.workdir) as work, ThreadPoolExecutor(1) as background:
        try:
            path, size = _spool(upload.stream, work, policy.max_bytes)
            if size == 0:
                raise refusal("empty_file")
            sniffed = sniff_content_type(path)
            check_declared_type(kind, sniffed, upload.declared_type, upload.filename)
        except FileRefused as error:
            raise _refused(error, action, person_ids) from None
        # The child opens the file (a second or less) while the original is encrypted and stored.
        storing = background.submit(store_file, store, path, object_context(document_id, number, ORIGINAL))
        try:
            opened = inspect_original(path, sniffed, work, limits=policy.conversion)
        except BaseException as error:
            _discard(store, storing)
            if isinstance(error, FileRefused):
                raise _refused(error, action, person_ids) from None
            raise
        try:
            original = _stored(db, store, storing.result(), sniffed)
        except (StorageError, OSError) as error:
            raise _store_failed(error, action, person_ids) from None
        if original.size != size:
            raise RuntimeError("the stored original is not the size of the upload")
        _copy_after_commit(db, policy, version_id, path, opened.cost)
    _lock_after_commit(db, store, original, policy.retention)
    return DocumentVersion(
        id=version_id,
        document_id=document_id,
        number=number,
        filename=safe_filename(upload.filename),
        content_type=sniffed,
        size=size,
        original=original,
        viewing_status=ViewingStatus.PENDING,
        pages=opened.pages,
        copy_cost=opened.cost,
        uploaded_by_id=actor.user_id,
    )


def _copy_after_commit(db: Session, policy: UploadPolicy, version_id: str, spooled: str, cost: int) -> None:
    """Hand the spooled upload to the copy queue, which deletes it when done; a rollback deletes it now."""
    kept = os.path.join(policy.workdir, f"{version_id}.original")
    os.replace(spooled, kept)
    on_commit(db, lambda: policy.copies.submit(version_id, kept, cost=cost))
    on_rollback(db, lambda: os.unlink(kept))


# ---------------------------------------------------------------- rules


def _visible_duplicates(db: Session, actor: Actor, fingerprint: str, exclude: str | None) -> list[Document]:
    """Earlier uploads of the same bytes, but only where the uploader may see a linked person (fingerprints
    made under an earlier master key match once `registry keys refingerprint` has run)."""
    query = (
        sa.select(Document)
        .join(DocumentVersion, DocumentVersion.document_id == Document.id)
        .join(DocumentPerson, DocumentPerson.document_id == Document.id)
        .join(StoredObject, StoredObject.id == DocumentVersion.original_id)
        .where(StoredObject.fingerprint == fingerprint)
    )
    if exclude:
        query = query.where(Document.id != exclude)
    visible = cases.visible_person_ids(actor)
    if visible is not None:
        query = query.where(DocumentPerson.person_id.in_(visible))
    return list(db.scalars(query.distinct().limit(10)))


def upload_document(
    db: Session,
    actor: Actor,
    store: EncryptedStore,
    policy: UploadPolicy,
    *,
    person_id: str,
    described: DocumentUpload,
    upload: UploadedFile,
) -> UploadResult:
    """A new document of one person, described (kind, title, role, fields) as the upload form and API declare."""
    kind, title, role = described.kind.value, described.title, described.role.value
    fields_json = json.dumps(described.fields, ensure_ascii=False, sort_keys=True)
    reason = cases.require_person_visible(db, actor, person_id, Action.DOCUMENT_UPLOADED)
    if kind == GENOMIC and not actor.can(Permission.GENOMIC_READ):
        raise Forbidden(str(_("Your role does not handle genomic results.")))
    document_id = new_id()
    version = _ingest(db, actor, store, upload, kind, policy, Action.DOCUMENT_UPLOADED, [person_id], document_id, 1)
    version.reason = "initial"
    document = Document(
        id=document_id,
        kind=kind,
        title=title,
        fields=fields_json,
        created_by_id=actor.user_id,
        persons=[DocumentPerson(person_id=person_id, role=role)],
        versions=[version],
    )
    db.add(document)
    db.flush()
    coverage.sync_store_holds(db, store, [document.id])  # uploaded for a held person: the store holds it too
    duplicates = _visible_duplicates(db, actor, version.fingerprint, document.id)
    record(
        db,
        actor,
        Action.DOCUMENT_UPLOADED,
        target_type="document",
        target_id=document.id,
        person_ids=[person_id],
        reason=reason,
        details={
            "kind": kind,
            "size": version.size,
            "content_type": version.content_type,
            "fingerprint": version.fingerprint,
            "duplicates": [d.id for d in duplicates],
        },
    )
    return UploadResult(document, version, duplicates)


def add_version(
    db: Session,
    actor: Actor,
    store: EncryptedStore,
    policy: UploadPolicy,
    *,
    document_id: str,
    upload: UploadedFile,
    reason: str,
) -> UploadResult:
    """A restored or re-issued document supersedes the last version; nothing is deleted (the reason as
    ``schemas.VersionUpload`` checked it)."""
    document = get_document(db, actor, document_id, log=False, action=Action.DOCUMENT_VERSION_ADDED)
    if document.disposed:
        raise _disposed(
            db,
            document,
            document.current,
            Action.DOCUMENT_VERSION_ADDED,
            str(_("Its files were disposed of under the retention schedule: upload the new file as a new document.")),
        )
    version = _ingest(
        db,
        actor,
        store,
        upload,
        document.kind,
        policy,
        Action.DOCUMENT_VERSION_ADDED,
        document.person_ids,
        document.id,
        document.current.number + 1,
    )
    version.reason = reason[:500]
    document.versions.append(version)
    db.flush()
    coverage.sync_store_holds(db, store, [document.id])
    record(
        db,
        actor,
        Action.DOCUMENT_VERSION_ADDED,
        target_type="document",
        target_id=document.id,
        person_ids=document.person_ids,
        details={"version": version.number, "fingerprint": version.fingerprint},
    )
    return UploadResult(document, version, _visible_duplicates(db, actor, version.fingerprint, document.id))


def link_person(
    db: Session, actor: Actor, document: Document, person_id: str, role: str, store: EncryptedStore | None = None
) -> None:
    """Linked to a held person (or one of a held case), the document is held too; with ``store``, there as well.
    ``role`` is a ``PersonRole`` value."""
    cases.require_person_visible(db, actor, person_id, Action.DOCUMENT_UPLOADED)
    if any(link.person_id == person_id and link.role == role for link in document.persons):
        return
    document.persons.append(DocumentPerson(person_id=person_id, role=role))
    db.flush()
    if store is not None:
        coverage.sync_store_holds(db, store, [document.id])
    record(
        db,
        actor,
        Action.DOCUMENT_LINKED,
        target_type="document",
        target_id=document.id,
        person_ids=[person_id],
        details={"role": role},
    )


# ---------------------------------------------------------------- reading


def _readable(db: Session, actor: Actor, document: Document) -> bool:
    if document.kind == GENOMIC and not actor.can(Permission.GENOMIC_READ):
        return False
    return any(cases.can_see_person(db, actor, pid) for pid in document.person_ids)


def get_document(
    db: Session, actor: Actor, document_id: str, *, log: bool = True, action: str = Action.DOCUMENT_VIEWED
) -> Document:
    """The document if the actor may read it; a refusal is logged as the `action` that was attempted."""
    document = db.get(Document, document_id)
    if document is None or not _readable(db, actor, document):
        raise NotFound(
            str(_("No such document.")),
            audit=AuditNote(
                action,
                target_type="document",
                target_id=document_id,
                person_ids=tuple(document.person_ids) if document else (),
            ),
        )
    if log:
        record(
            db,
            actor,
            Action.DOCUMENT_VIEWED,
            target_type="document",
            target_id=document.id,
            person_ids=document.person_ids,
        )
    return document


def documents_of_person(db: Session, actor: Actor, person: Person) -> list[tuple[Document, str]]:
    rows = db.execute(
        sa.select(Document, DocumentPerson.role)
        .join(DocumentPerson)
        .where(DocumentPerson.person_id == person.id)
        .order_by(Document.created_at.desc())
    )
    return [(d, role) for d, role in rows if d.kind != GENOMIC or actor.can(Permission.GENOMIC_READ)]


@dataclass
class Content:
    chunks: Iterator[bytes]
    size: int
    content_type: str
    filename: str


def _version(document: Document, number: int | None) -> DocumentVersion:
    if number is None:
        return document.current
    for version in document.versions:
        if version.number == number:
            return version
    raise NotFound(str(_("This document has no version %(n)d.", n=number)))


def _open(
    db: Session,
    actor: Actor,
    store: EncryptedStore,
    document: Document,
    version: DocumentVersion,
    role: str,
    action: str,
) -> BinaryIO:
    """The stored object, opened as what the database says it is: an object that was stored as something else
    (a record pointed at another record's object) is refused before a byte is served, and the attempt logged."""
    obj = version.original if role == ORIGINAL else version.viewing
    assert obj is not None
    try:
        return store.open(
            obj.key,
            key_id=obj.key_id,
            wrapped_key=obj.wrapped_key,
            expected_fingerprint=obj.fingerprint,
            context=version_context(version, role),
        )
    except StorageUnavailable as error:
        raise storage_unavailable(error, _failed_read(document, version, action)) from None
    except IntegrityError:
        log.error("document %s version %d: the %s object does not belong to it", document.id, version.number, role)
        raise StoredObjectMismatch(
            str(
                _(
                    "The stored file does not belong to this document record, so it was not shown. The record or "
                    "the store has been altered: tell the administrator."
                )
            ),
            audit=AuditNote(
                action,
                outcome="failed",
                target_type="document",
                target_id=document.id,
                person_ids=tuple(document.person_ids),
                details={"version": version.number, "integrity": role},
            ),
        ) from None


def _first_chunk(reader: BinaryIO, document: Document, version: DocumentVersion, action: str) -> bytes:
    """Read the first segment before the read is logged as allowed and headers leave: a store that cannot
    serve the object is a 503 the client can retry (logged as failed), not a download broken after 200."""
    try:
        return reader.read(CHUNK)
    except StorageUnavailable as error:
        reader.close()
        raise storage_unavailable(error, _failed_read(document, version, action)) from None


def _failed_read(document: Document, version: DocumentVersion, action: str) -> AuditNote:
    return AuditNote(
        action,
        outcome="failed",
        target_type="document",
        target_id=document.id,
        person_ids=tuple(document.person_ids),
        details={"version": version.number, "failed": "storage"},
    )


def storage_unavailable(error: Exception, audit: AuditNote | None = None) -> Refused:
    log.error("the object store failed: %s", error)
    return Refused(
        "storage_unavailable",
        503,
        str(
            _(
                "The document store cannot be reached just now. Try again in a few minutes; if it keeps failing, tell "
                "the administrator."
            )
        ),
        audit=audit,
    )


def _chunks(reader: BinaryIO, first: bytes) -> Iterator[bytes]:
    with reader as fh:
        chunk = first
        while chunk:
            yield chunk
            chunk = fh.read(CHUNK)


def read_content(
    db: Session, actor: Actor, store: EncryptedStore, document_id: str, *, original: bool, version: int | None = None
) -> Content:
    """The viewing copy (or the original, a separate permission): logged before a byte leaves."""
    action = Action.DOCUMENT_ORIGINAL_READ if original else Action.DOCUMENT_CONTENT_READ
    document = get_document(db, actor, document_id, log=False, action=action)
    chosen = _version(document, version)
    if chosen.disposed:
        raise _disposed(db, document, chosen, action)
    obj = chosen.original if original else chosen.viewing
    if obj is None:
        raise _no_viewing_copy(document, chosen, action)
    reader = _open(db, actor, store, document, chosen, ORIGINAL if original else VIEWING, action)
    first = _first_chunk(reader, document, chosen, action)
    record(
        db,
        actor,
        action,
        target_type="document",
        target_id=document.id,
        person_ids=document.person_ids,
        details={"version": chosen.number},
    )
    stem = os.path.splitext(chosen.filename)[0] or "document"
    filename = chosen.filename if original else f"{stem}-view{_extension(obj.content_type)}"
    return Content(_chunks(reader, first), obj.size, obj.content_type, filename)


def disposal_of(db: Session, version: DocumentVersion) -> Disposal | None:
    """The approved disposal that took this version's files, if any."""
    return db.get(Disposal, version.disposal_id) if version.disposal_id else None


def disposed_words(disposal: Disposal) -> str:
    """When and under which disposal the files went, in the reader's language."""
    moment = disposal.decided_at or disposal.proposed_at
    return str(
        _(
            "The files of this document were disposed of on %(date)s under disposal %(disposal)s, as the "
            "retention schedule provides (proposed by %(proposer)s, approved by %(approver)s). Its record, "
            "its versions and the access log remain.",
            date=moment.date().isoformat(),
            disposal=disposal.id,
            proposer=disposal.proposed_by.username,
            approver=disposal.decided_by.username if disposal.decided_by else "",
        )
    )


def _disposed(db: Session, document: Document, version: DocumentVersion, action: str, more: str = "") -> Refused:
    """410 ``disposed``: the files are gone for good, not missing; the page says when and under which disposal."""
    disposal = disposal_of(db, version)
    assert disposal is not None
    return Refused(
        "disposed",
        410,
        f"{disposed_words(disposal)} {more}".strip(),
        audit=AuditNote(
            action,
            outcome="failed",
            target_type="document",
            target_id=document.id,
            person_ids=tuple(document.person_ids),
            details={"version": version.number, "disposal": disposal.id},
        ),
    )


def _no_viewing_copy(document: Document, version: DocumentVersion, action: str) -> Refused:
    note = AuditNote(
        action,
        outcome="failed",
        target_type="document",
        target_id=document.id,
        person_ids=tuple(document.person_ids),
        details={"viewing_copy": version.viewing_status},
    )
    problem = viewing_problem(version)
    if problem is not None:
        return Refused("viewing_copy_failed", 409, problem, audit=note)
    return Refused(
        "viewing_copy_pending",
        409,
        str(_("The viewing copy is still being made; a scan of many pages takes a minute or two. Try again shortly.")),
        audit=note,
    )


def viewing_problem(version: DocumentVersion) -> str | None:
    """Why this version has no viewing copy, in the reader's language; None unless it failed."""
    if version.viewing_status != ViewingStatus.FAILED:
        return None
    try:
        problem = json.loads(version.viewing_problem or "")
        cause = refusal(problem["reason"], **problem["params"])
    except (ValueError, KeyError, TypeError):
        cause = refusal("conversion_error")
    return str(
        _(
            "No viewing copy could be made of this file; the original is kept as it was uploaded. %(cause)s",
            cause=cause.words.render(gettext),
        )
    )


def _extension(content_type: str) -> str:
    return {
        "application/pdf": ".pdf",
        "image/jpeg": ".jpg",
        "image/png": ".png",
        "text/plain; charset=utf-8": ".txt",
    }.get(content_type, "")
