"""Merging two records of one person, and undoing it. Nothing is deleted.

The merged record stays, pointing to its survivor (``persons.merged_into_id``). What was attached to it moves
to the survivor: document links, kinship claims, case memberships, restoration requests, emergency accesses,
the persons tested in a genomic result; its names are copied onto the survivor (as further names, so search
finds the survivor by them). ``PersonMerge.moved`` lists exactly what moved, and undoing moves exactly that
back; anything attached to the survivor since stays with it. Access-log events are never rewritten: reports
resolve a person through the pointer (``registry.audit.reports``).

Service functions, no request: the caller checks the permission and logs the decision.
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from sqlalchemy.orm import Session

from registry.cases.models import CasePerson, EmergencyAccess
from registry.db import utcnow
from registry.documents.models import DocumentPerson
from registry.errors import Conflict
from registry.holds.models import HoldTarget, LegalHold
from registry.i18n import _
from registry.kinship.models import GenomicResult, Relationship
from registry.matching.keys import store_keys
from registry.matching.models import PersonMerge
from registry.persons.models import NameKind, Person, PersonName
from registry.persons.service import refresh_search_keys
from registry.restoration.models import RestorationRequest

MAX_NAMES = 30  # as a record may have (persons.service.clean_names)


def refuse_unless_mergeable(db: Session, survivor: Person, merged: Person) -> None:
    if survivor.id == merged.id:
        raise Conflict(str(_("A record cannot be merged with itself.")))
    if survivor.merged_into_id or merged.merged_into_id:
        raise Conflict(
            str(_("One of these records has already been merged into another: work on the record it was merged into."))
        )
    linked = db.scalar(
        sa.select(Relationship.id)
        .where(
            sa.or_(
                sa.and_(Relationship.person_id == survivor.id, Relationship.relative_id == merged.id),
                sa.and_(Relationship.person_id == merged.id, Relationship.relative_id == survivor.id),
            )
        )
        .limit(1)
    )
    if linked is not None:
        raise Conflict(
            str(
                _(
                    "A kinship claim links these two records: they cannot be one person. Withdraw the "
                    "claim first if it was recorded in error."
                )
            )
        )


def merge(db: Session, survivor: Person, merged: Person, *, reason: str, by: str | None) -> PersonMerge:
    """Move everything of ``merged`` to ``survivor`` and point ``merged`` at it; returns the undoable record."""
    refuse_unless_mergeable(db, survivor, merged)
    moved: dict[str, list] = {
        "names": [],
        "documents": [],
        "relationships": [],
        "cases": [],
        "restorations": [],
        "emergency": [],
        "genomic": [],
        "holds": [],
    }
    moved["names"] = _copy_names(db, survivor, merged)
    for document_id, role in db.execute(
        sa.select(DocumentPerson.document_id, DocumentPerson.role).where(DocumentPerson.person_id == merged.id)
    ).all():
        if _move_link(db, DocumentPerson, {"document_id": document_id, "role": role}, merged.id, survivor.id):
            moved["documents"].append([document_id, role])
    moved["relationships"] = _repoint(db, Relationship, ("person_id", "relative_id"), merged.id, survivor.id)
    for (case_id,) in db.execute(sa.select(CasePerson.case_id).where(CasePerson.person_id == merged.id)).all():
        if _move_link(db, CasePerson, {"case_id": case_id}, merged.id, survivor.id):
            moved["cases"].append(case_id)
    moved["restorations"] = _repoint(db, RestorationRequest, ("person_id", "mother_id"), merged.id, survivor.id)
    grants = list(db.scalars(sa.select(EmergencyAccess.id).where(EmergencyAccess.person_id == merged.id)))
    if grants:
        db.execute(sa.update(EmergencyAccess).where(EmergencyAccess.id.in_(grants)).values(person_id=survivor.id))
    moved["emergency"] = grants
    moved["genomic"] = _replace_tested(db, merged.id, survivor.id)
    # A legal hold on the merged record follows its documents: a merge must never leave held files disposable.
    holds = list(
        db.scalars(
            sa.select(LegalHold.id).where(LegalHold.target_type == HoldTarget.PERSON, LegalHold.target_id == merged.id)
        )
    )
    if holds:
        db.execute(sa.update(LegalHold).where(LegalHold.id.in_(holds)).values(target_id=survivor.id))
    moved["holds"] = holds
    merged.merged_into_id = survivor.id
    db.flush()
    store_keys(db, survivor)
    record = PersonMerge(
        survivor_id=survivor.id,
        merged_id=merged.id,
        reason=reason,
        merged_by_id=by,
        moved=json.dumps(moved, sort_keys=True),
    )
    db.add(record)
    db.flush()
    return record


def undo(db: Session, record: PersonMerge, *, reason: str, by: str | None) -> None:
    """Put back exactly what the merge moved (what still points at the survivor) and clear the pointer."""
    survivor, merged = db.get(Person, record.survivor_id), db.get(Person, record.merged_id)
    if record.undone_at is not None:
        raise Conflict(str(_("This merge has already been undone.")))
    if survivor.merged_into_id is not None:
        raise Conflict(str(_("The surviving record has since been merged into another: undo that merge first.")))
    moved = record.moved_rows
    copies = list(moved.get("names", []))
    if copies:
        db.execute(sa.delete(PersonName).where(PersonName.id.in_(copies), PersonName.person_id == survivor.id))
    for document_id, role in moved.get("documents", []):
        _move_link(db, DocumentPerson, {"document_id": document_id, "role": role}, survivor.id, merged.id)
    _point_back(db, Relationship, moved.get("relationships", []), survivor.id, merged.id)
    for case_id in moved.get("cases", []):
        _move_link(db, CasePerson, {"case_id": case_id}, survivor.id, merged.id)
    _point_back(db, RestorationRequest, moved.get("restorations", []), survivor.id, merged.id)
    for grant_id in moved.get("emergency", []):
        db.execute(
            sa.update(EmergencyAccess)
            .where(EmergencyAccess.id == grant_id, EmergencyAccess.person_id == survivor.id)
            .values(person_id=merged.id)
        )
    for document_id in moved.get("genomic", []):
        _replace_tested(db, survivor.id, merged.id, only=[document_id])
    for hold_id in moved.get("holds", []):
        db.execute(
            sa.update(LegalHold)
            .where(LegalHold.id == hold_id, LegalHold.target_id == survivor.id)
            .values(target_id=merged.id)
        )
    merged.merged_into_id = None
    record.undone_at, record.undone_by_id, record.undo_reason = utcnow(), by, reason
    db.flush()
    db.expire(survivor, ["names"])
    refresh_search_keys(db, survivor)
    store_keys(db, survivor)
    store_keys(db, merged)


def _repoint(db: Session, model, sides: tuple[str, ...], source: str, target: str) -> list[list[str]]:
    """Rows of ``model`` naming ``source`` on any of ``sides`` now name ``target``; returns [[row id, side]]."""
    moved = []
    for side in sides:
        column = getattr(model, side)
        ids = list(db.scalars(sa.select(model.id).where(column == source)))
        if ids:
            db.execute(sa.update(model).where(model.id.in_(ids)).values({side: target}))
        moved += [[i, side] for i in ids]
    return moved


def _point_back(db: Session, model, moved: list[list[str]], survivor: str, merged: str) -> None:
    """Undo ``_repoint``: each moved row that still names the survivor on its side names the merged record again."""
    for row_id, side in moved:
        db.execute(sa.update(model).where(model.id == row_id, getattr(model, side) == survivor).values({side: merged}))


def _move_link(db: Session, model, key: dict[str, str], source: str, target: str) -> bool:
    """Point one link row (key + person) from ``source`` to ``target``; False when ``target`` already has it."""
    exists = db.scalar(
        sa.select(model.person_id).where(model.person_id == target, *(getattr(model, k) == v for k, v in key.items()))
    )
    if exists is not None:
        return False
    result = db.execute(
        sa.update(model)
        .where(model.person_id == source, *(getattr(model, k) == v for k, v in key.items()))
        .values(person_id=target)
    )
    return bool(result.rowcount)


def _copy_names(db: Session, survivor: Person, merged: Person) -> list[str]:
    """The merged record's names, as further names of the survivor (those it does not already have)."""
    have = {(n.family_name, n.given_name, n.patronymic, n.script) for n in survivor.names}
    position = max((n.position for n in survivor.names), default=-1) + 1
    copies: list[PersonName] = []
    for name in merged.names:
        key = (name.family_name, name.given_name, name.patronymic, name.script)
        if key in have or len(survivor.names) + len(copies) >= MAX_NAMES:
            continue
        copies.append(
            PersonName(
                position=position + len(copies),
                script=name.script,
                family_name=name.family_name,
                given_name=name.given_name,
                patronymic=name.patronymic,
                is_official=False,
                kind=name.kind if name.kind != NameKind.OFFICIAL else NameKind.ALIAS,
            )
        )
        have.add(key)
    survivor.names.extend(copies)
    db.flush()
    refresh_search_keys(db, survivor)
    return [c.id for c in copies]


def _replace_tested(db: Session, source: str, target: str, only: list[str] | None = None) -> list[str]:
    """Genomic results that name ``source`` as a tested person or in an identity check now name ``target``."""
    query = sa.select(GenomicResult)
    if only is not None:
        query = query.where(GenomicResult.document_id.in_(only))
    else:
        query = query.where(
            sa.or_(GenomicResult.tested_person_ids.contains(source), GenomicResult.identity_checks.contains(source))
        )
    changed: list[str] = []
    for result in db.scalars(query):
        tested = json.loads(result.tested_person_ids) if result.tested_person_ids else None
        checks = json.loads(result.identity_checks or "[]")
        new_tested = [target if p == source else p for p in tested] if tested else tested
        new_checks = [
            {**c, "person_id": target} if isinstance(c, dict) and c.get("person_id") == source else c for c in checks
        ]
        if new_tested != tested or new_checks != checks:
            result.tested_person_ids = json.dumps(new_tested) if new_tested else None
            result.identity_checks = json.dumps(new_checks, ensure_ascii=False)
            changed.append(result.document_id)
    db.flush()
    return changed
