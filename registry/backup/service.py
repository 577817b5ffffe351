"""Backups to a second place, their verification, and a restore into an empty deployment.

A backup dumps the database first, in one snapshot, then copies the objects that
dump names (objects written later are simply not in it), as they are stored: still
encrypted, with the metadata that holds their wrapped data keys. The dump itself is
stored encrypted under the master keyring: personal data never reaches the second
place in plaintext. The keys are never in a backup (``registry keys export``).
Objects already in the destination's pool with the same key and stored SHA-256 are
not copied again; each object is still read and hashed, so the manifest states
what the source held at backup time, not what an earlier backup once saw.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata as package_metadata
from pathlib import Path
from typing import Any, Protocol

import sqlalchemy as sa

from registry.audit.checkpoints import PREFIX as CHECKPOINTS
from registry.audit.checkpoints import RETENTION, checkpoint_key, published_key
from registry.audit.events import format_time
from registry.backup import database
from registry.backup.manifest import (
    DATABASE,
    FORMAT,
    MANIFEST,
    MANIFEST_CONTEXT,
    POOL,
    PUBLIC_KEY,
    SIGNATURE,
    SignedManifest,
    backup_names,
    member,
    pool_index,
    sign,
    signature_valid,
)
from registry.db import utcnow
from registry.kinship.verify import fingerprint, load_public_key
from registry.runtime import Runtime
from storage import EncryptedStore, FilesystemStore, IntegrityError, ObjectNotFound, ObjectStore
from storage.copy import HashingReader, HashingStore, StoredDigest, copy_object, hash_object
from storage.factory import open_store

DUMP_CONTEXT = "backup database dump"
WORKERS = 4
_CHECKPOINT = re.compile(re.escape(CHECKPOINTS) + r"(\d{20})\.json")


class BackupError(Exception):
    """A backup, a verification or a restore cannot go on; the message says why and what to do."""


class Progress(Protocol):
    def begin(self, label: str, total: int) -> None: ...
    def advance(self, count: int) -> None: ...
    def end(self) -> None: ...


class _Silent:
    def begin(self, label: str, total: int) -> None:
        pass

    def advance(self, count: int) -> None:
        pass

    def end(self) -> None:
        pass


SILENT: Progress = _Silent()


def open_destination(text: str) -> ObjectStore:
    """A folder (plain path or file:///path) or a bucket (s3://bucket?..., as REGISTRY_STORAGE_URL)."""
    if text.startswith(("file:", "s3:")):
        try:
            return open_store(text)
        except ValueError as exc:
            raise BackupError(str(exc)) from None
    return FilesystemStore(Path(text))


def registry_version() -> str:
    try:
        return package_metadata.version("kinship-registry")
    except package_metadata.PackageNotFoundError:
        return "unknown"


@contextmanager
def _private_folder(runtime: Runtime) -> Iterator[Path]:
    """A folder only this process's user can enter, beside the deployment, for the plaintext dump."""
    parent = Path(runtime.settings.instance_path)
    parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    folder = Path(tempfile.mkdtemp(prefix="backup-", dir=parent))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _parallel(items: list[Any], work: Callable[[Any], Any], progress: Progress, label: str) -> list[Any]:
    """``work`` on every item on a few threads (object stores answer faster in parallel), in order."""
    progress.begin(label, len(items))
    try:
        with ThreadPoolExecutor(WORKERS, thread_name_prefix="backup") as pool:
            results = []
            for result in pool.map(work, items):
                results.append(result)
                progress.advance(1)
            return results
    finally:
        progress.end()


# ---------------------------------------------------------------- backup


@dataclass
class BackupSummary:
    name: str
    objects: int = 0
    copied: int = 0
    copied_bytes: int = 0
    stored_bytes: int = 0
    database_bytes: int = 0
    seconds: float = 0.0
    manifest_sha256: str = ""
    fingerprint: str = ""
    changed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Copied:
    entry: dict[str, Any] | None
    copied: bool
    changed: bool = False
    missing: str = ""


def _new_name(destination: ObjectStore, now: datetime) -> str:
    base = now.strftime("%Y%m%dT%H%M%SZ")
    taken = set(backup_names(destination))
    name, number = base, 1
    while name in taken or destination.exists(member(name, DATABASE)):
        name, number = f"{base}-{number}", number + 1
    return name


def _checkpoints_up_to(store: ObjectStore, seq: int) -> list[str]:
    """Checkpoints of events the dump holds: a later one would name events a restore does not have."""
    found = []
    for key in store.iter_keys(CHECKPOINTS):
        match = _CHECKPOINT.fullmatch(key)
        if match and int(match.group(1)) <= seq and key == checkpoint_key(int(match.group(1))):
            found.append(key)
    return sorted(found)


def _entry(key: str, pool_key: str, digest: StoredDigest, metadata: dict[str, str]) -> dict[str, Any]:
    return {"key": key, "pool_key": pool_key, "sha256": digest.sha256, "size": digest.size, "metadata": metadata}


def _copy_one(source: ObjectStore, destination: ObjectStore, known: dict[str, tuple[str, int]], key: str) -> _Copied:
    try:
        metadata = source.metadata(key)
        pool_key = POOL + key
        if pool_key not in known:
            digest = copy_object(source, key, destination, pool_key, metadata=metadata)
            return _Copied(_entry(key, pool_key, digest, metadata), copied=True)
        digest = hash_object(source, key)
        if (digest.sha256, digest.size) == known[pool_key]:
            return _Copied(_entry(key, pool_key, digest, metadata), copied=False)
        # Object keys are written once: other bytes under the same key mean the store was altered or damaged.
        # The earlier copy stays for the backups that name it; these bytes are kept beside it.
        variant = f"{pool_key}.{digest.sha256}"
        if known.get(variant) == (digest.sha256, digest.size):
            return _Copied(_entry(key, variant, digest, metadata), copied=False, changed=True)
        digest = copy_object(source, key, destination, variant, metadata=metadata)
        return _Copied(_entry(key, variant, digest, metadata), copied=True, changed=True)
    except ObjectNotFound:
        return _Copied(None, copied=False, missing=key)


def _store_dump(runtime: Runtime, destination: ObjectStore, name: str, snapshot: database.Snapshot) -> dict[str, Any]:
    key = member(name, DATABASE)
    hashing = HashingStore(destination)
    with open(snapshot.path, "rb") as fh:
        info = EncryptedStore(hashing, runtime.keyring).put(  # type: ignore[arg-type]
            key, fh, length=snapshot.path.stat().st_size, context=DUMP_CONTEXT
        )
    stored = hashing.stored[key]
    return {
        "key": key,
        "kind": snapshot.kind,
        "format": database.FORMATS[snapshot.kind],
        "sha256": stored.sha256,
        "size": stored.size,
        "plaintext_fingerprint": info.fingerprint,
        "plaintext_size": info.size,
        "key_id": info.key_id,
        "wrapped_key": info.wrapped_key,
        "schema_revision": snapshot.schema_revision,
        "audit_head": {"seq": snapshot.audit_seq, "hash": snapshot.audit_hash},
    }


def backup(runtime: Runtime, destination: ObjectStore, *, progress: Progress = SILENT) -> BackupSummary:
    """Dump, copy what the dump names, write the signed manifest last."""
    started = time.monotonic()
    destination.ensure_container()
    destination.health()
    public = published_key(runtime.audit_key.public_key())
    known = pool_index(destination, runtime.audit_key.public_key())
    created = utcnow()
    summary = BackupSummary(_new_name(destination, created), fingerprint=public.fingerprint)
    with _private_folder(runtime) as folder, database.dumped(runtime.engine, folder) as snapshot:
        keys = list(snapshot.object_keys) + _checkpoints_up_to(runtime.raw_store, snapshot.audit_seq)
        results = _parallel(
            keys, lambda key: _copy_one(runtime.raw_store, destination, known, key), progress, "Copying objects"
        )
        dump = _store_dump(runtime, destination, summary.name, snapshot)
    entries = [r.entry for r in results if r.entry is not None]
    summary.objects = len(entries)
    summary.copied = sum(r.copied for r in results)
    summary.copied_bytes = sum(r.entry["size"] for r in results if r.copied and r.entry)
    summary.stored_bytes = sum(e["size"] for e in entries)
    summary.changed = [r.entry["key"] for r in results if r.changed and r.entry]
    summary.missing = [r.missing for r in results if r.missing]
    summary.database_bytes = dump["size"]
    manifest = {
        "format": FORMAT,
        "name": summary.name,
        "registry_version": registry_version(),
        "created_at": format_time(created),
        "finished_at": format_time(utcnow()),
        "database": dump,
        "objects": entries,
        "missing": summary.missing,
        "changed": summary.changed,
        "totals": {
            "objects": summary.objects,
            "bytes": summary.stored_bytes,
            "copied": summary.copied,
            "copied_bytes": summary.copied_bytes,
        },
        "signing": {
            "algorithm": "Ed25519",
            "key_id": public.key_id,
            "fingerprint_sha256": public.fingerprint,
            "context": MANIFEST_CONTEXT.decode(),
            "signed_file": MANIFEST,
        },
    }
    body, signature = sign(manifest, runtime.audit_key)
    for part, data in ((PUBLIC_KEY, public.pem.encode()), (SIGNATURE, signature), (MANIFEST, body)):
        _put_bytes(destination, member(summary.name, part), data)
    summary.manifest_sha256 = hashlib.sha256(body).hexdigest()
    summary.seconds = time.monotonic() - started
    return summary


def _put_bytes(store: ObjectStore, key: str, data: bytes) -> None:
    store.put(key, io.BytesIO(data), length=len(data), metadata={"kind": "backup"})


# ---------------------------------------------------------------- verification


@dataclass
class VerifyReport:
    name: str
    objects_checked: int = 0
    key_id: str = ""
    fingerprint: str = ""
    pinned: bool = False
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.pinned and not self.problems


def chosen_backup(store: ObjectStore, name: str | None) -> str:
    names = backup_names(store)
    if not names:
        raise BackupError("no backup was found there (no backups/<name>/manifest.json)")
    if name is None:
        return names[-1]
    if name not in names:
        raise BackupError(f"there is no backup named {name!r}; there are: {', '.join(names)}")
    return name


def _read_signed(store: ObjectStore, name: str) -> SignedManifest:
    try:
        return SignedManifest.read(store, name)
    except ObjectNotFound as exc:
        raise BackupError(f"backup {name} is incomplete: {exc}") from None


def _check_stored(store: ObjectStore, entry: dict[str, Any], key_field: str) -> str | None:
    """None if the stored bytes are the ones the manifest names, else what is wrong."""
    key = entry[key_field]
    try:
        digest = hash_object(store, key)
    except ObjectNotFound:
        return f"MISSING {key}"
    if digest.sha256 != entry["sha256"] or digest.size != entry["size"]:
        return (
            f"ALTERED {key}: SHA-256 {digest.sha256}, {digest.size} bytes; the manifest says {entry['sha256']}, "
            f"{entry['size']} bytes"
        )
    return None


def verify(
    store: ObjectStore, name: str | None, *, pinned_fingerprint: str | None, progress: Progress = SILENT
) -> VerifyReport:
    """Re-read every object and the dump, check each stored SHA-256 and the manifest's signature."""
    report = VerifyReport(chosen_backup(store, name))
    signed = _read_signed(store, report.name)
    try:
        public = load_public_key(signed.public_pem)
    except ValueError:
        report.problems.append(f"{PUBLIC_KEY} is not an Ed25519 public key")
        return report
    report.fingerprint = fingerprint(public)
    report.key_id = published_key(public).key_id
    report.pinned = pinned_fingerprint is not None and report.fingerprint == pinned_fingerprint
    if pinned_fingerprint is not None and not report.pinned:
        report.problems.append(
            f"the manifest is signed by key {report.fingerprint}, not by the pinned key {pinned_fingerprint}"
        )
    if not signature_valid(signed.body, signed.signature, public):
        report.problems.append(f"{MANIFEST} does not match its signature: the manifest was altered")
    try:
        manifest = signed.content()
        entries = [manifest["database"], *manifest["objects"]]
        keys = ["key"] + ["pool_key"] * len(manifest["objects"])
    except (ValueError, KeyError, TypeError):
        report.problems.append(f"{MANIFEST} is not a backup manifest")
        return report
    found = _parallel(
        list(zip(entries, keys, strict=False)), lambda pair: _check_stored(store, *pair), progress, "Checking objects"
    )
    report.objects_checked = len(found)
    report.problems += [problem for problem in found if problem]
    return report


# ---------------------------------------------------------------- restore


@dataclass
class RestoreSummary:
    name: str
    objects: int = 0
    bytes: int = 0
    created_at: str = ""
    registry_version: str = ""
    locked: int = 0


def refuse_if_not_empty(runtime: Runtime) -> None:
    held = database.holds_content(runtime.engine)
    if held:
        counts = ", ".join(f"{count} {table.replace('_', ' ')}" for table, count in sorted(held.items()))
        raise BackupError(
            f"this deployment is not empty ({counts}): a backup is restored only into an empty "
            "database (a new one, never `registry init`-ed), so that two registries are never mixed"
        )


def _restore_one(source: ObjectStore, target: ObjectStore, entry: dict[str, Any]) -> int:
    key = entry["key"]
    try:
        with source.open(entry["pool_key"]) as raw:
            reader = HashingReader(raw)
            target.put(key, reader, metadata=dict(entry["metadata"]))  # type: ignore[arg-type]
    except ObjectNotFound:
        raise BackupError(f"the backup lacks {entry['pool_key']}: run `registry backup verify`") from None
    if reader.digest != StoredDigest(entry["sha256"], entry["size"]):
        target.delete(key)
        raise BackupError(
            f"{entry['pool_key']} in the backup is not what its manifest says (SHA-256 "
            f"{reader.digest.sha256}): run `registry backup verify`"
        )
    return reader.digest.size


def _dump_fingerprint(dump: dict[str, Any]) -> str:
    """Backups made before keyed fingerprints name the dump's plain SHA-256."""
    return dump["plaintext_fingerprint"] if "plaintext_fingerprint" in dump else "sha256:" + dump["plaintext_sha256"]


def _load_dump(runtime: Runtime, source: ObjectStore, dump: dict[str, Any], folder: Path) -> None:
    if hash_object(source, dump["key"]) != StoredDigest(dump["sha256"], dump["size"]):
        raise BackupError("the backup's database dump is not what its manifest says: run `registry backup verify`")
    path = folder / "database"
    try:
        with (
            EncryptedStore(source, runtime.keyring).open(
                dump["key"],
                key_id=dump["key_id"],
                wrapped_key=dump["wrapped_key"],
                expected_fingerprint=_dump_fingerprint(dump),
                context=DUMP_CONTEXT,
            ) as plain,
            open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as out,
        ):
            shutil.copyfileobj(plain, out, 1024 * 1024)
    except IntegrityError as exc:
        raise BackupError(f"the database dump does not decrypt and verify: {exc}") from None
    try:
        database.load(runtime.engine, dump["kind"], path)
    except database.DatabaseToolError as exc:
        raise BackupError(str(exc)) from None
    from registry.migrate import upgrade

    upgrade(runtime.engine)  # a backup of an earlier release is brought up to this one's schema


def _lock_again(runtime: Runtime, checkpoints: list[str]) -> int:
    """Objects that were under retention (WORM) in the registry are locked again where the store can, and
    objects under an active legal hold get the store's legal hold again."""
    store = runtime.raw_store
    if not store.supports_lock():
        return 0
    from registry.documents.models import StoredObject
    from registry.holds import coverage

    now = datetime.now(UTC)
    with runtime.sessions() as db:
        locks = [
            (o.key, o.locked_until)
            for o in db.scalars(
                sa.select(StoredObject).where(
                    StoredObject.locked_until.is_not(None), StoredObject.disposed_at.is_(None)
                )
            )
        ]
        held = coverage.held_object_keys(db)
    locks = [(key, until) for key, until in locks if until > now]
    locks += [(key, now + RETENTION) for key in checkpoints]
    for key, until in locks:
        store.lock(key, until)
    coverage.apply_store_holds(store, [(key, True) for key in held])
    return len(locks)


def restore(runtime: Runtime, source: ObjectStore, name: str | None, *, progress: Progress = SILENT) -> RestoreSummary:
    """Objects first, the database last: a restore that fails part-way leaves the deployment empty, to retry.

    The backup must be signed by this deployment's audit key (imported with ``registry keys import``).
    """
    refuse_if_not_empty(runtime)
    summary = RestoreSummary(chosen_backup(source, name))
    signed = _read_signed(source, summary.name)
    if not signature_valid(signed.body, signed.signature, runtime.audit_key.public_key()):
        raise BackupError(
            f"backup {summary.name} is not signed by this deployment's audit key: its manifest was "
            "altered, or the keys of the registry it came from were not imported "
            "(registry keys import)"
        )
    manifest = signed.content()
    summary.created_at, summary.registry_version = manifest["created_at"], manifest["registry_version"]
    runtime.raw_store.ensure_container()
    sizes = _parallel(
        manifest["objects"], lambda entry: _restore_one(source, runtime.raw_store, entry), progress, "Restoring objects"
    )
    summary.objects, summary.bytes = len(sizes), sum(sizes)
    with _private_folder(runtime) as folder:
        _load_dump(runtime, source, manifest["database"], folder)
    summary.locked = _lock_again(runtime, [e["key"] for e in manifest["objects"] if e["key"].startswith(CHECKPOINTS)])
    return summary


# ---------------------------------------------------------------- the checks a restore ends with


def audit_check(runtime: Runtime, made_at: str):
    """``registry audit verify``: the restored access log against its restored signed checkpoints, as of the
    moment the backup was made (its last events were witnessed then, not at the restore)."""
    from registry.audit.verify import verify_log

    moment = datetime.strptime(made_at, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    return verify_log(
        runtime.engine,
        runtime.raw_store,
        runtime.audit_key.public_key(),
        witness_seconds=runtime.settings.audit_witness_seconds,
        now=moment,
    )


def scrub_check(runtime: Runtime):
    """``registry storage scrub``: every restored object decrypted and checked against the database."""
    from registry.documents.scrub import scrub

    with runtime.sessions() as db:
        return scrub(db, runtime.store, runtime.raw_store)
