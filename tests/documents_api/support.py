"""Calling the documents API as a client would, and looking behind it (store, disk, log)."""

from __future__ import annotations

import hashlib
import io
import json
import re
from pathlib import Path

import pikepdf
import sqlalchemy as sa

from registry.audit.models import AuditEvent
from storage import fingerprint

# Names that make a PDF act or carry something besides its pages, as they read after qpdf decodes escapes.
ACTIVE_PDF_NAMES = (
    "/JS",
    "/JavaScript",
    "/OpenAction",
    "/AA",
    "/Launch",
    "/EmbeddedFile",
    "/EmbeddedFiles",
    "/Filespec",
    "/XFA",
    "/AcroForm",
    "/RichMedia",
    "/SubmitForm",
    "/URI",
    "/Annots",
)


def upload(
    client,
    person_id: str,
    content: bytes,
    filename: str,
    *,
    kind: str = "passport",
    title: str = "Passport, page 2",
    content_type: str | None = None,
    **form: str,
):
    data = {"file": (io.BytesIO(content), filename, content_type), "kind": kind, "title": title, **form}
    return client.post(f"/persons/{person_id}/documents", data=data, content_type="multipart/form-data")


def add_version(client, document_id: str, content: bytes, filename: str, reason: str):
    data = {"file": (io.BytesIO(content), filename), "reason": reason}
    return client.post(f"/documents/{document_id}/versions", data=data, content_type="multipart/form-data")


def uploaded(response) -> dict:
    """The document of a successful upload; the failure's body otherwise, in the assertion."""
    assert response.status_code == 201, response.get_json()
    return response.get_json()["document"]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fingerprint_of(runtime, data: bytes) -> str:
    """The keyed fingerprint the registry keeps of these bytes (storage.fingerprint)."""
    return fingerprint.current(runtime.keyring).of(data)


def active_names(pdf_bytes: bytes) -> set[str]:
    """Every active-content name in a PDF: trailer, catalog and every object, printed back as syntax."""
    with pikepdf.open(io.BytesIO(pdf_bytes)) as pdf:
        texts = [pdf.trailer.unparse(resolved=True)]
        for obj in pdf.objects:
            shown = obj.stream_dict if isinstance(obj, pikepdf.Stream) else obj
            if isinstance(shown, (pikepdf.Dictionary, pikepdf.Array)):
                texts.append(shown.unparse(resolved=True))
        attachments = set(pdf.attachments)
    syntax = b"\n".join(texts).decode("latin-1")
    found = {name for name in ACTIVE_PDF_NAMES if _has_name(syntax, name)}
    return found | ({"attachments"} if attachments else set())


def _has_name(syntax: str, name: str) -> bool:
    """`/JS` but not `/JSON`: a PDF name ends where a delimiter or white space begins."""
    return re.search(re.escape(name) + r"(?![A-Za-z0-9])", syntax) is not None


def stored_keys(runtime) -> list[str]:
    return sorted(runtime.raw_store.iter_keys("objects/"))  # the documents' objects (not the log's checkpoints)


def stored_bytes(runtime) -> dict[str, bytes]:
    """Every raw (encrypted) object, as the storage operator sees it."""
    out = {}
    for key in stored_keys(runtime):
        with runtime.raw_store.open(key) as fh:
            out[key] = fh.read()
    return out


def files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def upload_workdir(runtime) -> Path:
    return Path(runtime.settings.instance_path) / "uploads"


def events(runtime, action: str, target_id: str | None = None) -> list[AuditEvent]:
    with runtime.sessions() as db:
        query = sa.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)
        if target_id is not None:
            query = query.where(AuditEvent.target_id == target_id)
        return list(db.scalars(query))


def person_ids(event: AuditEvent) -> list[str]:
    return json.loads(event.person_ids)
