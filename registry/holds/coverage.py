"""Which documents the active legal holds cover, and the store's legal hold on their objects.

A hold on a document covers it; on a person, every document linked to that person; on a case, every document
linked to a person of the case. Coverage is worked out from the rows each time, never copied: a document
uploaded later for a held person, or a person added later to a held case, is covered at once.

The store's hold (S3 Object Lock legal hold) follows the registry's: turned on after the transaction that made
an object held commits, turned off only when no active hold covers the object any more. Where the store has no
legal hold (a folder, a bucket without Object Lock) the registry's own hold is all there is.
The documents and cases services call this module; it calls no service.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from registry.cases.models import CasePerson
from registry.db import on_commit
from registry.documents.models import Document, DocumentPerson, DocumentVersion, StoredObject
from registry.holds.models import HoldTarget, LegalHold
from storage import EncryptedStore, LockUnsupported, ObjectNotFound, ObjectStore, StorageError

log = logging.getLogger("registry.holds")
ACTIVE = LegalHold.lifted_at.is_(None)


def held_documents() -> sa.CompoundSelect:
    """A select of the ids of every document an active hold covers (directly, through a person, a case)."""
    direct = sa.select(LegalHold.target_id.label("document_id")).where(
        ACTIVE, LegalHold.target_type == HoldTarget.DOCUMENT
    )
    by_person = (
        sa.select(DocumentPerson.document_id)
        .join(
            LegalHold,
            sa.and_(LegalHold.target_type == HoldTarget.PERSON, LegalHold.target_id == DocumentPerson.person_id),
        )
        .where(ACTIVE)
    )
    by_case = (
        sa.select(DocumentPerson.document_id)
        .join(CasePerson, CasePerson.person_id == DocumentPerson.person_id)
        .join(LegalHold, sa.and_(LegalHold.target_type == HoldTarget.CASE, LegalHold.target_id == CasePerson.case_id))
        .where(ACTIVE)
    )
    return sa.union(direct, by_person, by_case)


def held_document_ids(db: Session) -> set[str]:
    return set(db.scalars(held_documents()))


def holds_on_document(db: Session, document_id: str) -> list[LegalHold]:
    """The active holds that cover one document, oldest first."""
    persons = sa.select(DocumentPerson.person_id).where(DocumentPerson.document_id == document_id)
    cases_ = sa.select(CasePerson.case_id).where(CasePerson.person_id.in_(persons))
    return list(
        db.scalars(
            sa.select(LegalHold)
            .where(
                ACTIVE,
                sa.or_(
                    sa.and_(LegalHold.target_type == HoldTarget.DOCUMENT, LegalHold.target_id == document_id),
                    sa.and_(LegalHold.target_type == HoldTarget.PERSON, LegalHold.target_id.in_(persons)),
                    sa.and_(LegalHold.target_type == HoldTarget.CASE, LegalHold.target_id.in_(cases_)),
                ),
            )
            .order_by(LegalHold.placed_at)
        )
    )


def documents_covered(db: Session, hold: LegalHold) -> list[str]:
    """The documents this hold covers (whether it is still active or not)."""
    if hold.target_type == HoldTarget.DOCUMENT:
        query = sa.select(Document.id).where(Document.id == hold.target_id)
    elif hold.target_type == HoldTarget.PERSON:
        query = sa.select(DocumentPerson.document_id).where(DocumentPerson.person_id == hold.target_id)
    else:
        query = (
            sa.select(DocumentPerson.document_id)
            .join(CasePerson, CasePerson.person_id == DocumentPerson.person_id)
            .where(CasePerson.case_id == hold.target_id)
        )
    return sorted(set(db.scalars(query)))


def documents_of_persons(db: Session, person_ids: Iterable[str]) -> list[str]:
    return sorted(
        set(db.scalars(sa.select(DocumentPerson.document_id).where(DocumentPerson.person_id.in_(list(person_ids)))))
    )


def object_keys(db: Session, document_ids: Iterable[str]) -> dict[str, list[str]]:
    """Document id -> the keys of its stored objects not disposed of (each version's original and copy)."""
    ids = list(document_ids)
    found: dict[str, list[str]] = {i: [] for i in ids}
    if not ids:
        return found
    for column in (DocumentVersion.original_id, DocumentVersion.viewing_id):
        rows = db.execute(
            sa.select(DocumentVersion.document_id, StoredObject.key)
            .join(StoredObject, StoredObject.id == column)
            .where(DocumentVersion.document_id.in_(ids), StoredObject.disposed_at.is_(None))
        )
        for document_id, key in rows:
            found[document_id].append(key)
    return found


def held_object_keys(db: Session) -> list[str]:
    """Every object the store should hold now (after a restore, or to repair a hold the store missed)."""
    return sorted(k for keys in object_keys(db, held_document_ids(db)).values() for k in keys)


def sync_store_holds(
    db: Session, store: EncryptedStore | ObjectStore, document_ids: Iterable[str], *, release: bool = False
) -> None:
    """Once the transaction commits: the store's hold on for each covered document's objects and, with
    ``release``, off for those no active hold covers any more (decided now, inside the transaction)."""
    ids = sorted(set(document_ids))
    if not ids:
        return
    held = held_document_ids(db) & set(ids)
    keys = object_keys(db, ids)
    wanted = [
        (key, document_id in held) for document_id in ids for key in keys[document_id] if release or document_id in held
    ]
    if wanted:
        on_commit(db, lambda: apply_store_holds(store, wanted))


def apply_store_holds(store: EncryptedStore | ObjectStore, wanted: list[tuple[str, bool]]) -> int:
    """Set each object's store hold as wanted; returns how many were set. A store without legal holds
    is skipped quietly; a failure is logged (``registry retention run`` sets every hold again)."""
    if not wanted or not store.supports_legal_hold():
        return 0
    done = 0
    for key, on in wanted:
        try:
            store.set_legal_hold(key, on)
            done += 1
        except (LockUnsupported, ObjectNotFound) as exc:
            log.warning("legal hold %s on %s: %s", "on" if on else "off", key, exc)
        except StorageError:
            log.exception(
                "could not turn the store's legal hold %s on %s; `registry retention run` retries",
                "on" if on else "off",
                key,
            )
    return done
