"""Signed checkpoints of the chain head, kept in object storage outside the database.

A database owner can rewrite the whole chain consistently; they cannot forge a
checkpoint signed with a key the database never held, nor unlock a WORM object.
Every event is witnessed within the witness interval while the service runs: a
commit signs the head when this process last signed longer ago than that, and
each server process's timer signs a head that grew since. Each checkpoint names
the one before it, so a deleted checkpoint leaves a gap that verify reports.

The same key signs court evidence bundles; each kind of signature covers its own context
line first, so a checkpoint signature never verifies as a bundle's, nor the other way round.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import stat
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from registry.audit.events import CHAIN_ID, canonical_json, format_time
from registry.audit.models import AuditChainHead
from registry.db import utcnow
from registry.settings import Settings, SettingsError
from storage import LockUnsupported, ObjectStore, ObjectVersion, StorageError

PREFIX = "audit/checkpoints/"
CHECKPOINT_CONTEXT = b"kinship-registry/audit-checkpoint/v1\n"
RETENTION = timedelta(days=365 * 10)
DEFAULT_WITNESS_SECONDS = Settings.audit_witness_seconds
log = logging.getLogger("registry.audit")


def load_signing_key(path: str, *, create: bool) -> Ed25519PrivateKey:
    key_path = Path(path)
    if not key_path.exists():
        if not create:
            raise FileNotFoundError(f"audit signing key {path} does not exist; run `registry init`")
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        key_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
        return key
    mode = key_path.stat().st_mode
    if mode & 0o077:  # like the master keyring: whoever reads this file can sign checkpoints and bundles
        raise SettingsError(
            f"audit signing key {path} is accessible by group or others "
            f"(mode {stat.S_IMODE(mode):04o}); run: chmod 600 {path}"
        )
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
    # The checkpoint before this one (0 and "": none), so that deleting one leaves a gap, and the interval
    # within which the registry promised the next. None: signed before checkpoints were chained.
    previous_seq: int | None = None
    previous_hash: str = ""
    witness_seconds: int | None = None

    def statement(self) -> bytes:
        """The exact bytes signed: the checkpoint context line, then the canonical JSON of the head."""
        signed: dict[str, object] = {
            "chain": CHAIN_ID,
            "seq": self.seq,
            "hash": self.hash,
            "at": self.at,
            "key_id": self.key_id,
        }
        if self.previous_seq is not None:
            signed |= {
                "previous_seq": self.previous_seq,
                "previous_hash": self.previous_hash,
                "witness_seconds": self.witness_seconds,
            }
        return CHECKPOINT_CONTEXT + canonical_json(signed)

    def to_json(self) -> bytes:
        return json.dumps({k: v for k, v in self.__dict__.items() if v is not None}, sort_keys=True).encode()

    @classmethod
    def from_json(cls, data: dict) -> Checkpoint:
        previous, witness = data.get("previous_seq"), data.get("witness_seconds")
        return cls(
            int(data["seq"]),
            str(data["hash"]),
            str(data["at"]),
            str(data["key_id"]),
            str(data["signature"]),
            None if previous is None else int(previous),
            str(data.get("previous_hash", "")),
            None if witness is None else int(witness),
        )

    def signed_at(self) -> datetime:
        return datetime.strptime(self.at, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def checkpoint_key(seq: int) -> str:
    return f"{PREFIX}{seq:020d}.json"


def write_checkpoint(
    sessions,
    store: ObjectStore,
    key: Ed25519PrivateKey,
    *,
    witness_seconds: int | None = None,
    now: datetime | None = None,
    after: int = 0,
) -> Checkpoint | None:
    """Sign the current head, chained to the newest checkpoint before it, and store it; locked (WORM) where
    the store can.

    ``witness_seconds``: the interval promised for the next checkpoint (default: the previous one's promise).
    ``after``: a checkpoint this process knows of, where the search for the previous one starts.
    """
    with sessions() as session:
        head = session.get(AuditChainHead, CHAIN_ID)
        if head is None or head.seq == 0:
            return None
        seq, digest = head.seq, head.hash
    public = key.public_key()
    previous = _previous(store, public, seq, after)
    if witness_seconds is None:
        witness_seconds = (previous and previous.witness_seconds) or DEFAULT_WITNESS_SECONDS
    unsigned = Checkpoint(
        seq,
        digest,
        format_time(now or utcnow()),
        public_key_id(public),
        "",
        previous.seq if previous else 0,
        previous.hash if previous else "",
        witness_seconds,
    )
    checkpoint = Checkpoint(
        **(unsigned.__dict__ | {"signature": base64.b64encode(key.sign(unsigned.statement())).decode()})
    )
    object_key = checkpoint_key(seq)
    body = checkpoint.to_json()
    store.put(object_key, BytesIO(body), length=len(body), metadata={"kind": "audit-checkpoint"})
    try:
        store.lock(object_key, datetime.now(UTC) + RETENTION)
    except LockUnsupported:
        pass
    return checkpoint


def _previous(store: ObjectStore, public: Ed25519PublicKey, below: int, after: int) -> Checkpoint | None:
    """The newest validly signed checkpoint before event ``below``.

    Looked for from ``after`` first, then in windows twice as wide each time going down: a few
    listing requests, however many checkpoints years of service have left in the store.
    """
    if after and (found := _newest_between(store, public, after, below)):
        return found
    stop, width = min(after, below) if after else below, 1
    while stop > 0:
        start = max(stop - width, 0)
        if found := _newest_between(store, public, start, stop):
            return found
        stop, width = start, width * 2
    return None


def _newest_between(store: ObjectStore, public: Ed25519PublicKey, start: int, stop: int) -> Checkpoint | None:
    """The newest validly signed checkpoint from event ``start`` up to, not including, event ``stop``."""
    keys, ceiling = [], checkpoint_key(stop)
    cursor = checkpoint_key(start - 1) if start > 0 else PREFIX
    while (found := store.next_key(PREFIX, cursor)) is not None and found < ceiling:
        keys.append(found)
        cursor = found
    for object_key in reversed(keys):
        checkpoint, _problem = _load(store, ObjectVersion(object_key, "", True, False), public)
        if checkpoint is not None:
            return checkpoint
    return None


def _load(store: ObjectStore, entry: ObjectVersion, public: Ed25519PublicKey) -> tuple[Checkpoint | None, str]:
    """The checkpoint stored in one object (version), or why it is none."""
    name = entry.key if entry.latest else f"{entry.key} (earlier version {entry.version_id})"
    try:
        with (
            store.open_version(entry.key, entry.version_id)
            if entry.version_id  # type: ignore[attr-defined]
            else store.open(entry.key)
        ) as fh:
            checkpoint = Checkpoint.from_json(json.loads(fh.read(64 * 1024)))
        public.verify(base64.b64decode(checkpoint.signature), checkpoint.statement())
    except (ValueError, KeyError, TypeError, InvalidSignature, json.JSONDecodeError):
        return None, f"checkpoint {name} is not validly signed by the registry's audit key"
    if entry.key != checkpoint_key(checkpoint.seq):
        return None, f"checkpoint {name} claims sequence {checkpoint.seq}"
    return checkpoint, ""


def read_checkpoints(store: ObjectStore, public: Ed25519PublicKey) -> tuple[list[Checkpoint], list[str]]:
    """All checkpoints with a valid signature, and a problem line for each that has none, for each
    deleted one and for each gap in their chain.

    Where the store keeps versions (S3), every version is read, those hidden behind a delete
    marker included: a plain delete hides nothing from verify, and is itself reported.
    """
    versions = getattr(store, "iter_versions", None)
    entries = (
        list(versions(PREFIX))
        if versions is not None
        else [ObjectVersion(key, "", True, False) for key in store.iter_keys(PREFIX)]
    )
    good: list[Checkpoint] = []
    problems: list[str] = []
    for entry in sorted(entries, key=lambda e: (e.key, not e.latest, e.version_id)):
        if entry.delete_marker:
            problems.append(
                f"checkpoint {entry.key} was deleted: a delete marker hides it from a listing "
                "(its stored versions are still checked)"
            )
            continue
        checkpoint, problem = _load(store, entry, public)
        if checkpoint is None:
            problems.append(problem)
        else:
            good.append(checkpoint)
    return good, problems + _chain_problems(good)


def _chain_problems(checkpoints: list[Checkpoint]) -> list[str]:
    """Each checkpoint must find the one it names as its previous: a missing one was deleted."""
    hashes: dict[int, set[str]] = {}
    for checkpoint in checkpoints:
        hashes.setdefault(checkpoint.seq, set()).add(checkpoint.hash)
    problems = [
        f"the checkpoints at event {seq} sign different hashes: the log was rewritten between them"
        for seq, signed in sorted(hashes.items())
        if len(signed) > 1
    ]
    missing: dict[int, int] = {}
    for checkpoint in sorted(checkpoints, key=lambda c: c.seq):
        previous = checkpoint.previous_seq
        if not previous:
            continue
        if previous not in hashes:
            missing.setdefault(previous, checkpoint.seq)
        elif checkpoint.previous_hash not in hashes[previous]:
            problems.append(
                f"the checkpoint at event {checkpoint.seq} follows a checkpoint at event {previous} "
                "that signed another hash: the log was rewritten between them"
            )
    problems += [
        f"gap in the checkpoint chain: the checkpoint at event {after} follows one at event {seq}, "
        "which is missing (deleted)"
        for seq, after in sorted(missing.items())
    ]
    return problems


class Witness:
    """What this process knows of the checkpoints it signed: whether a commit must sign now, and
    where the previous checkpoint is. Other processes sign too; not knowing of theirs costs at
    most an extra checkpoint, never a late one."""

    def __init__(self, interval_seconds: int, clock: Callable[[], datetime] = utcnow) -> None:
        self.interval_seconds = interval_seconds
        self.clock = clock
        self._last: Checkpoint | None = None
        self._signed_at: datetime | None = None

    @property
    def signed_at(self) -> datetime | None:
        """When this process last signed a checkpoint (None: not yet)."""
        return self._signed_at

    def due(self) -> bool:
        return self._signed_at is None or self.clock() - self._signed_at >= timedelta(seconds=self.interval_seconds)

    def sign(self, sessions, store: ObjectStore, key: Ed25519PrivateKey) -> Checkpoint | None:
        now = self.clock()
        checkpoint = write_checkpoint(
            sessions,
            store,
            key,
            witness_seconds=self.interval_seconds,
            now=now,
            after=self._last.seq if self._last else 0,
        )
        if checkpoint is not None:
            self._last, self._signed_at = checkpoint, now
        return checkpoint


def maybe_checkpoint(runtime, seqs: list[int]) -> None:
    """Called after each commit that wrote events: a checkpoint when this process last signed longer
    ago than the witness interval, and every N events."""
    every = runtime.settings.audit_checkpoint_every
    if not runtime.witness.due() and not any(s % every == 0 for s in seqs):
        return
    try:
        runtime.witness.sign(runtime.sessions, runtime.raw_store, runtime.audit_key)
    except (StorageError, OSError):
        log.exception("could not write an audit checkpoint; `registry audit checkpoint` will catch up")


def checkpoint_if_new(runtime) -> Checkpoint | None:
    """A checkpoint of the head unless one exists for it: every server process runs the timer below."""
    with runtime.sessions() as session:
        head = session.get(AuditChainHead, CHAIN_ID)
        if head is None or head.seq == 0 or runtime.raw_store.exists(checkpoint_key(head.seq)):
            return None
    return runtime.witness.sign(runtime.sessions, runtime.raw_store, runtime.audit_key)


class CheckpointTimer:
    """Signs a head that grew, every witness interval, so that no event of a quiet registry stays
    unwitnessed longer than that (a commit only signs when this process has not signed for as long)."""

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
