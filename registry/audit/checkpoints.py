"""Signed checkpoints of the chain head, kept in object storage outside the database.

A database owner can rewrite the whole chain consistently; they cannot forge a
checkpoint signed with a key the database never held, nor unlock a WORM object.

The same key signs court evidence bundles; each kind of signature covers its own context
line first, so a checkpoint signature never verifies as a bundle's, nor the other way round.
"""
from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from io import BytesIO
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from registry.audit.events import CHAIN_ID, canonical_json, format_time
from registry.audit.models import AuditChainHead
from registry.db import utcnow
from storage import LockUnsupported, ObjectStore, StorageError

PREFIX = "audit/checkpoints/"
CHECKPOINT_CONTEXT = b"kinship-registry/audit-checkpoint/v1\n"
RETENTION = timedelta(days=365 * 10)
log = logging.getLogger("registry.audit")


def load_signing_key(path: str, *, create: bool) -> Ed25519PrivateKey:
    key_path = Path(path)
    if not key_path.exists():
        if not create:
            raise FileNotFoundError(f"audit signing key {path} does not exist; run `registry init`")
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        key_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
        return key
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} is not an Ed25519 private key")
    return key


def public_key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@dataclass(frozen=True)
class PublishedKey:
    """The audit signing key as the registry publishes it, for courts to pin when they verify a bundle.

    The fingerprint is the SHA-256 of the key's DER form, the same as ``registry bundle verify`` prints
    and as ``openssl pkey -pubin -in KEY.pem -outform DER | sha256sum`` computes.
    """

    key_id: str
    fingerprint: str
    pem: str


def published_key(public: Ed25519PublicKey) -> PublishedKey:
    der = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    pem = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return PublishedKey(public_key_id(public), hashlib.sha256(der).hexdigest(), pem.decode())


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    hash: str
    at: str
    key_id: str
    signature: str

    def statement(self) -> bytes:
        """The exact bytes signed: the checkpoint context line, then the canonical JSON of the head."""
        return CHECKPOINT_CONTEXT + canonical_json({"chain": CHAIN_ID, "seq": self.seq, "hash": self.hash,
                                                    "at": self.at, "key_id": self.key_id})

    def to_json(self) -> bytes:
        return json.dumps(self.__dict__, sort_keys=True).encode()


def checkpoint_key(seq: int) -> str:
    return f"{PREFIX}{seq:020d}.json"


def write_checkpoint(sessions, store: ObjectStore, key: Ed25519PrivateKey) -> Checkpoint | None:
    """Sign the current head and store it; locked (WORM) where the store can."""
    with sessions() as session:
        head = session.get(AuditChainHead, CHAIN_ID)
        if head is None or head.seq == 0:
            return None
        seq, digest = head.seq, head.hash
    public = key.public_key()
    unsigned = Checkpoint(seq, digest, format_time(utcnow()), public_key_id(public), "")
    signature = base64.b64encode(key.sign(unsigned.statement())).decode()
    checkpoint = Checkpoint(seq, digest, unsigned.at, unsigned.key_id, signature)
    object_key = checkpoint_key(seq)
    body = checkpoint.to_json()
    store.put(object_key, BytesIO(body), length=len(body), metadata={"kind": "audit-checkpoint"})
    try:
        store.lock(object_key, datetime.now(timezone.utc) + RETENTION)
    except LockUnsupported:
        pass
    return checkpoint


def read_checkpoints(store: ObjectStore, public: Ed25519PublicKey) -> tuple[list[Checkpoint], list[str]]:
    """All checkpoints with a valid signature, and a problem line for each that has none."""
    good: list[Checkpoint] = []
    problems: list[str] = []
    for object_key in sorted(store.iter_keys(PREFIX)):
        try:
            with store.open(object_key) as fh:
                data = json.loads(fh.read(64 * 1024))
            checkpoint = Checkpoint(int(data["seq"]), str(data["hash"]), str(data["at"]), str(data["key_id"]),
                                    str(data["signature"]))
            public.verify(base64.b64decode(checkpoint.signature), checkpoint.statement())
        except (ValueError, KeyError, TypeError, InvalidSignature, json.JSONDecodeError):
            problems.append(f"checkpoint {object_key} is not validly signed by the registry's audit key")
            continue
        if object_key != checkpoint_key(checkpoint.seq):
            problems.append(f"checkpoint {object_key} claims sequence {checkpoint.seq}")
            continue
        good.append(checkpoint)
    return good, problems


def maybe_checkpoint(runtime, seqs: list[int]) -> None:
    """Called after each commit: every N events a checkpoint is written."""
    every = runtime.settings.audit_checkpoint_every
    if not any(s % every == 0 for s in seqs):
        return
    try:
        write_checkpoint(runtime.sessions, runtime.raw_store, runtime.audit_key)
    except (StorageError, OSError):
        log.exception("could not write an audit checkpoint; `registry audit checkpoint` will catch up")


def checkpoint_if_new(sessions, store: ObjectStore, key: Ed25519PrivateKey) -> Checkpoint | None:
    """A checkpoint of the head unless one exists for it: every server process runs the timer below."""
    with sessions() as session:
        head = session.get(AuditChainHead, CHAIN_ID)
        if head is None or head.seq == 0 or store.exists(checkpoint_key(head.seq)):
            return None
    return write_checkpoint(sessions, store, key)


class CheckpointTimer:
    """Signs the head every few minutes, so that a quiet registry (fewer than N events) is checkpointed too:
    a rewrite of the last hours' log would otherwise go unnoticed until the next thousand events."""

    def __init__(self, write: Callable[[], object], interval_seconds: float) -> None:
        self._write = write
        self._interval = interval_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="audit-checkpoint", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._write()
            except Exception:  # the database or the store is down: the next tick tries again
                log.exception("the timed audit checkpoint failed; next try in %s s", self._interval)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
