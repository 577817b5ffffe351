"""Finding candidates: blocking by stored keys (index lookups), then scoring each candidate (``compare``).

Records are read with a handful of queries over the candidates found, whatever their number; the reader's
need-to-know boundary is part of the blocking query itself, so a person outside it is never even scored.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from registry.documents.models import Document, DocumentPerson
from registry.kinship.models import GenomicResult, Relationship, RelationshipKind, RelationshipStatus
from registry.matching import compare
from registry.matching.keys import match_keys
from registry.matching.models import MatchPair, PairStatus, PersonMatchKey
from registry.persons.models import Person, PersonName

SHOWN = 0.5  # candidates from this probability on are listed, queued for review, and counted by the bench
LIKELY = 0.9  # from here on a registration asks before it saves ("likely the same person")
MAX_BLOCK = 200  # records compared at most per lookup: those sharing the most keys first
MAX_SHOWN = 10
_PARENT_KINDS = (RelationshipKind.BIOLOGICAL_MOTHER,)
_DEAD_CLAIMS = (RelationshipStatus.EXCLUDED, RelationshipStatus.WITHDRAWN)
_IDENTITY_KINDS = ("passport", "identity_document")


def band(probability: float) -> str:
    return "likely" if probability >= LIKELY else "possible"


@dataclass
class Draft:
    """A record not yet registered, as typed: what ``compare.Record`` needs, and its keys."""

    record: compare.Record
    keys: list[str]


def draft(
    names: Iterable[tuple[str, str, str]],
    *,
    sex: str = "unknown",
    birth_date=None,
    birth_date_precision: str = "unknown",
    place: str = "",
    document_numbers: Iterable[str] = (),
) -> Draft:
    names = list(names)
    record = compare.Record(
        id="",
        names=[compare.Name.of(*n) for n in names],
        sex=sex,
        birth_date=birth_date,
        birth_date_precision=birth_date_precision,
        place=place,
        document_numbers=frozenset(n for n in map(compare.normal_document_number, document_numbers) if n),
    )
    return Draft(record, match_keys(names, birth_date, birth_date_precision))


def blocked(
    db: Session, keys: list[str], *, exclude: Iterable[str] = (), visible: sa.Select | None = None
) -> list[str]:
    """Live records (not merged away) sharing a key with ``keys``, most shared keys first, inside ``visible``."""
    if not keys:
        return []
    shared = sa.func.count().label("shared")
    query = (
        sa.select(PersonMatchKey.person_id, shared)
        .where(PersonMatchKey.key.in_(keys))
        .group_by(PersonMatchKey.person_id)
        .order_by(shared.desc(), PersonMatchKey.person_id)
        .limit(MAX_BLOCK + 10)
    )
    if visible is not None:
        query = query.where(PersonMatchKey.person_id.in_(visible))
    skip = set(exclude)
    ids = [pid for pid, _n in db.execute(query) if pid not in skip][:MAX_BLOCK]
    if not ids:
        return []
    live = set(db.scalars(sa.select(Person.id).where(Person.id.in_(ids), Person.merged_into_id.is_(None))))
    return [i for i in ids if i in live]


def decided_not_same(db: Session, person_id: str) -> set[str]:
    """The records a clerk said are not the same person as this one: never offered again."""
    rows = db.execute(
        sa.select(MatchPair.person_a_id, MatchPair.person_b_id).where(
            MatchPair.status == PairStatus.NOT_SAME,
            sa.or_(MatchPair.person_a_id == person_id, MatchPair.person_b_id == person_id),
        )
    )
    return {b if a == person_id else a for a, b in rows}


def load_records(db: Session, ids: list[str]) -> dict[str, compare.Record]:
    """The records of these persons, with their names, mothers, children and identity-document numbers."""
    if not ids:
        return {}
    records: dict[str, compare.Record] = {}
    for row in db.execute(
        sa.select(
            Person.id,
            Person.registry_number,
            Person.sex,
            Person.birth_date,
            Person.birth_date_precision,
            Person.place_of_birth_designation,
        ).where(Person.id.in_(ids))
    ):
        records[row.id] = compare.Record(
            row.id,
            [],
            row.sex,
            row.birth_date,
            row.birth_date_precision,
            row.place_of_birth_designation,
            row.registry_number,
        )
    for pid, family, given, patronymic in db.execute(
        sa.select(PersonName.person_id, PersonName.family_name, PersonName.given_name, PersonName.patronymic)
        .where(PersonName.person_id.in_(ids))
        .order_by(PersonName.person_id, PersonName.position)
    ):
        records[pid].names.append(compare.Name.of(family, given, patronymic))
    mothers: dict[str, set[str]] = {}
    children: dict[str, set[str]] = {}
    for child, mother in db.execute(
        sa.select(Relationship.person_id, Relationship.relative_id).where(
            Relationship.kind.in_(_PARENT_KINDS),
            Relationship.status.not_in(_DEAD_CLAIMS),
            sa.or_(Relationship.person_id.in_(ids), Relationship.relative_id.in_(ids)),
        )
    ):
        mothers.setdefault(child, set()).add(mother)
        children.setdefault(mother, set()).add(child)
    numbers = _document_numbers(db, ids)
    for pid, record in records.items():
        record.mothers = frozenset(mothers.get(pid, ()))
        record.children = frozenset(children.get(pid, ()))
        record.document_numbers = frozenset(numbers.get(pid, ()))
    return records


def _document_numbers(db: Session, ids: list[str]) -> dict[str, set[str]]:
    """Numbers of each person's identity papers: the "number" fields of a passport or identity document they
    are the subject of, and the documents checked when their DNA sample was taken."""
    found: dict[str, set[str]] = {}
    for pid, fields in db.execute(
        sa.select(DocumentPerson.person_id, Document.fields)
        .join(Document, Document.id == DocumentPerson.document_id)
        .where(DocumentPerson.person_id.in_(ids), DocumentPerson.role == "subject", Document.kind.in_(_IDENTITY_KINDS))
    ):
        for key, value in json.loads(fields or "{}").items():
            if "number" in key.lower() and isinstance(value, (str, int)):
                found.setdefault(pid, set()).add(compare.normal_document_number(str(value)))
    wanted = set(ids)
    for (checks,) in db.execute(
        sa.select(GenomicResult.identity_checks)
        .join(DocumentPerson, DocumentPerson.document_id == GenomicResult.document_id)
        .where(DocumentPerson.person_id.in_(ids))
        .distinct()
    ):
        for check in json.loads(checks or "[]"):
            if isinstance(check, dict) and check.get("person_id") in wanted and check.get("document_number"):
                found.setdefault(check["person_id"], set()).add(
                    compare.normal_document_number(str(check["document_number"]))
                )
    return {pid: {n for n in numbers if n} for pid, numbers in found.items()}


def person_keys(db: Session, person_id: str) -> list[str]:
    return list(db.scalars(sa.select(PersonMatchKey.key).where(PersonMatchKey.person_id == person_id)))


def find(
    db: Session,
    subject: compare.Record,
    keys: list[str],
    *,
    visible: sa.Select | None = None,
    exclude: Iterable[str] = (),
    threshold: float = SHOWN,
    limit: int = MAX_SHOWN,
) -> list[compare.Scored]:
    """Candidates for ``subject`` at ``threshold`` or above, best first (registry number breaks ties)."""
    ids = blocked(db, keys, exclude={subject.id, *exclude} - {""}, visible=visible)
    records = load_records(db, ids)
    scored = [compare.score(subject, records[i]) for i in ids if i in records]
    kept = [s for s in scored if s.probability >= threshold]
    kept.sort(key=lambda s: (-s.weight, s.record.registry_number))
    return kept[:limit]


def find_for_person(
    db: Session, person_id: str, *, visible: sa.Select | None = None, threshold: float = SHOWN, limit: int = MAX_SHOWN
) -> list[compare.Scored]:
    subject = load_records(db, [person_id]).get(person_id)
    if subject is None:
        return []
    return find(
        db,
        subject,
        person_keys(db, person_id),
        visible=visible,
        exclude=decided_not_same(db, person_id),
        threshold=threshold,
        limit=limit,
    )


def pair_ids(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a < b else (b, a)


def queue_candidates(db: Session, person_id: str) -> int:
    """Put this record's candidates in the clerks' review queue (pairs decided before are left as decided)."""
    found = find_for_person(db, person_id)
    for scored in found:
        a, b = pair_ids(person_id, scored.record.id)
        pair = db.scalar(sa.select(MatchPair).where(MatchPair.person_a_id == a, MatchPair.person_b_id == b))
        if pair is None:
            db.add(MatchPair(person_a_id=a, person_b_id=b, status=PairStatus.PENDING, probability=scored.probability))
        elif pair.status == PairStatus.PENDING:
            pair.probability = scored.probability
    db.flush()
    return len(found)
