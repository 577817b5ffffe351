"""A signed ZIP: files, a manifest listing each file's SHA-256, and the registry's Ed25519 signature over it.

The court evidence bundle (``registry.kinship.bundle``) and a person's export (``registry.persons.export``) are
both written here, and both are checked offline by ``registry bundle verify`` (``registry.kinship.verify``)
with the file alone and the registry's published key pinned. The ZIP is spooled into a private file (never
held whole in memory); each document is read through the documents service, so each read is its own
access-log event, and streamed in while it is hashed. An original must also give every fingerprint the access
log recorded for it (at its upload, and after key rotations): a file that is not what its upload recorded goes
into no archive.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import tempfile
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO, Any

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.orm import Session

from registry.accounts.actor import Actor
from registry.accounts.models import User
from registry.audit.checkpoints import published_key
from registry.audit.events import Action, format_time
from registry.audit.models import AuditEvent
from registry.cases import service as cases
from registry.db import utcnow
from registry.documents import service as documents
from registry.documents.models import Document, DocumentVersion
from registry.errors import AuditNote, StoredObjectMismatch
from registry.kinship.verify import BUNDLE_CONTEXT, MANIFEST, PUBLIC_KEY, SIGNATURE
from storage import EncryptedStore, IntegrityError, Keyring, fingerprint
from storage.stream_aead import Digest

SPOOL_BYTES = 16 * 1024 * 1024
# The end of every README inside a signed ZIP: what signs it and how to check it.
HOW_TO_CHECK = """manifest.sig   Ed25519 signature (base64) over the line "kinship-registry/bundle/v1" and a
               newline, followed by the exact bytes of manifest.json
public_key.pem the key that made the signature. Anyone can sign a ZIP like this one with a key of
               their own: this file proves nothing until its SHA-256 fingerprint is the one the
               registry publishes (ask the registry for it apart from this file)

Check it with the registry's key pinned:
  registry bundle verify THIS_FILE.zip --fingerprint SHA256_HEX_FROM_THE_REGISTRY
  registry bundle verify THIS_FILE.zip --public-key registry-audit-key.pem
By hand (OpenSSL 3):
  openssl pkey -pubin -in public_key.pem -outform DER | sha256sum   (compare with the published fingerprint)
  sha256sum each file and compare with manifest.json
  base64 -d manifest.sig > manifest.sig.bin
  (printf 'kinship-registry/bundle/v1\\n'; cat manifest.json) > signed.bin
  openssl pkeyutl -verify -pubin -inkey public_key.pem -rawin -in signed.bin -sigfile manifest.sig.bin
"""


@dataclass
class SignedZip:
    """The finished ZIP, rewound; whoever sends it closes ``file``."""

    file: IO[bytes]
    filename: str
    size: int
    manifest_sha256: str


def safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._")[:120] or "file"


def json_bytes(value: Any) -> bytes:
    """How every JSON file of a signed ZIP is written (the manifest too): stable, readable, UTF-8."""
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True).encode("utf-8")


class ArchiveWriter:
    """Adds entries to the ZIP and remembers what the manifest must say about each; ``sign`` finishes it.

    ``action`` names the export in the log when an original is refused; ``altered`` says so to the reader.
    Past ``SPOOL_BYTES`` the ZIP spills to an unnamed file in ``workdir`` (created private): it holds
    originals in clear. Used as a context manager, the spool is closed if the export fails.
    """

    def __init__(self, key: Ed25519PrivateKey, workdir: str | None, *, action: str, altered: Any):
        if workdir:
            os.makedirs(workdir, mode=0o700, exist_ok=True)
        self.key, self.action, self.altered = key, action, altered
        self.spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES, dir=workdir)
        self.archive = zipfile.ZipFile(self.spool, "w", compression=zipfile.ZIP_STORED, allowZip64=True)
        self.files: list[dict[str, Any]] = []

    def __enter__(self) -> ArchiveWriter:
        return self

    def __exit__(self, kind, _value, _traceback) -> None:
        if kind is not None:
            self.archive.close()
            self.spool.close()

    def add_bytes(self, path: str, data: bytes, **about: Any) -> None:
        self.archive.writestr(path, data)
        self.files.append({"path": path, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data), **about})

    def add_stream(self, path: str, chunks, also: Iterable[Digest] = (), **about: Any) -> dict[str, Any]:
        """Stream a file in; ``also`` are further digests fed the same bytes (the log's fingerprints)."""
        digest, size, also = hashlib.sha256(), 0, list(also)
        with self.archive.open(path, "w", force_zip64=True) as out:
            for chunk in chunks:
                digest.update(chunk)
                for other in also:
                    other.update(chunk)
                size += len(chunk)
                out.write(chunk)
        entry = {"path": path, "sha256": digest.hexdigest(), "size": size, **about}
        self.files.append(entry)
        return entry

    def add_documents(
        self,
        db: Session,
        actor: Actor,
        store: EncryptedStore,
        documents_: list[Document],
        *,
        viewing_copies: bool = False,
    ) -> None:
        """Every version's original (and, if asked, its viewing copy where one was made), each read logged.

        Each entry names the persons linked to the document that the actor may see; the others are never named.
        """
        users = _uploaders(db, documents_)
        for document in documents_:
            persons = [
                {"person_id": link.person_id, "role": link.role}
                for link in document.persons
                if cases.can_see_person(db, actor, link.person_id)
            ]
            for version in document.versions:
                uploader = users.get(version.uploaded_by_id)
                about = {
                    "document_id": document.id,
                    "version": version.number,
                    "kind": document.kind,
                    "title": document.title,
                    "uploaded_at": version.uploaded_at.isoformat(),
                    "persons": persons,
                    "uploaded_by": {
                        "username": uploader.username if uploader else "",
                        "full_name": uploader.full_name if uploader else "",
                    },
                }
                original = f"documents/{document.id}/v{version.number}-{safe_name(version.filename)}"
                self._add_original(db, actor, store, document, version, original, **about)
                if viewing_copies and version.viewing is not None:
                    copy = documents.read_content(db, actor, store, document.id, original=False, version=version.number)
                    self.add_stream(
                        f"documents/{document.id}/viewing/v{version.number}-{safe_name(copy.filename)}",
                        copy.chunks,
                        content_type=copy.content_type,
                        viewing_copy_of=original,
                        **about,
                    )

    def _add_original(
        self,
        db: Session,
        actor: Actor,
        store: EncryptedStore,
        document: Document,
        read: DocumentVersion,
        path: str,
        **about: Any,
    ) -> None:
        content = documents.read_content(db, actor, store, document.id, original=True, version=read.number)
        events = _fingerprint_events(db, document.id, read.number)
        checks = _fingerprint_checks(store.keyring, events)
        entry = self.add_stream(
            path,
            content.chunks,
            also=[digest for _event, digest, _hex in checks],
            content_type=read.content_type,
            **about,
        )
        upload = events[0][0] if events and events[0][0].action != Action.DOCUMENT_REFINGERPRINTED else None
        if upload is None or not checks or any(digest.hexdigest() != hex_ for _e, digest, hex_ in checks):
            raise self._not_as_uploaded(document, read.number)
        entry["upload_event"] = {"seq": upload.seq, "hash": upload.hash}
        entry["checked_against_events"] = [event.seq for event, _d, _h in checks]

    def _not_as_uploaded(self, document: Document, number: int) -> StoredObjectMismatch:
        """A file that is not what its upload recorded goes into no archive: the database or the store was altered."""
        return StoredObjectMismatch(
            str(self.altered),
            audit=AuditNote(
                self.action,
                outcome="failed",
                target_type="document",
                target_id=document.id,
                person_ids=tuple(document.person_ids),
                details={"version": number, "integrity": "upload"},
            ),
        )

    def sign(self, actor: Actor, manifest: dict[str, Any], name: str) -> SignedZip:
        """Write the manifest (``manifest`` with who made it, when, every file and the signing key), its signature
        and the public key; the finished ZIP is called ``name`` and the time."""
        public = published_key(self.key.public_key())
        manifest = {
            **manifest,
            "created_at": format_time(utcnow()),
            "files": self.files,
            "created_by": {"username": actor.username, "full_name": actor.user.full_name if actor.user else ""},
            "signing": {
                "algorithm": "Ed25519",
                "key_id": public.key_id,
                "fingerprint_sha256": public.fingerprint,
                "signed_file": MANIFEST,
                "context": BUNDLE_CONTEXT.decode(),
            },
        }
        manifest_bytes = json_bytes(manifest)
        with self.archive:
            self.archive.writestr(MANIFEST, manifest_bytes)
            self.archive.writestr(SIGNATURE, base64.b64encode(self.key.sign(BUNDLE_CONTEXT + manifest_bytes)) + b"\n")
            self.archive.writestr(PUBLIC_KEY, public.pem)
        size = self.spool.tell()
        self.spool.seek(0)
        stamp = utcnow().strftime("%Y%m%d-%H%M%S")
        return SignedZip(self.spool, f"{name}-{stamp}.zip", size, hashlib.sha256(manifest_bytes).hexdigest())


def _uploaders(db: Session, documents_: list[Document]) -> dict[str, User]:
    ids = {v.uploaded_by_id for d in documents_ for v in d.versions}
    return {u.id: u for u in db.scalars(sa.select(User).where(User.id.in_(ids)))}


_FINGERPRINTING = (Action.DOCUMENT_UPLOADED, Action.DOCUMENT_VERSION_ADDED, Action.DOCUMENT_REFINGERPRINTED)


def _fingerprint_events(db: Session, document_id: str, number: int) -> list[tuple[AuditEvent, str]]:
    """The log's events that fingerprinted this version's original, oldest (its upload) first: the upload and,
    after key rotations, each fingerprint made again. Events from before keyed fingerprints name a SHA-256."""
    found = []
    for event in db.scalars(
        sa.select(AuditEvent)
        .where(
            AuditEvent.target_type == "document",
            AuditEvent.target_id == document_id,
            AuditEvent.action.in_(_FINGERPRINTING),
            AuditEvent.outcome == "allowed",
        )
        .order_by(AuditEvent.seq)
    ):
        details = json.loads(event.details)
        if (1 if event.action == Action.DOCUMENT_UPLOADED else details.get("version")) != number:
            continue
        text = details.get("fingerprint") or ("sha256:" + str(details["sha256"]) if "sha256" in details else "")
        found.append((event, text))
    return found


def _fingerprint_checks(keyring: Keyring, events: list[tuple[AuditEvent, str]]) -> list[tuple[AuditEvent, Digest, str]]:
    """A digest to feed the file through, and the value it must give, for each logged fingerprint this keyring can
    still make (those of a retired key cannot be checked; a later event fingerprinted the file again)."""
    checks = []
    for event, text in events:
        try:
            key_id, _hex = fingerprint.parse(text)
            if key_id is not None and key_id not in keyring.key_ids:
                continue
            fingerprinter, expected = fingerprint.checker(keyring, text)
        except IntegrityError:  # an unreadable fingerprint in the log: no file matches it
            fingerprinter, expected = fingerprint.Fingerprinter(None, None), "unreadable"
        checks.append((event, fingerprinter.new(), expected))
    return checks
