"""Storage housekeeping: re-read and verify every object; rewrap data keys and fingerprint originals again
after a key rotation; re-encrypt every object under new data keys after a master key leaked."""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from registry.audit.events import Action
from registry.audit.service import SYSTEM, record
from registry.db import on_commit, on_rollback
from registry.documents.binding import contexts
from registry.documents.models import DocumentVersion, StoredObject
from registry.holds import coverage
from storage import EncryptedStore, IntegrityError, ObjectNotFound, ObjectStore, StorageError, fingerprint

OBJECT_PREFIX = "objects/"


LIVE = StoredObject.disposed_at.is_(None)  # a disposed object's bytes are gone on purpose: nothing reads them


@dataclass
class ScrubReport:
    checked: int = 0
    missing: list[str] = field(default_factory=list)
    corrupt: list[str] = field(default_factory=list)
    orphans: list[str] = field(default_factory=list)
    disposed: int = 0
    # Disposed of, yet still in the store (its deletion was refused or interrupted): `registry retention run`.
    leftovers: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.corrupt or self.orphans)

    def lines(self) -> list[str]:
        return (
            [f"MISSING {k}" for k in self.missing]
            + [f"CORRUPT {k}" for k in self.corrupt]
            + [f"ORPHAN  {k}" for k in self.orphans]
            + [f"DISPOSED-BUT-STORED {k} (run `registry retention run` to delete it)" for k in self.leftovers]
        )


def scrub(db: Session, store: EncryptedStore, raw: ObjectStore) -> ScrubReport:
    """Every object is decrypted in full and its fingerprint compared with the database. Objects whose files
    an approved disposal deleted are not missing: they are counted apart (and named if still stored)."""
    report = ScrubReport()
    known: set[str] = set()
    bound = contexts(db)
    for obj in db.scalars(sa.select(StoredObject).order_by(StoredObject.key)):
        known.add(obj.key)
        if obj.disposed_at is not None:
            report.disposed += 1
            if raw.exists(obj.key):
                report.leftovers.append(obj.key)
            continue
        report.checked += 1
        try:
            for context in bound.get(obj.id, [""]):  # an object two records claim must be both: one is lying
                with store.open(
                    obj.key,
                    key_id=obj.key_id,
                    wrapped_key=obj.wrapped_key,
                    expected_fingerprint=obj.fingerprint,
                    context=context,
                ) as fh:
                    while fh.read(1024 * 1024):
                        pass
        except ObjectNotFound:
            report.missing.append(obj.key)
        except IntegrityError:
            report.corrupt.append(obj.key)
    report.orphans = sorted(k for k in raw.iter_keys(OBJECT_PREFIX) if k not in known)
    return report


def rewrap_all(db: Session, store: EncryptedStore) -> int:
    """Rewrap each data key under the current master key, in the row and in the object's metadata."""
    count = 0
    bound = contexts(db)
    for obj in db.scalars(sa.select(StoredObject).where(LIVE)):
        obj.key_id, obj.wrapped_key = store.rewrap(
            obj.key, obj.key_id, obj.wrapped_key, context=bound.get(obj.id, [""])[0]
        )
        count += 1
    return count


def master_keys_in_use(db: Session) -> Counter[str]:
    """Master key id -> how many data keys it still wraps (a key in use cannot be retired)."""
    rows = db.execute(sa.select(StoredObject.key_id, sa.func.count()).where(LIVE).group_by(StoredObject.key_id))
    return Counter({row[0]: row[1] for row in rows})


def fingerprints_by_key(db: Session) -> Counter[str]:
    """Master key id -> how many object fingerprints were made with it ("" counts plain SHA-256 fingerprints
    from before keyed ones): a key still fingerprinting objects cannot be retired."""
    return Counter(
        fingerprint.key_id_of(text) or "" for text in db.scalars(sa.select(StoredObject.fingerprint).where(LIVE))
    )


def refingerprint_all(db: Session, store: EncryptedStore) -> int:
    """Fingerprint again, under the current master key, every object fingerprinted under another key or with a
    plain SHA-256; each read is checked against the old fingerprint on the way. Returns how many changed."""
    bound = contexts(db)
    current = store.keyring.current_key_id
    count = 0
    for obj in db.scalars(sa.select(StoredObject).where(LIVE).order_by(StoredObject.key)):
        if fingerprint.key_id_of(obj.fingerprint) == current:
            continue
        _fingerprinted_again(
            db,
            obj,
            store.refingerprint(
                obj.key,
                key_id=obj.key_id,
                wrapped_key=obj.wrapped_key,
                old_fingerprint=obj.fingerprint,
                context=bound.get(obj.id, [""])[0],
            ),
        )
        count += 1
    return count


def _fingerprinted_again(db: Session, obj: StoredObject, new: str) -> None:
    """An original's new fingerprint is logged: a court bundle checks each file against the log, and the
    upload event's fingerprint cannot be checked once the key it was made with is retired."""
    if new == obj.fingerprint:
        return
    obj.fingerprint = new
    for version in db.scalars(sa.select(DocumentVersion).where(DocumentVersion.original_id == obj.id)):
        record(
            db,
            SYSTEM,
            Action.DOCUMENT_REFINGERPRINTED,
            target_type="document",
            target_id=version.document_id,
            person_ids=version.document.person_ids,
            details={"version": version.number, "fingerprint": new},
        )


def reencrypt_all(db: Session, store: EncryptedStore) -> tuple[int, list[str]]:
    """After a master key leaked: every object decrypted and stored again as a new object under a fresh data
    key wrapped by the current master key, the row pointed at it. Rewrapping is not enough there: whoever
    holds the old key and an old wrapped key (an earlier object version, a backup) still has the data key.

    Old objects are deleted once the database points at the new ones; a locked original stays until its
    lock ends (the returned list, filled when the transaction commits). Locks are carried to the new objects;
    if the transaction rolls back, the new objects are deleted instead.
    """
    bound = contexts(db)
    replaced: list[str] = []
    held = set(coverage.held_object_keys(db))
    for obj in db.scalars(sa.select(StoredObject).where(LIVE).order_by(StoredObject.key)):
        context = bound.get(obj.id, [""])[0]
        new_key = f"objects/{uuid.uuid4()}"
        # The reader checks the old fingerprint at the end of the plaintext, before the put completes.
        with store.open(
            obj.key,
            key_id=obj.key_id,
            wrapped_key=obj.wrapped_key,
            expected_fingerprint=obj.fingerprint,
            context=context,
        ) as plaintext:
            info = store.put(new_key, plaintext, length=obj.size, context=context)
        _fingerprinted_again(db, obj, info.fingerprint)
        if obj.locked_until is not None and store.supports_lock():
            store.lock(new_key, obj.locked_until)
        if obj.key in held:  # the new object is held like the old (which stays until the hold is lifted)
            coverage.apply_store_holds(store, [(new_key, True)])
        replaced.append(obj.key)
        on_rollback(db, lambda key=new_key: store.delete(key))
        obj.key, obj.key_id, obj.wrapped_key = new_key, info.key_id, info.wrapped_key
    still_locked: list[str] = []

    def delete_old() -> None:
        for key in replaced:
            try:
                store.delete(key)
            except StorageError:
                still_locked.append(key)

    on_commit(db, delete_old)
    return len(replaced), still_locked
