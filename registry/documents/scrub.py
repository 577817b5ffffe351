"""Storage housekeeping: re-read and verify every object; rewrap data keys after a key rotation."""
from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from registry.documents.models import StoredObject
from storage import EncryptedStore, IntegrityError, ObjectNotFound, ObjectStore

OBJECT_PREFIX = "objects/"


@dataclass
class ScrubReport:
    checked: int = 0
    missing: list[str] = field(default_factory=list)
    corrupt: list[str] = field(default_factory=list)
    orphans: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.corrupt or self.orphans)

    def lines(self) -> list[str]:
        return ([f"MISSING {k}" for k in self.missing] + [f"CORRUPT {k}" for k in self.corrupt]
                + [f"ORPHAN  {k}" for k in self.orphans])


def scrub(db: Session, store: EncryptedStore, raw: ObjectStore) -> ScrubReport:
    """Every object is decrypted in full and its SHA-256 compared with the database."""
    report = ScrubReport()
    known: set[str] = set()
    for obj in db.scalars(sa.select(StoredObject).order_by(StoredObject.key)):
        known.add(obj.key)
        report.checked += 1
        try:
            with store.open(obj.key, key_id=obj.key_id, wrapped_key=obj.wrapped_key,
                            expected_sha256=obj.sha256) as fh:
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
    for obj in db.scalars(sa.select(StoredObject)):
        obj.key_id, obj.wrapped_key = store.rewrap(obj.key, obj.key_id, obj.wrapped_key)
        count += 1
    return count
