"""Comparing two person records field by field, and weighing the comparison (Fellegi–Sunter).

Each field comparison falls into one *level* (names agree exactly, closely, differ; dates agree to the day,
to the month, ...). A level carries a weight in bits, log2(m / u): m is how often two records of one person
fall into it, u how often two records of different persons in a block do. The weights add up with a prior,
and the sum is a match probability. Pure functions over plain records: no database, no request.

Where the fields are not independent the comparison is joint, as Fellegi–Sunter allows: family name, given
name and patronymic are one comparison (sisters share family name and patronymic, so their agreement is no
evidence once the given names differ), and a shared mother counts only where the given names agree.

Weights: chosen from what the registry's records look like (transliterated names, patronymic forms, dates
known to the year) and checked against the synthetic registry of ``bench/matching.py``, which builds
duplicates the way they arise here; the bench prints the precision and recall they give.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

from rapidfuzz.distance import OSA, JaroWinkler

from registry.persons.name_keys import latin_form, phonetic_key

# ---------------------------------------------------------------- names

# Words that only say "son of" / "daughter of" (Kazakh, Kyrgyz, Uzbek, Azerbaijani, Arabic), as spelt after
# ``fold``: Нұрлан қызы, Rustam o'g'li, Ahmad ibn Ali. Present or not, they never tell two persons apart.
_FILIAL_WORDS = frozenset({"kizi", "gizi", "kiz", "uli", "ulu", "ugli", "ogli", "oglu", "ibn", "bin", "bint", "binti"})
# Endings of patronymics and family names (after ``fold``), longest first: Нурлановна, Нурланұлы and
# Nurlan kyzy all keep "nurlan"; Абдирасулова and Абдірасұлқызы keep "abdirasul". Stripped where 3 letters stay.
_SUFFIXES = (
    "ovna",
    "evna",
    "ovich",
    "evich",
    "ovic",
    "evic",
    "kizi",
    "gizi",
    "ugli",
    "ogli",
    "ova",
    "eva",
    "uli",
    "ov",
    "ev",
)
_SUFFIX = re.compile("(?:" + "|".join(_SUFFIXES) + ")$")
# Spellings that Latin records use for one Cyrillic letter, made one (applied in this order): ou/u (у),
# kh/h/x (х), gh/g (ғ), q/k (қ), w/v (в), dzh/dj/j (ж), ye/e (е), ae/a (ә), oe/o (ө), ue/u (ү), y/i (ы, й).
_FOLDS = (
    (re.compile("ou"), "u"),
    (re.compile("kh|x"), "h"),
    (re.compile("gh"), "g"),
    (re.compile("q"), "k"),
    (re.compile("w"), "v"),
    (re.compile("ph"), "f"),
    (re.compile("dzh|dj"), "zh"),
    (re.compile("(?<=[aeiouy])j(?![aeiouy])"), "i"),
    (re.compile("j"), "zh"),
    (re.compile("ye"), "e"),
    (re.compile("(?<=[aou])e"), ""),
    (re.compile("y"), "i"),
)
_DOUBLED = re.compile(r"(.)\1+")


@lru_cache(maxsize=65536)
def fold(latin: str) -> str:
    """One spelling for the transliterations of one Cyrillic spelling (Yusupowa = Iusupova = Юсупова,
    Ourazova = Уразова, Raximova = Rakhimova, Aigyerim = Айгерим); compared, never shown or stored."""
    word = latin
    for pattern, replacement in _FOLDS:
        word = pattern.sub(replacement, word)
    return _DOUBLED.sub(r"\1", word)


@lru_cache(maxsize=65536)
def stem(text: str) -> str:
    """A name part folded, without its patronymic or family-name ending and "son/daughter of" words."""
    words = [w for w in (fold(w) for w in latin_form(text).split()) if w not in _FILIAL_WORDS]
    out = []
    for word in words:
        cut = _SUFFIX.sub("", word)
        out.append(cut if len(cut) >= 3 else word)
    return " ".join(out)


@lru_cache(maxsize=65536)
def stem_key(text: str) -> str:
    """The sound of a stem (``name_keys.phonetic_key``): the blocking key of one name part."""
    return phonetic_key(stem(text)) if stem(text) else ""


@dataclass(frozen=True)
class NamePart:
    """One part of a name (family, given or patronymic), as written and in the forms that are compared."""

    written: str
    latin: str
    folded: str
    stem: str
    sound: str

    @classmethod
    def of(cls, text: str) -> NamePart:
        return _part(text or "")

    def __bool__(self) -> bool:
        return bool(self.stem or self.latin)


@lru_cache(maxsize=65536)
def _part(text: str) -> NamePart:
    latin = latin_form(text)
    return NamePart(text, latin, " ".join(fold(w) for w in latin.split()), stem(text), stem_key(text))


@dataclass(frozen=True)
class Name:
    family: NamePart
    given: NamePart
    patronymic: NamePart

    @classmethod
    def of(cls, family: str, given: str, patronymic: str = "") -> Name:
        return cls(NamePart.of(family), NamePart.of(given), NamePart.of(patronymic))

    @property
    def written(self) -> str:
        return " ".join(p.written for p in (self.family, self.given, self.patronymic) if p.written)


EXACT, CLOSE, DIFFERENT, MISSING = "exact", "close", "different", "missing"
CLOSE_SPELLING = 0.92  # Jaro-Winkler similarity from which two spellings count as close (a typo, a variant)


def compare_part(a: NamePart, b: NamePart) -> str:
    """exact: the same word in any script or form (Абдирасулова = Abdirasulova = Абдірасұлқызы);
    close: the same sound or a spelling a letter or two away (Zhanar = Janar, Aigerim = Aigrim); different;
    missing when either record lacks the part."""
    if not a or not b:
        return MISSING
    if a.latin == b.latin or a.folded == b.folded or (a.stem and a.stem == b.stem):
        return EXACT
    if (
        (a.sound and a.sound == b.sound)
        or JaroWinkler.similarity(a.stem, b.stem) >= CLOSE_SPELLING
        or JaroWinkler.similarity(a.folded, b.folded) >= CLOSE_SPELLING
        or _one_slip(a.folded, b.folded)
    ):
        return CLOSE
    return DIFFERENT


def _one_slip(a: str, b: str) -> bool:
    """A letter dropped, added, replaced or two exchanged (Ivan/Ioan, Ajgreim/Aigerim); two in a long word."""
    shortest = min(len(a), len(b))
    return shortest >= 4 and OSA.distance(a, b, score_cutoff=2) <= (2 if shortest >= 9 else 1)


def _agrees(level: str) -> bool:
    return level in (EXACT, CLOSE)


@dataclass(frozen=True)
class NameComparison:
    level: str  # see NAME_WEIGHTS
    weight: float
    family: str
    given: str
    patronymic: str
    swapped: bool
    ours: str
    theirs: str


# The name levels and their weights in bits. "all": family and given agree; the patronymic adds to it.
NAME_WEIGHTS = {
    "all_exact": 11.0,
    "all_one_close": 9.5,
    "all_close": 8.0,  # family and given names agree
    "given_only": -6.0,  # the given name agrees, the family name differs (married, or a namesake)
    "given_no_family": 3.0,  # one record has no family name
    "family_only": -8.0,  # the family name agrees, the given name differs: sisters, brothers, twins
    "family_no_given": 2.0,
    "none": -12.0,
}
PATRONYMIC_WEIGHTS = {EXACT: 3.0, CLOSE: 2.0, DIFFERENT: -8.0, MISSING: 0.0}
SWAPPED_WEIGHT = -0.5  # given and family name exchanged: as common as it is, the written order wins a tie


def _name_level(family: str, given: str) -> str:
    if _agrees(family) and _agrees(given):
        exact = (family == EXACT) + (given == EXACT)
        return ("all_close", "all_one_close", "all_exact")[exact]
    if _agrees(given):
        return "given_no_family" if family == MISSING else "given_only"
    if _agrees(family):
        return "family_no_given" if given == MISSING else "family_only"
    return "none"


def compare_patronymics(ours: list[Name], theirs: list[Name]) -> str:
    """The best agreement of any patronymic of one record with any of the other (missing if either has none):
    a name written without one (as abroad) does not hide that the records' patronymics differ."""
    levels = {compare_part(a.patronymic, b.patronymic) for a in ours for b in theirs}
    return next((level for level in (EXACT, CLOSE, DIFFERENT) if level in levels), MISSING)


def compare_names(ours: list[Name], theirs: list[Name]) -> NameComparison | None:
    """The best agreement between any name of one record and any name of the other, either way round."""
    best: NameComparison | None = None
    patronymic = compare_patronymics(ours, theirs)
    for a in ours:
        for b in theirs:
            for swapped in (False, True):
                family_b, given_b = (b.given, b.family) if swapped else (b.family, b.given)
                family, given = compare_part(a.family, family_b), compare_part(a.given, given_b)
                level = _name_level(family, given)
                weight = NAME_WEIGHTS[level] + (SWAPPED_WEIGHT if swapped else 0.0)
                if level.startswith("all") or level.startswith("given"):
                    weight += PATRONYMIC_WEIGHTS[patronymic]
                if best is None or weight > best.weight:
                    best = NameComparison(level, weight, family, given, patronymic, swapped, a.written, b.written)
    return best


# ---------------------------------------------------------------- dates

_RANK = {"exact": 3, "month": 2, "year": 1, "estimated": 0}
DATE_WEIGHTS = {
    "same_day": 12.0,
    "same_month": 6.0,
    "same_year": 3.0,
    "typo": 4.0,
    "adjacent_year": 0.0,
    "about": 2.0,
    "same_year_only": -2.0,
    "different": -9.0,
    MISSING: 0.0,
}


def _one_digit_apart(a: int, b: int, width: int) -> bool:
    """Differ by one mistyped digit or two neighbouring digits exchanged (1984/1948, 12/21)."""
    x, y = f"{a:0{width}d}", f"{b:0{width}d}"
    diff = [i for i in range(width) if x[i] != y[i]]
    return len(diff) == 1 or (
        len(diff) == 2 and diff[1] == diff[0] + 1 and x[diff[0]] == y[diff[1]] and x[diff[1]] == y[diff[0]]
    )


def _typo(a: date, b: date) -> bool:
    if a.year == b.year and a.day == b.month and a.month == b.day:
        return True  # day and month exchanged (American order, or a slip)
    parts = [(a.year, b.year, 4), (a.month, b.month, 2), (a.day, b.day, 2)]
    differing = [p for p in parts if p[0] != p[1]]
    return len(differing) == 1 and _one_digit_apart(*differing[0])


def compare_dates(a: date | None, pa: str, b: date | None, pb: str) -> str:
    """Agreement of two birth dates at the precision both records have (a date known to the year agrees with
    any day of that year)."""
    if a is None or b is None or pa not in _RANK or pb not in _RANK:
        return MISSING
    precision = min(_RANK[pa], _RANK[pb])
    if precision == 3:
        return (
            "same_day" if a == b else "typo" if _typo(a, b) else "same_year_only" if a.year == b.year else "different"
        )
    if precision == 2:
        return (
            "same_month"
            if (a.year, a.month) == (b.year, b.month)
            else "same_year_only"
            if a.year == b.year
            else "typo"
            if a.month == b.month and _one_digit_apart(a.year, b.year, 4)
            else "different"
        )
    if precision == 1:
        return "same_year" if a.year == b.year else "adjacent_year" if abs(a.year - b.year) == 1 else "different"
    return "about" if abs(a.year - b.year) <= 2 else "different"


# ---------------------------------------------------------------- the other fields

SEX_WEIGHTS = {"same": 1.0, "different": -6.0, MISSING: 0.0}
PLACE_WEIGHTS = {"same": 2.0, "different": -1.0, MISSING: 0.0}
DOCUMENT_WEIGHTS = {"same": 10.0, MISSING: 0.0}
MOTHER_WEIGHTS = {"same": 3.0, "same_mother_other_name": -6.0, "different": -3.0, MISSING: 0.0}
CHILD_WEIGHTS = {"shared": 6.0, MISSING: 0.0}
# Prior odds, in bits, that two records sharing a blocking key are one person (about one in a thousand).
PRIOR = -10.0


def compare_sex(a: str, b: str) -> str:
    known = {"female", "male"}
    if a not in known or b not in known:
        return MISSING
    return "same" if a == b else "different"


def compare_places(a: str, b: str) -> str:
    if not (a or "").strip() or not (b or "").strip():
        return MISSING
    la, lb = latin_form(a), latin_form(b)
    if la == lb or JaroWinkler.similarity(la, lb) >= 0.9 or set(la.split()) & set(lb.split()) - {"g", "s"}:
        return "same"
    return "different"


def normal_document_number(text: str) -> str:
    """A document number as compared: letters and digits only, upper case (N 12 345-67 = N1234567)."""
    return re.sub(r"[^0-9A-Z]", "", (text or "").upper())


# ---------------------------------------------------------------- records and their comparison


@dataclass
class Record:
    """What matching reads of a person (or of a draft before it is registered)."""

    id: str
    names: list[Name]
    sex: str = "unknown"
    birth_date: date | None = None
    birth_date_precision: str = "unknown"
    place: str = ""
    registry_number: str = ""
    document_numbers: frozenset[str] = frozenset()
    mothers: frozenset[str] = frozenset()
    children: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Reason:
    """One field's comparison: its level (a code the page puts in words) and the weight it added."""

    field: str
    level: str
    weight: float
    detail: dict = field(default_factory=dict)


@dataclass
class Scored:
    record: Record
    weight: float
    probability: float
    reasons: list[Reason]


def score(ours: Record, theirs: Record) -> Scored:
    """The match weight and probability of two records, with the comparison of each field."""
    reasons: list[Reason] = []
    names = compare_names(ours.names, theirs.names)
    given_agrees = False
    if names is not None:
        given_agrees = _agrees(names.given)
        reasons.append(
            Reason(
                "name",
                names.level,
                names.weight,
                {
                    "family": names.family,
                    "given": names.given,
                    "patronymic": names.patronymic,
                    "swapped": names.swapped,
                    "ours": names.ours,
                    "theirs": names.theirs,
                },
            )
        )
    born = compare_dates(ours.birth_date, ours.birth_date_precision, theirs.birth_date, theirs.birth_date_precision)
    reasons.append(Reason("birth_date", born, DATE_WEIGHTS[born]))
    sex = compare_sex(ours.sex, theirs.sex)
    reasons.append(Reason("sex", sex, SEX_WEIGHTS[sex]))
    place = compare_places(ours.place, theirs.place)
    reasons.append(Reason("place_of_birth", place, PLACE_WEIGHTS[place]))
    if ours.document_numbers and theirs.document_numbers and ours.document_numbers & theirs.document_numbers:
        reasons.append(Reason("document_number", "same", DOCUMENT_WEIGHTS["same"]))
    if ours.mothers and theirs.mothers:
        level = ("same" if given_agrees else "same_mother_other_name") if ours.mothers & theirs.mothers else "different"
        reasons.append(Reason("mother", level, MOTHER_WEIGHTS[level]))
    if ours.children & theirs.children:
        reasons.append(Reason("child", "shared", CHILD_WEIGHTS["shared"]))
    total = PRIOR + sum(r.weight for r in reasons)
    return Scored(theirs, total, probability(total), reasons)


def probability(weight: float) -> float:
    return 1.0 / (1.0 + math.pow(2.0, -weight))
