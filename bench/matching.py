"""Possible same person: precision, recall and the time to find candidates, on a synthetic registry.

Builds a fresh SQLite registry with the real schema (the Alembic migrations): families of Kazakh, Russian,
Uzbek and Arabic-origin names (a mother and her children share the family name, the father's name in the
patronymic and the place; some children are twins, born the same day), each person written in Cyrillic and
often also as recorded abroad (Latin or Arabic letters), with blocking keys made by the real
``registry.matching.keys`` function. Then it registers known duplicates the way they arise here: another
transliteration, another patronymic form (Нурлановна, Нурлан қызы, Nurlan kyzy, or none), given and family
name exchanged, the birth date known only to the year, a typing error in a name or a date, the sex or the
place left out.

It prints:

* precision and recall of the pairs the registry offers (``engine.SHOWN`` and up) against the truth, every
  record of the registry looked up in turn (with the blocking's own recall: true pairs sharing a key);
* the time to find candidates for one new person (the real service, ``candidates_of_draft``, its
  access-log event included), median and p95 over 200 lookups, beside a baseline measured in the same run:
  the indexed lookup of one person by registry number, and the ratio of the two.

    .venv/bin/python bench/matching.py                     # 20,000 persons and 2,000 duplicates
    .venv/bin/python bench/matching.py --persons 50000 --duplicates 5000 --seed 3

Targets: recall >= 0.95 at precision >= 0.90; candidates in under 100 ms. Exit 1 if a target is missed.
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import math
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from flask_babel import force_locale  # noqa: E402

from bench.search import clerk_actor  # noqa: E402
from registry.accounts.actor import Actor  # noqa: E402
from registry.app import create_app  # noqa: E402
from registry.db import Base, make_engine, make_session_factory  # noqa: E402
from registry.matching import compare  # noqa: E402
from registry.matching import engine as matching  # noqa: E402
from registry.matching import service as matching_service  # noqa: E402
from registry.matching.keys import match_keys  # noqa: E402
from registry.matching.models import PersonMatchKey  # noqa: E402
from registry.migrate import upgrade  # noqa: E402
from registry.persons.models import Person  # noqa: E402
from registry.settings import load_settings  # noqa: E402

_spec = importlib.util.spec_from_file_location("bench_search", ROOT / "bench" / "search.py")
search = importlib.util.module_from_spec(_spec)  # the search bench's name lists: one population for both
sys.modules["bench_search"] = search
_spec.loader.exec_module(search)
ARABIC_SCRIPT, FATHER, GIVEN, RU_SURNAMES, SURNAMES, Weighted = (
    search.ARABIC_SCRIPT,
    search.FATHER,
    search.GIVEN,
    search.RU_SURNAMES,
    search.SURNAMES,
    search.Weighted,
)

TARGET_RECALL, TARGET_PRECISION, TARGET_MS = 0.95, 0.90, 100.0
UZBEK_SURNAMES = Weighted(
    """Юсупов Рахимов Каримов Алимов Турсунов Назаров Усманов Мирзаев Хамидов Саидов
Абдуллаев Исмоилов Эргашев Носиров Рашидов Файзиев Ходжаев Шарипов Умаров Якубов Азимов Бакиров Валиев
Гафуров Джураев Жураев Зиёев Иргашев Камолов Латипов Мадаминов Набиев Облакулов Пулатов Раджабов Султонов
Тошматов Убайдуллаев Фозилов Хасанов Холматов Шукуров Эшонов Юлдашев Ядгаров Абдурахимов Мухаммадиев""".split()
)
UZBEK_GIVEN = {
    True: Weighted(
        """Дильноза Гулноза Нигора Мохира Шахноза Феруза Зилола Мадина Севара Нодира
Умида Барно Лола Мукаддас Хилола Дилфуза Гулчехра Дилором Зарина Камола Лобар Малика Муниса Нилуфар
Одина Рано Сайёра Ситора Тамила Улугой Шоира Юлдуз Азиза Гулбахор Дурдона Зебо""".split()
    ),
    False: Weighted(
        """Шерзод Фаррух Бахтиёр Жасур Улугбек Рустам Тимур Ботир Даврон Санжар
Азиз Акмал Бобур Дилшод Жахонгир Отабек Абдулазиз Бекзод Гайрат Журабек Зафар Икром Комил Лазиз Мансур
Нодир Одил Равшан Сардор Толиб Уктам Фарход Хуршид Шухрат Элёр Ёркин""".split()
    ),
}
PLACES = [
    "Алматы",
    "Шымкент",
    "Актобе",
    "Атырау",
    "Тараз",
    "Караганда",
    "Кызылорда",
    "Актау",
    "Уральск",
    "Семей",
    "Туркестан",
    "Ташкент",
    "Наманган",
    "Ракка",
    "Хасеке",
    "Мосул",
    "Идлиб",
    "Дейр-эз-Зор",
    "Эль-Хол",
    "Рош",
    "Стамбул",
    "Газиантеп",
]
# One Cyrillic letter as different papers write it in Latin letters (the first: a Kazakh passport).
TRANSLIT = {
    "а": ["a"],
    "б": ["b"],
    "в": ["v", "w"],
    "г": ["g"],
    "д": ["d"],
    "е": ["e", "ye"],
    "ё": ["e", "yo"],
    "ж": ["zh", "j", "dj"],
    "з": ["z"],
    "и": ["i"],
    "й": ["i", "y", "j"],
    "к": ["k"],
    "л": ["l"],
    "м": ["m"],
    "н": ["n"],
    "о": ["o"],
    "п": ["p"],
    "р": ["r"],
    "с": ["s"],
    "т": ["t"],
    "у": ["u", "ou"],
    "ф": ["f"],
    "х": ["kh", "h", "x"],
    "ц": ["ts", "c"],
    "ч": ["ch"],
    "ш": ["sh"],
    "щ": ["shch", "sch"],
    "ъ": [""],
    "ы": ["y", "i"],
    "ь": ["", "'"],
    "э": ["e"],
    "ю": ["yu", "iu"],
    "я": ["ya", "ia"],
    "ә": ["a", "ae"],
    "ғ": ["g", "gh"],
    "қ": ["k", "q"],
    "ң": ["n", "ng"],
    "ө": ["o", "oe"],
    "ұ": ["u"],
    "ү": ["u", "ue"],
    "һ": ["h"],
    "і": ["i"],
}


def translit(text: str, rng: random.Random, faithful: bool = False) -> str:
    """Latin letters as a foreign record writes a Cyrillic name: the passport's choice, or another."""
    out = []
    for ch in text:
        options = TRANSLIT.get(ch.lower())
        if options is None:
            out.append(ch)
            continue
        chosen = options[0] if faithful or rng.random() < 0.6 else rng.choice(options)
        out.append(chosen.capitalize() if ch.isupper() else chosen)
    return "".join(out)


# ---------------------------------------------------------------- the registry


@dataclass
class Rec:
    """One generated record: the names (family, given, patronymic, script, kind), and the rest."""

    id: str
    names: list[tuple[str, str, str, str, str]]
    female: bool | None
    born: date | None
    precision: str
    place: str
    mother: str | None = None
    source: str | None = None  # for a duplicate: the record it duplicates


def _birth(rng: random.Random, first: int, last: int, exact: float) -> tuple[date, str]:
    day = date(first, 1, 1) + timedelta(days=rng.randrange((date(last, 12, 31) - date(first, 1, 1)).days))
    roll = rng.random()
    if roll < exact:
        return day, "exact"
    if roll < exact + 0.1:
        return day.replace(day=1), "month"
    return day.replace(month=1, day=1), "year"


def _patronymic(father: str, female: bool, kazakh: bool, rng: random.Random) -> str:
    if kazakh and rng.random() < 0.3:
        return father + (" қызы" if female else " ұлы")
    return father + ("овна" if female else "ович")


def _abroad(family: str, given: str, rng: random.Random) -> tuple[str, str, str, str, str]:
    if given in ARABIC_SCRIPT and rng.random() < 0.5:
        return ARABIC_SCRIPT[given], "", "", "arabic", "recorded_abroad"
    return translit(family, rng), translit(given, rng), "", "latin", "recorded_abroad"


def _surname(origin: str, female: bool, rng: random.Random) -> str:
    base = {"kz": SURNAMES, "ru": RU_SURNAMES, "uz": UZBEK_SURNAMES}[origin].draw(rng)
    return base + ("а" if female else "")


def _given(origin: str, female: bool, rng: random.Random) -> str:
    if origin == "uz":
        return UZBEK_GIVEN[female].draw(rng)
    return GIVEN["ru" if origin == "ru" else "kz", female].draw(rng)


def families(count: int, rng: random.Random) -> list[Rec]:
    """Mothers with their children (twins among them), and single adults, until ``count`` records."""
    out: list[Rec] = []
    while len(out) < count:
        origin = rng.choices(["kz", "ru", "uz"], [0.75, 0.1, 0.15])[0]
        place = rng.choice(PLACES)
        father = FATHER.draw(rng)
        if rng.random() < 0.35:  # a single adult (often a man)
            female = rng.random() < 0.4
            family, given = _surname(origin, female, rng), _given(origin, female, rng)
            born, precision = _birth(rng, 1965, 2003, 0.7)
            names = [
                (family, given, _patronymic(FATHER.draw(rng), female, origin == "kz", rng), "cyrillic", "official")
            ]
            if rng.random() < 0.4:
                names.append(_abroad(family, given, rng))
            out.append(Rec(str(uuid.UUID(int=rng.getrandbits(128), version=4)), names, female, born, precision, place))
            continue
        mother_family = _surname(origin, True, rng)
        mother_given = _given(origin, True, rng)
        born, precision = _birth(rng, 1975, 2001, 0.7)
        mother = Rec(
            str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            [
                (
                    mother_family,
                    mother_given,
                    _patronymic(FATHER.draw(rng), True, origin == "kz", rng),
                    "cyrillic",
                    "official",
                )
            ],
            True,
            born,
            precision,
            rng.choice(PLACES),
        )
        if rng.random() < 0.4:
            mother.names.append(_abroad(mother_family, mother_given, rng))
        out.append(mother)
        children_family = _surname(origin, True, rng)[:-1]  # the father's family name, male form
        twins_at = rng.randrange(4) if rng.random() < 0.08 else -1
        previous: Rec | None = None
        taken: set[str] = set()  # parents do not give two of their children one name
        for i in range(rng.choice([1, 1, 2, 2, 3, 4])):
            female = rng.random() < 0.5
            if i == twins_at + 1 and previous is not None:
                born, precision = previous.born, previous.precision
            else:
                born, precision = _birth(rng, 2010, 2022, 0.5)
            family = children_family + ("а" if female else "")
            given = _given(origin, female, rng)
            while given in taken:
                given = _given(origin, female, rng)
            taken.add(given)
            names = [(family, given, _patronymic(father, female, origin == "kz", rng), "cyrillic", "official")]
            if rng.random() < 0.3:
                names.append(_abroad(family, given, rng))
            child = Rec(
                str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                names,
                female,
                born,
                precision,
                place,
                mother=mother.id if rng.random() < 0.6 else None,
            )
            out.append(child)
            previous = child
    return out[:count]


# ---------------------------------------------------------------- duplicates, as they arise here


def _typo(word: str, rng: random.Random) -> str:
    if len(word) < 4:
        return word
    at = rng.randrange(1, len(word) - 1)
    kind = rng.choice(["drop", "double", "swap", "replace"])
    if kind == "drop":
        return word[:at] + word[at + 1 :]
    if kind == "double":
        return word[:at] + word[at] + word[at:]
    if kind == "swap":
        return word[: at - 1] + word[at] + word[at - 1] + word[at + 1 :]
    letters = "аеиоуынкрлстм" if any("а" <= c <= "я" for c in word.lower()) else "aeiounkrlstm"
    return word[:at] + rng.choice(letters) + word[at + 1 :]


def _other_patronymic(patronymic: str, female: bool, rng: random.Random, latin: bool) -> str:
    father = patronymic.replace(" қызы", "").replace(" ұлы", "").removesuffix("овна").removesuffix("ович")
    form = rng.choice(["russian", "kazakh", "none"])
    if form == "none":
        return ""
    text = father + (("овна" if female else "ович") if form == "russian" else (" қызы" if female else " ұлы"))
    return translit(text, rng) if latin else text


def _date_typo(born: date, rng: random.Random) -> date:
    for _ in range(10):
        try:
            if rng.random() < 0.4 and born.day <= 12:
                return born.replace(month=born.day, day=born.month)
            digits = f"{born.year:04d}{born.month:02d}{born.day:02d}"
            at = rng.choice([3, 5, 7])
            typed = digits[:at] + str((int(digits[at]) + rng.choice([1, 9])) % 10) + digits[at + 1 :]
            candidate = date(int(typed[:4]), int(typed[4:6]), int(typed[6:]))
            if candidate != born and candidate <= date.today():
                return candidate
        except ValueError:
            continue
    return born


def duplicate(source: Rec, rng: random.Random) -> Rec:
    """The same person registered again from other papers."""
    family, given, patronymic, _script, _kind = source.names[0]
    if len(source.names) > 1 and source.names[1][3] == "arabic" and rng.random() < 0.3:
        names = [source.names[1][:3] + ("arabic", "recorded_abroad")]
    else:
        latin = rng.random() < 0.65
        if rng.random() < 0.4:
            patronymic = _other_patronymic(patronymic, bool(source.female), rng, latin)
        elif latin:
            patronymic = translit(patronymic, rng)
        if latin:
            family, given = translit(family, rng), translit(given, rng)
        if rng.random() < 0.25:
            if rng.random() < 0.5:
                family = _typo(family, rng)
            else:
                given = _typo(given, rng)
        if rng.random() < 0.15:
            family, given = given, family  # written the other way round
        names = [(family, given, patronymic, "latin" if latin else "cyrillic", "recorded_abroad")]
    born, precision = source.born, source.precision
    roll = rng.random()
    if roll < 0.35 and born is not None:
        born, precision = born.replace(month=1, day=1), "year"
    elif roll < 0.45 and born is not None and precision == "exact":
        born = _date_typo(born, rng)
    elif roll < 0.52:
        born, precision = None, "unknown"
    female = None if rng.random() < 0.1 else source.female
    place = "" if rng.random() < 0.5 else (translit(source.place, rng) if rng.random() < 0.5 else source.place)
    return replace(
        source,
        id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        names=names,
        female=female,
        born=born,
        precision=precision,
        place=place,
        mother=None,
        source=source.id,
    )


# ---------------------------------------------------------------- loading


def load(engine: sa.Engine, records: list[Rec], clerk_id: str) -> int:
    """Persons, names, blocking keys and mothers' claims by bulk inserts (as the importer does)."""
    now = datetime(2025, 1, 1, tzinfo=UTC)
    persons, names, keys, claims = [], [], [], []
    for number, r in enumerate(records):
        persons.append(
            {
                "id": r.id,
                "registry_number": f"M{number:08d}",
                "sex": "unknown" if r.female is None else "female" if r.female else "male",
                "birth_date": r.born,
                "birth_date_precision": r.precision if r.born else "unknown",
                "place_of_birth_designation": r.place,
                "created_at": now,
                "updated_at": now,
            }
        )
        for position, (family, given, patronymic, script, kind) in enumerate(r.names):
            names.append(
                {
                    "id": str(uuid.uuid4()),
                    "person_id": r.id,
                    "position": position,
                    "kind": kind,
                    "script": script,
                    "family_name": family,
                    "given_name": given,
                    "patronymic": patronymic,
                    "is_official": position == 0,
                }
            )
        keys.extend(
            {"person_id": r.id, "key": k}
            for k in match_keys([n[:3] for n in r.names], r.born, r.precision if r.born else "unknown")
        )
        if r.mother:
            claims.append(
                {
                    "id": str(uuid.uuid4()),
                    "kind": "biological_mother",
                    "person_id": r.id,
                    "relative_id": r.mother,
                    "status": "claimed",
                    "note": "",
                    "claimed_by_id": clerk_id,
                    "created_at": now,
                    "updated_at": now,
                }
            )
    with engine.begin() as conn:
        person_table = Person.__table__
        defaults = {
            c.name: c.default.arg for c in person_table.columns if c.default is not None and not callable(c.default.arg)
        }
        conn.execute(person_table.insert(), [{**defaults, **p} for p in persons])
        for table, rows in (("person_names", names), ("person_match_keys", keys), ("relationships", claims)):
            if rows:
                conn.execute(Base.metadata.tables[table].insert(), rows)
        conn.exec_driver_sql("ANALYZE")
    return len(keys)


# ---------------------------------------------------------------- measuring


@dataclass
class Quality:
    truth: set[frozenset[str]]
    found: set[frozenset[str]] = field(default_factory=set)
    blocked: int = 0
    compared: int = 0
    # (field, level) -> [among true pairs, among other compared pairs]: what m and u are in this registry
    levels: dict[tuple[str, str], list[int]] = field(default_factory=dict)

    @property
    def true_positives(self) -> int:
        return len(self.found & self.truth)

    @property
    def precision(self) -> float:
        return self.true_positives / len(self.found) if self.found else 1.0

    @property
    def recall(self) -> float:
        return self.true_positives / len(self.truth) if self.truth else 1.0


def evaluate(sessions, records: list[Rec], truth: set[frozenset[str]], *, through_service: bool) -> Quality:
    """Every record looked up as the clerks' queue does; pairs offered vs the truth.

    ``through_service``: each lookup is ``engine.find_for_person`` against the database (the registry's own
    path; about 20 ms a lookup). Otherwise the same blocking rule (records sharing a stored key, most shared
    first, at most ``engine.MAX_BLOCK``) and the same ``compare.score`` run over records read once, so the
    whole registry is looked up in a minute or two; both give the same pairs.
    """
    quality = Quality(truth)
    with sessions() as db:
        if through_service:
            for r in records:
                for scored in matching.find_for_person(db, r.id):
                    quality.found.add(frozenset((r.id, scored.record.id)))
                ids = matching.blocked(db, matching.person_keys(db, r.id), exclude={r.id})
                quality.compared += len(ids)
                quality.blocked += sum(frozenset((r.id, i)) in truth for i in ids)
        else:
            loaded: dict[str, compare.Record] = {}
            ids = [r.id for r in records]
            for start in range(0, len(ids), 500):
                loaded.update(matching.load_records(db, ids[start : start + 500]))
            keys_of: dict[str, list[str]] = {}
            holders: dict[str, list[str]] = {}
            for person_id, key in db.execute(sa.select(PersonMatchKey.person_id, PersonMatchKey.key)):
                keys_of.setdefault(person_id, []).append(key)
                holders.setdefault(key, []).append(person_id)
            for r in records:
                shared: dict[str, int] = {}
                for key in keys_of.get(r.id, ()):
                    for other in holders[key]:
                        if other != r.id:
                            shared[other] = shared.get(other, 0) + 1
                block = sorted(shared, key=lambda i: (-shared[i], i))[: matching.MAX_BLOCK]
                quality.compared += len(block)
                quality.blocked += sum(frozenset((r.id, i)) in truth for i in block)
                scored = [compare.score(loaded[r.id], loaded[i]) for i in block]
                for other, result in zip(block, scored, strict=False):
                    same = frozenset((r.id, other)) in truth
                    for reason in result.reasons:
                        quality.levels.setdefault((reason.field, reason.level), [0, 0])[0 if same else 1] += 1
                kept = sorted(
                    (s for s in scored if s.probability >= matching.SHOWN),
                    key=lambda s: (-s.weight, s.record.registry_number),
                )[: matching.MAX_SHOWN]
                quality.found.update(frozenset((r.id, s.record.id)) for s in kept)
    quality.blocked //= 2  # each true pair is blocked from both sides
    return quality


def show_levels(quality: Quality) -> None:
    """Each field level's weight in use beside log2(m/u) measured here (m among true pairs, u among the other
    pairs blocking put together): where the two part, the weights do not fit this registry."""
    true_total = sum(1 for _ in quality.truth) * 2 or 1  # each true pair is compared from both sides
    other_total = max(1, quality.compared - true_total)
    in_use = {
        "name": None,
        "birth_date": compare.DATE_WEIGHTS,
        "sex": compare.SEX_WEIGHTS,
        "place_of_birth": compare.PLACE_WEIGHTS,
        "mother": compare.MOTHER_WEIGHTS,
    }
    print("\n  field level: weight in use | log2(m/u) measured (m, u)")
    for (name, level), (same, other) in sorted(quality.levels.items()):
        m, u = same / true_total, other / other_total
        measured = f"{math.log2(m / u):+.1f}" if m and u else "n/a"
        weight = (in_use.get(name) or {}).get(level)
        print(
            f"    {name:15} {level:22} {'' if weight is None else f'{weight:+.1f}':>6} | {measured:>6} "
            f"({m:.3f}, {u:.4f})"
        )


def show_errors(sessions, quality: Quality, count: int) -> None:
    """Pairs offered wrongly and pairs missed, each with its field comparisons: what to tune."""
    with sessions() as db:
        for title, pairs in (
            ("offered, not the same person", quality.found - quality.truth),
            ("missed", quality.truth - quality.found),
        ):
            print(f"\n  {title}:")
            for pair in sorted(pairs, key=sorted)[:count]:
                a, b = sorted(pair)
                records = matching.load_records(db, [a, b])
                scored = compare.score(records[a], records[b])
                print(
                    f"    {scored.weight:6.1f}  {[n.written for n in records[a].names]} "
                    f"{records[a].birth_date}/{records[a].birth_date_precision} {records[a].sex} | "
                    f"{[n.written for n in records[b].names]} {records[b].birth_date}/"
                    f"{records[b].birth_date_precision} {records[b].sex}"
                )
                print("            " + ", ".join(f"{r.field}={r.level}({r.weight:+.1f})" for r in scored.reasons))


def draft_of(r: Rec) -> dict:
    return {
        "names": [
            {"family_name": f, "given_name": g, "patronymic": p, "script": s, "kind": k} for f, g, p, s, k in r.names
        ],
        "sex": "unknown" if r.female is None else "female" if r.female else "male",
        "birth_date": r.born.isoformat() if r.born else None,
        "birth_date_precision": r.precision if r.born else "unknown",
        "place_of_birth_designation": r.place,
    }


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def timed(sessions, actor: Actor, drafts: list[dict], numbers: list[str]) -> tuple[list[float], list[float]]:
    """Milliseconds per lookup: candidates of a draft (the service, its log event included), and the baseline,
    one person by registry number (an index lookup), in alternation so that both see the same machine."""
    lookups, baseline = [], []
    with sessions() as db:
        for data, number in zip(drafts, itertools.cycle(numbers)):
            started = time.perf_counter()
            matching_service.candidates_of_draft(db, actor, data)
            lookups.append((time.perf_counter() - started) * 1000)
            db.rollback()
            started = time.perf_counter()
            db.scalar(sa.select(Person).where(Person.registry_number == number))
            baseline.append((time.perf_counter() - started) * 1000)
            db.rollback()
    return lookups, baseline


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--persons", type=int, default=20_000, help="distinct persons in the registry")
    parser.add_argument("--duplicates", type=int, default=2_000, help="of them registered a second time")
    parser.add_argument("--lookups", type=int, default=200, help="timed lookups of a new person")
    parser.add_argument("--seed", type=int, default=21)
    parser.add_argument("--keep", action="store_true", help="keep the database (its location is printed)")
    parser.add_argument(
        "--through-service",
        action="store_true",
        help="look every record up through the database (slow) instead of in memory",
    )
    parser.add_argument("--show-levels", action="store_true", help="print each field level's m and u as measured")
    parser.add_argument(
        "--show-errors",
        type=int,
        default=0,
        metavar="N",
        help="print N wrongly offered and N missed pairs with their comparisons",
    )
    args = parser.parse_args()
    rng = random.Random(args.seed)
    workdir = Path(tempfile.mkdtemp(prefix="bench-matching-"))
    url = f"sqlite:///{workdir / 'registry.sqlite3'}"
    started = time.perf_counter()
    base = families(args.persons, rng)
    sources = rng.sample(base, args.duplicates)
    dups = [duplicate(s, rng) for s in sources]
    records = base + dups
    rng.shuffle(records)
    truth = {frozenset((d.id, d.source)) for d in dups}
    engine = make_engine(url)
    upgrade(engine)
    # No timers (checkpoints, copies): the bench measures lookups, not the background work of a server.
    app = create_app(
        load_settings(
            {},
            database_url=url,
            instance_path=str(workdir / "instance"),
            testing=True,
            audit_checkpoint_minutes=0,
            copy_workers=0,
            copy_sweep_seconds=0,
            worm_selftest=False,
        )
    )
    app.extensions["registry"].raw_store.ensure_container()
    ok = True
    try:
        with app.app_context(), force_locale("en"):
            sessions = make_session_factory(engine)
            actor = clerk_actor(sessions)
            key_rows = load(engine, records, actor.user_id)
            print(
                f"registry: {len(records):,} records ({args.persons:,} persons, {len(dups):,} registered twice), "
                f"{key_rows:,} blocking keys; built in {time.perf_counter() - started:.0f} s"
            )
            started = time.perf_counter()
            quality = evaluate(sessions, records, truth, through_service=args.through_service)
            elapsed = time.perf_counter() - started
            how = "through the database" if args.through_service else "in memory, the engine's blocking and scoring"
            print(
                f"\nquality at match probability >= {matching.SHOWN} (every record looked up {how}, {elapsed:.0f} s):"
            )
            print(f"  true pairs {len(truth):,}; offered {len(quality.found):,}; right {quality.true_positives:,}")
            print(
                f"  precision {quality.precision:.3f} (target >= {TARGET_PRECISION})   "
                f"recall {quality.recall:.3f} (target >= {TARGET_RECALL})"
            )
            print(
                f"  blocking: {quality.compared / len(records):.1f} records compared per lookup; "
                f"true pairs sharing a key {quality.blocked / len(truth):.3f}"
            )
            ok &= quality.precision >= TARGET_PRECISION and quality.recall >= TARGET_RECALL
            if args.show_levels and not args.through_service:
                show_levels(quality)
            if args.show_errors:
                show_errors(sessions, quality, args.show_errors)

            new_people = [duplicate(s, rng) for s in rng.sample(base, args.lookups // 2)]
            new_people += families(args.lookups - len(new_people), random.Random(args.seed + 1))
            drafts = [draft_of(r) for r in new_people]
            with sessions() as db:
                numbers = list(db.scalars(sa.select(Person.registry_number).order_by(sa.func.random()).limit(50)))
            timed(sessions, actor, drafts[:20], numbers)  # warm the caches as a running service has them
            print(f"\nload average before timing: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
            lookups, baseline = timed(sessions, actor, drafts, numbers)
            median, p95 = statistics.median(lookups), percentile(lookups, 95)
            base_median = statistics.median(baseline)
            print(
                f"candidates for one new person ({len(lookups)} lookups, half of them duplicates): "
                f"median {median:.1f} ms, p95 {p95:.1f} ms (target < {TARGET_MS:.0f} ms)"
            )
            print(
                f"baseline, one person by registry number: median {base_median:.2f} ms, "
                f"p95 {percentile(baseline, 95):.2f} ms; candidates / baseline = {median / base_median:.0f}x"
            )
            ok &= p95 < TARGET_MS
    finally:
        app.extensions["registry"].engine.dispose()
        engine.dispose()
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
