"""Blocking keys: which records are compared at all, so that finding candidates is index lookups.

A record gets, for every name it has:

* ``y:<sound>:<year>`` for each name word (its stem's sound, ``compare.stem_key``) with the birth year (the
  years around it when the date is estimated): the same word and year, whatever else was mistyped;
* ``n:<sound>+<sound>`` for each two words of one name, in either order: given and family name exchanged,
  the year wrong or unknown.

Two records that share no key are never compared. A record one of whose words is mistyped *and* whose
birth year differs is therefore missed unless two other words agree; the bench measures what that costs.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from itertools import combinations

from registry.matching.compare import stem_key

MIN_SOUND = 2  # a word whose sound is shorter (a lone initial) is no key


def _sounds(parts: Iterable[str]) -> list[str]:
    words = [w for part in parts for w in (part or "").split()]
    return sorted({k for k in (stem_key(w) for w in words) if len(k) >= MIN_SOUND})


def _years(birth_date: date | None, precision: str) -> list[int]:
    if birth_date is None or precision in ("unknown", ""):
        return []
    return [birth_date.year + d for d in (-1, 0, 1)] if precision == "estimated" else [birth_date.year]


def match_keys(names: Iterable[tuple[str, str, str]], birth_date: date | None, precision: str) -> list[str]:
    """The keys of a record with these (family, given, patronymic) names and birth date."""
    years = _years(birth_date, precision)
    keys: set[str] = set()
    for name in names:
        sounds = _sounds(name)
        keys.update(f"y:{s}:{y}" for s in sounds for y in years)
        keys.update(f"n:{a}+{b}" for a, b in combinations(sounds, 2))
    return sorted(k[:120] for k in keys)


def store_keys(db, person) -> None:
    """Replace a person's blocking keys with those of its current names and birth date (same transaction)."""
    import sqlalchemy as sa

    from registry.matching.models import PersonMatchKey

    db.execute(sa.delete(PersonMatchKey).where(PersonMatchKey.person_id == person.id))
    keys = match_keys(
        [(n.family_name, n.given_name, n.patronymic) for n in person.names],
        person.birth_date,
        person.birth_date_precision,
    )
    if keys:
        db.execute(sa.insert(PersonMatchKey), [{"person_id": person.id, "key": k} for k in keys])
