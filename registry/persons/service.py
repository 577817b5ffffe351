"""Persons: registration, changes, reading and search, inside the need-to-know boundary.

Every read returns data only after its access-log event is in the transaction;
fields marked restricted are shown only to roles that register persons, and
their values never enter the log.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from registry.accounts.actor import Actor
from registry.accounts.permissions import Permission
from registry.api.schema import parse
from registry.audit.events import Action
from registry.audit.service import record
from registry.cases import service as cases
from registry.cases.models import Case, CasePerson
from registry.errors import Conflict, NotFound, validation
from registry.i18n import _
from registry.matching import engine as matching
from registry.matching.keys import store_keys
from registry.persons import name_keys
from registry.persons.models import Category, NameSearchKey, Person, PersonName, PersonStatus
from registry.persons.schemas import NameIn, NameList, PersonChange, PersonCreate, PersonFields
from registry.web import listing

MAX_CANDIDATES = 100
_NUMBER_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford: no I, L, O, U to misread
# What staff type when they copy a registry number from a form or a paper (any case, spaces around the dash).
REGISTRY_NUMBER = re.compile(r"R\s*(\d{4})\s*[-\u2010-\u2015]?\s*([0-9A-Z]{7})", re.IGNORECASE)


def sees_restricted(actor: Actor) -> bool:
    return actor.can(Permission.PERSON_WRITE)


# ---------------------------------------------------------------- checking input apart


def clean_person_fields(data: dict[str, Any]) -> dict[str, Any]:
    """Some of a person's fields, checked as a registration checks them (the CSV import checks cell by cell)."""
    return parse(PersonFields, data).changes()


def clean_names(raw: Any) -> list[NameIn]:
    """A person's names, checked as a registration checks them (the import, and a draft before matching)."""
    return parse(NameList, {"names": raw}).names


# ---------------------------------------------------------------- writing


def _new_registry_number(db: Session) -> str:
    year = date.today().year
    while True:
        code = "".join(secrets.choice(_NUMBER_ALPHABET) for _ in range(7))
        number = f"R{year}-{code}"
        if db.scalar(sa.select(Person.id).where(Person.registry_number == number)) is None:
            return number


def _search_keys(person: Person) -> list[NameSearchKey]:
    keys: set[str] = set()
    for name in person.names:
        for token in name_keys.query_keys(name.full):
            keys.add("l:" + token.latin)
            keys.add("p:" + token.phonetic)
    return [NameSearchKey(person_id=person.id, key=k[:120]) for k in sorted(keys)]


def _replace_names(db: Session, person: Person, names: list[NameIn]) -> None:
    person.names = [
        PersonName(
            position=i,
            kind=n.kind.value,
            script=n.script.value,
            family_name=n.family_name,
            given_name=n.given_name,
            patronymic=n.patronymic,
            is_official=n.is_official,
        )
        for i, n in enumerate(names)
    ]
    db.flush()
    refresh_search_keys(db, person)


def refresh_search_keys(db: Session, person: Person) -> None:
    """The person's search keys again, from the names it has now (a merge adds names, its undo removes them)."""
    db.execute(sa.delete(NameSearchKey).where(NameSearchKey.person_id == person.id))
    db.add_all(_search_keys(person))


def create_person(db: Session, actor: Actor, body: PersonCreate) -> Person:
    fields = body.changes()
    names = body.names
    person = Person(registry_number=_new_registry_number(db), **fields)
    db.add(person)
    db.flush()
    _replace_names(db, person, names)
    store_keys(db, person)
    matching.queue_candidates(db, person.id)  # possible same persons wait for a clerk's review
    record(
        db,
        actor,
        Action.PERSON_CREATED,
        target_type="person",
        target_id=person.id,
        person_ids=[person.id],
        details={"fields": sorted(fields), "names": len(names)},
    )
    return person


def update_person(db: Session, actor: Actor, person_id: str, body: PersonChange) -> Person:
    person = get_person(db, actor, person_id, log=False)
    if body.revision is not None and body.revision != person.revision:
        raise Conflict(str(_("Someone changed this person since you opened it. Reload and apply your change again.")))
    fields = body.changes()
    changed = {k: v for k, v in fields.items() if getattr(person, k) != v}
    for key, value in changed.items():
        setattr(person, key, value)
    if body.names is not None:
        _replace_names(db, person, body.names)
        changed["names"] = "changed"
    db.flush()
    if {"names", "birth_date", "birth_date_precision"} & set(changed):
        store_keys(db, person)
        matching.queue_candidates(db, person.id)
    record(
        db,
        actor,
        Action.PERSON_UPDATED,
        target_type="person",
        target_id=person.id,
        person_ids=[person.id],
        details={"changed": sorted(changed)},
    )  # names only: auditors read no personal values
    return person


# ---------------------------------------------------------------- reading


def get_person(db: Session, actor: Actor, person_id: str, *, log: bool = True) -> Person:
    reason = cases.require_person_visible(db, actor, person_id, Action.PERSON_VIEWED)
    person = db.get(Person, person_id)
    if person is None:
        raise NotFound(str(_("No such person.")))
    if log:
        record(
            db,
            actor,
            Action.PERSON_VIEWED,
            target_type="person",
            target_id=person.id,
            person_ids=[person.id],
            reason=reason,
        )
    return person


def survivor_of(db: Session, person_id: str) -> str:
    """The record a person's data now lives on: itself, or the record it was merged into (and so on)."""
    seen = {person_id}
    while (target := db.scalar(sa.select(Person.merged_into_id).where(Person.id == person_id))) is not None:
        if target in seen:
            break
        seen.add(target)
        person_id = target
    return person_id


def as_registry_number(text: str) -> str | None:
    """The registry number ``text`` spells (``r2026-7k3m9qx``, ``R2026 - 7K3M9QX``), or None if it spells none."""
    found = REGISTRY_NUMBER.fullmatch((text or "").strip())
    return f"R{found.group(1)}-{found.group(2).upper()}" if found else None


def person_by_number(db: Session, registry_number: str, actor: Actor | None = None) -> Person:
    """A person by registry number; given an actor, one outside their cases is "no such number" too."""
    number = as_registry_number(registry_number) or registry_number.strip().upper()
    person = db.scalar(sa.select(Person).where(Person.registry_number == number))
    if person is None or (actor is not None and not cases.can_see_person(db, actor, person.id)):
        raise validation(registry_number=str(_("No person has this registry number.")))
    return person


def registry_numbers(db: Session, person_ids: Iterable[str]) -> dict[str, str]:
    """Person id -> registry number, for pages that name persons by number instead of by id (the access log)."""
    ids = sorted(set(person_ids))
    return dict(db.execute(sa.select(Person.id, Person.registry_number).where(Person.id.in_(ids))).all()) if ids else {}


def _visible(query: sa.Select, actor: Actor) -> sa.Select:
    visible = cases.visible_person_ids(actor)
    return query if visible is None else query.where(Person.id.in_(visible))


KeyRange = tuple[str, str | None]
Held = dict[KeyRange, list[str] | None]  # the distinct keys of a range, None when many
# Key rows a query word reads per key range when looking for longer words and similar
# sounds: bounds the work of one search.
_DRIVER_ROWS = 500
# A query word whose ranges hold at most this many distinct keys is checked by looking each up.
_FEW_KEYS = 8
# Whole-word keys are counted this far to find the rarest word (index-only: cheap beside a walk).
_WHOLE_WORD_COUNT = 2000


def _candidates(db: Session, actor: Actor, tokens: list[name_keys.QueryToken]) -> tuple[list[str], bool]:
    """Visible persons whose keys match every query word, best first, at most MAX_CANDIDATES.

    Index lookups only, never a scan of the registry. Returns the ids and whether more
    persons may match than are listed.

    * One word: its key ranges are read in rank order (the exact word sorts first,
      then longer words, then the sound), at most _DRIVER_ROWS keys per range.
    * Several words: see ``_several_words``.
    * Someone who sees persons only through cases: each of those persons is checked.
    A check is an index-only lookup of each of the few distinct keys a word can have,
    or else a read of the person's own keys.
    """
    visible = cases.visible_person_ids(actor)
    if len(tokens) == 1 and visible is None:
        found = _walk(db, tokens[0], _key_ranges(tokens[0]), _DRIVER_ROWS)
        return found[:MAX_CANDIDATES], len(found) > MAX_CANDIDATES
    held = _keys_held(db, [r for t in tokens for r in _key_ranges(t)])
    if any(all(held.get(r) == [] for r in _key_ranges(t)) for t in tokens):
        return [], False
    if visible is None:
        return _several_words(db, tokens, held)
    seen = visible.subquery()
    query = sa.select(seen.c.person_id).where(*(_has_key(seen.c.person_id, _key_ranges(t), held) for t in tokens))
    found = list(db.scalars(query.limit(MAX_CANDIDATES + 1)))
    return found[:MAX_CANDIDATES], len(found) > MAX_CANDIDATES


def _several_words(db: Session, tokens: list[name_keys.QueryToken], held: Held) -> tuple[list[str], bool]:
    """First every person whose words equal the query words (exact Latin form or exact
    sound), completely: the rarest word's persons, each checked for the others. Then, if
    the list is not full, longer words and similar sounds, reading at most _DRIVER_ROWS
    keys per range of the rarest word: those are a sample when reading stopped early,
    worth saying only when no person matched whole words.
    """
    whole, parts = _key_counts(db, tokens)
    driver, *others = sorted(tokens, key=lambda t: (whole[t], -len(t.latin)))
    whole_words = _walk(
        db, driver, _whole_words(driver), None, lambda person: [_has_key(person, _whole_words(t), {}) for t in others]
    )
    if len(whole_words) > MAX_CANDIDATES:
        return whole_words[:MAX_CANDIDATES], True
    driver, *others = sorted(tokens, key=lambda t: (sum(parts[t]), -len(t.latin)))
    partial = _walk(
        db,
        driver,
        _key_ranges(driver),
        _DRIVER_ROWS,
        lambda person: [_has_key(person, _key_ranges(t), held) for t in others],
    )
    found = list(dict.fromkeys(whole_words + partial))
    stopped_early = any(n > _DRIVER_ROWS for n in parts[driver]) and not whole_words
    return found[:MAX_CANDIDATES], len(found) > MAX_CANDIDATES or stopped_early


Checks = Callable[[sa.ColumnElement[str]], list[sa.ColumnElement[bool]]]


def _walk(
    db: Session,
    token: name_keys.QueryToken,
    ranges: list[KeyRange],
    limit: int | None,
    checks: Checks = lambda person: [],
) -> list[str]:
    """Distinct persons with a key of ``token`` in ``ranges`` who pass ``checks``, at most MAX_CANDIDATES + 1.

    Range by range, in key order, which is rank order (the exact word sorts before
    longer words); ``limit`` bounds the keys read per range.
    """
    branches = [
        sa.select(NameSearchKey.person_id)
        .where(_in_range(NameSearchKey.key, r))
        .order_by(NameSearchKey.key)
        .limit(limit)
        .subquery()
        for r in ranges
    ]
    rows = sa.union_all(*(sa.select(b.c.person_id) for b in branches)).subquery()
    query = sa.select(rows.c.person_id).where(*checks(rows.c.person_id)).limit(2 * (MAX_CANDIDATES + 1))
    found: list[str] = []
    for person_id in db.scalars(query):
        if person_id not in found:
            found.append(person_id)
            if len(found) > MAX_CANDIDATES:
                break
    return found


def _whole_words(token: name_keys.QueryToken) -> list[KeyRange]:
    """The keys a name word equal to ``token`` has: its exact Latin form and its exact sound."""
    return [("l:" + token.latin, None), ("p:" + token.phonetic, None)]


def _key_counts(
    db: Session, tokens: list[name_keys.QueryToken]
) -> tuple[dict[name_keys.QueryToken, int], dict[name_keys.QueryToken, list[int]]]:
    """Per word: rows of its whole-word keys (counted up to _WHOLE_WORD_COUNT), and of each of its ranges
    (up to _DRIVER_ROWS + 1, which says whether reading a range stops early)."""
    plan = [
        (t, whole, r)
        for t in tokens
        for whole, ranges in ((True, _whole_words(t)), (False, _key_ranges(t)))
        for r in ranges
    ]
    counted = [
        sa.select(sa.func.count())
        .select_from(
            sa.select(NameSearchKey.person_id)
            .where(_in_range(NameSearchKey.key, r))
            .limit(_WHOLE_WORD_COUNT if whole else _DRIVER_ROWS + 1)
            .subquery()
        )
        .scalar_subquery()
        for _, whole, r in plan
    ]
    whole_rows: dict[name_keys.QueryToken, int] = dict.fromkeys(tokens, 0)
    part_rows: dict[name_keys.QueryToken, list[int]] = {t: [] for t in tokens}
    for (token, whole, _range), count in zip(plan, db.execute(sa.select(*counted)).one(), strict=True):
        if whole:
            whole_rows[token] += count
        else:
            part_rows[token].append(count)
    return whole_rows, part_rows


def _has_key(person_id: sa.ColumnElement[str], ranges: list[KeyRange], held: Held) -> sa.ColumnElement[bool]:
    """The person has a key in one of ``ranges``.

    With the ranges' keys known (``held``; a single-key range is its key), one
    index-only lookup per key. Otherwise the person's own few keys are read
    (person_id index) and compared by prefix: written as a range, PostgreSQL
    misjudges it as tiny and scans the whole range for every person.
    """
    own = sa.orm.aliased(NameSearchKey)
    known = [[low] if high is None else held.get((low, high)) for low, high in ranges]
    if all(keys is not None for keys in known):
        return sa.exists().where(own.key.in_([k for keys in known for k in keys or ()]), own.person_id == person_id)
    return sa.exists().where(
        own.person_id == person_id,
        sa.or_(
            *(own.key == low if high is None else sa.func.substr(own.key, 1, len(low)) == low for low, high in ranges)
        ),
    )


def _keys_held(db: Session, ranges: list[KeyRange]) -> Held:
    """The distinct keys in each (prefix) range, or None where there are more than _FEW_KEYS.

    A loose index scan (each step is the next key after the last, one index seek), so
    a range holding a hundred thousand rows of one key costs one step.
    """
    held: Held = {}
    walks = [r for r in ranges if r[1] is not None]
    if walks:
        found: dict[int, list[str]] = {}
        for index, key in db.execute(sa.union_all(*(_next_keys(i, r) for i, r in enumerate(walks)))):
            found.setdefault(int(index), []).append(key)
        for index, key_range in enumerate(walks):
            keys = found.get(index, [])
            held[key_range] = keys if len(keys) <= _FEW_KEYS else None
    return held


def _next_keys(index: int, key_range: KeyRange) -> sa.Select:
    """Up to _FEW_KEYS + 1 distinct keys of one range, by a recursive walk (ORDER BY ... LIMIT 1 per step:
    PostgreSQL would answer min() over a range it misjudges as tiny by reading all of it)."""
    low, high = key_range
    start = sa.orm.aliased(NameSearchKey)
    walk = sa.select(
        sa.select(start.key)
        .where(start.key >= low, start.key < high)
        .order_by(start.key)
        .limit(1)
        .scalar_subquery()
        .label("key"),
        sa.literal_column("1").label("step"),
    ).cte(f"walk{index}", recursive=True)
    following = sa.orm.aliased(NameSearchKey)
    walk = walk.union_all(
        sa.select(
            sa.select(following.key)
            .where(following.key > walk.c.key, following.key < high)
            .order_by(following.key)
            .limit(1)
            .scalar_subquery(),
            walk.c.step + sa.literal_column("1"),
        ).where(walk.c.key.is_not(None), walk.c.step <= _FEW_KEYS)
    )
    return sa.select(sa.literal_column(str(index)), walk.c.key).where(walk.c.key.is_not(None))


def _key_ranges(token: name_keys.QueryToken) -> list[KeyRange]:
    """The key ranges one query word matches, in rank order; (key, None) is one key.

    The Latin form as a prefix (the exact word sorts first), then the sound: exact,
    or as a prefix when it is long enough to be worth it.
    """
    latin, phonetic = "l:" + token.latin, "p:" + token.phonetic
    sound_end = phonetic + "{" if len(token.phonetic) >= name_keys.PHONETIC_PREFIX_MIN else None
    return [(latin, latin + "{"), (phonetic, sound_end)]


def _in_range(
    column: sa.ColumnElement[str] | sa.orm.InstrumentedAttribute[str], key_range: KeyRange
) -> sa.ColumnElement[bool]:
    low, high = key_range
    return column == low if high is None else sa.and_(column >= low, column < high)


# The person list: its orders and filters (registry.web.listing). Region and stage are free text as typed on
# the record, matched whole (the page offers the values the caller's persons have); a case is one of the caller's.
PERSON_LIST = listing.ListSpec(
    sorts=("registry_number", "name", "born", "status", "registered"),
    default_sort="",
    filters={"status": tuple(PersonStatus), "category": tuple(Category), "region": None, "stage": None, "case": None},
)
DEFAULT_ORDER = "-registered"  # without a query; with one, best match first


def _official_name() -> sa.ScalarSelect:
    """The name a person is listed under (as ``Person.official_name``), for sorting in SQL."""
    return (
        sa.select(PersonName.family_name + " " + PersonName.given_name)
        .where(PersonName.person_id == Person.id)
        .order_by(PersonName.is_official.desc(), PersonName.position)
        .limit(1)
        .scalar_subquery()
    )


def _sort_columns() -> dict[str, list[sa.ColumnElement[Any]]]:
    return {
        "registry_number": [Person.registry_number],
        "name": [_official_name()],
        "born": [Person.birth_date],
        "status": [Person.status],
        "registered": [Person.created_at],
    }


def _filtered(db: Session, actor: Actor, query: sa.Select, filters: Mapping[str, str]) -> sa.Select:
    """``query`` narrowed by the list's filters; a case outside the caller's cases is refused like an unknown one."""
    query = query.where(Person.merged_into_id.is_(None))  # a merged record is found as its survivor
    if filters.get("status"):
        query = query.where(Person.status == filters["status"])
    if filters.get("category"):  # categories are stored as words separated by spaces
        query = query.where((" " + Person.categories + " ").contains(f" {filters['category']} ", autoescape=True))
    if filters.get("region"):
        query = query.where(Person.centre_or_region == filters["region"])
    if filters.get("stage"):
        query = query.where(Person.return_stage == filters["stage"])
    if filters.get("case"):
        if filters["case"] not in {c.id for c in cases.cases_for(db, actor)}:
            raise validation(case=str(_("Choose one of your cases.")))
        query = query.where(Person.id.in_(sa.select(CasePerson.person_id).where(CasePerson.case_id == filters["case"])))
    return query


def list_choices(db: Session, actor: Actor) -> dict[str, list[str]]:
    """The regions and return stages written on the records of persons the caller may see: the filters' choices."""
    base = _visible(sa.select(Person), actor).subquery()
    return {
        name: list(db.scalars(sa.select(column).distinct().where(column != "").order_by(column).limit(200)))
        for name, column in (("region", base.c.centre_or_region), ("stage", base.c.return_stage))
    }


@dataclass
class SearchPage(listing.ListPage[Person]):
    truncated: bool = False

    @property
    def persons(self) -> list[Person]:
        return self.items


def search_persons(
    db: Session,
    actor: Actor,
    q: str,
    page: int = 1,
    per_page: int = 25,
    *,
    sort: str = "",
    filters: Mapping[str, str] | None = None,
) -> SearchPage:
    """Persons the caller may see: those ``q`` finds (by name, best first, or by registry number), or all;
    narrowed by ``filters`` and in the order ``sort`` names (see ``PERSON_LIST``)."""
    q = (q or "").strip()[:200]
    filters = filters or {}
    wanted = listing.ListQuery(sort or ("" if q else DEFAULT_ORDER), filters, page, per_page)
    number = as_registry_number(q)
    truncated = False
    if number:  # forms ask staff for registry numbers: the number finds its person (inside the caller's cases)
        found = db.scalar(sa.select(Person.id).where(Person.registry_number == number))
        query = _visible(sa.select(Person).where(Person.id == survivor_of(db, found) if found else sa.false()), actor)
    elif q:
        tokens = name_keys.query_keys(q)
        if not tokens:
            raise validation(q=str(_("Type at least one letter of a name.")))
        ids, truncated = _candidates(db, actor, tokens)
        ranked = _ranked(db, q, ids)
        if not wanted.sort:  # best match first: the candidates are few (MAX_CANDIDATES), ranked in Python
            kept = set(db.scalars(_filtered(db, actor, sa.select(Person.id).where(Person.id.in_(ranked)), filters)))
            ranked = [i for i in ranked if i in kept]
            shown_ids = ranked[(page - 1) * per_page : page * per_page]
            by_id = {p.id: p for p in db.scalars(sa.select(Person).where(Person.id.in_(shown_ids)))}
            return _logged(
                db,
                actor,
                SearchPage([by_id[i] for i in shown_ids], len(ranked), page, per_page, truncated),
                q,
                number,
                filters,
            )
        query = sa.select(Person).where(Person.id.in_(ranked))
    else:
        query = _visible(sa.select(Person), actor)
    query = listing.ordered(_filtered(db, actor, query, filters), wanted, _sort_columns(), Person.id)
    found = listing.page_of(db, query, wanted)
    return _logged(db, actor, SearchPage(found.items, found.total, page, per_page, truncated), q, number, filters)


def _logged(
    db: Session, actor: Actor, result: SearchPage, q: str, number: str | None, filters: Mapping[str, str]
) -> SearchPage:
    """The listed persons are read: one event names them (the filters by name only, not what was chosen)."""
    record(
        db,
        actor,
        Action.PERSON_SEARCHED,
        target_type="person_search",
        person_ids=[p.id for p in result.persons],
        details={
            "query_length": len(q),
            "results": len(result.persons),
            "page": result.page,
            **({"by": "registry_number"} if number else {}),
            **({"filters": sorted(filters)} if filters else {}),
        },
    )
    return result


def _ranked(db: Session, q: str, ids: list[str]) -> list[str]:
    """Ids of the candidates that answer ``q``, best first (registry number breaks ties).

    Only the names are read for ranking; whole persons are loaded for the page shown.
    """
    if not ids:
        return []
    scores: dict[str, float] = dict.fromkeys(ids, 0.0)
    by_name: dict[str, float] = {}  # many candidates share a name (Akhmetova Aigerim)
    names = db.execute(
        sa.select(PersonName.person_id, PersonName.family_name, PersonName.given_name, PersonName.patronymic).where(
            PersonName.person_id.in_(ids)
        )
    )
    for person_id, *parts in names:
        full = " ".join(p for p in parts if p)  # as PersonName.full
        if full not in by_name:
            by_name[full] = name_keys.rank(q, full)
        scores[person_id] = max(scores[person_id], by_name[full])
    numbers = dict(db.execute(sa.select(Person.id, Person.registry_number).where(Person.id.in_(ids))).all())
    return sorted((i for i in ids if scores[i] > 0), key=lambda i: (-scores[i], numbers[i]))


def case_person_labels(db: Session, actor: Actor, case: Case) -> list[dict[str, Any]]:
    """Persons of a case as links for those who may read them, as registry numbers for administrators."""
    ids = [cp.person_id for cp in case.persons]
    people = list(db.scalars(sa.select(Person).where(Person.id.in_(ids)).order_by(Person.registry_number)))
    # Names only for persons the actor may open (not those of a closed case); registry numbers otherwise.
    named = {p.id for p in people if cases.can_see_person(db, actor, p.id)}
    if named:
        record(
            db,
            actor,
            Action.PERSON_SEARCHED,
            target_type="case",
            target_id=case.id,
            person_ids=sorted(named),
            details={"context": "case persons"},
        )
    return [
        {
            "id": p.id,
            "link": p.id in named,
            "label": f"{p.registry_number} · {p.official_name.full if p.official_name else ''}"
            if p.id in named
            else p.registry_number,
        }
        for p in people
    ]
