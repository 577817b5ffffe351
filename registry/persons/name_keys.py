"""Search keys for person names written in Cyrillic (Russian, Kazakh), Latin or Arabic script.

The same person reaches the registry spelled many ways: a Kazakh passport (ICAO-style
Latin), a Russian-language record, an Iraqi or Syrian paper in Arabic script, a
clerk's phonetic guess. Search must find them all *through indexes*: every name is
reduced to precomputed keys so that matching is equality or a prefix range, never a
scan.

Two keys per word:

* ``latin_form`` - one plain ASCII spelling (``Абдірасұлова`` -> ``abdirasulova``).
  Equal ``latin_form`` is an exact match; a stored word starting with the query word
  is a prefix match (``ivanov`` finds ``ivanova``).
* ``phonetic_key`` - a consonant skeleton that spelling variants share
  (``Abdurasulova``, ``Abdirassulova``, ``Абдірасұлова`` -> ``abdrslva``).

Both keys contain only ``[a-z0-9]``, so byte order equals letter order: a prefix is the
range ``[p, p + "{")`` under a binary ("C") collation in PostgreSQL and SQLite alike.

Known limits (chosen, not overlooked):

* Scripts other than Latin, Cyrillic and Arabic (Greek, CJK, ...) are dropped.
* ``x`` is ``ks`` inside a word (Maxim = Maksim, Alexander = Aleksandr) and ``h`` only
  at the start (Uzbek ``Xasan`` = Hasan); so Uzbek ``Axmedov`` does not meet Akhmedov.
* ``j`` is ж/дж (Kazakh Latin ``Janar``, English ``Jamila``), never the German/Polish
  й: ``Jusup`` does not meet ``Yusup``.
* The Russian г used for Arabic h (Ибрагим, Магомед) and the Kazakh p for f (Патима,
  Жүсіп) are not bridged; a dropped initial h (Асан vs Hasan) neither.
* Interior vowels are dropped, so names that differ only there share a key (Marat and
  Murat, Dana and Dina, Alina and Alyona): the phonetic tier ranks below exact and
  prefix matches for that reason. 217 common Kazakh and Russian names and surnames
  give 211 keys: Omarov/Umarov and Rinad/Rinat (one name) and Dana/Dina, Alina/Alyona,
  Marat/Murat, Belov/Belyaev (different names) share theirs.
* Final devoicing (Ахмед = Akhmet) happens only at the end of a word, so ``Ahmad`` is
  not a phonetic prefix of ``Akhmedov`` (it still is a Latin prefix of ``Ahmadov``).
* Arabic script is written without short vowels, so its keys rely on the consonant
  skeleton; ``الله`` and the article ``ال`` before sun letters are special-cased.
  Compound Arabic names split differently (``Abdul Rahman`` vs ``Abdurrahman``) only
  meet when the split word is ``Abd`` (``Abd al-Rahman``, ``عبد الله``).
* The 2017 Kazakh apostrophe alphabet (``s'`` for ш) is read as plain ``s``.
"""

from __future__ import annotations

import re
import unicodedata
from typing import NamedTuple

PHONETIC_PREFIX_MIN = 3
"""A phonetic key this long or longer may also match as a prefix; shorter would match half the registry."""

# Apostrophes (also the ones standing for ь, ъ or Uzbek oʻ/gʻ) and the Arabic tatweel are
# removed so the word stays whole: Ol'ga = Olga, Gʻulomov = Gulomov. (Format and bidi
# controls are removed later, with the accents.)
_DROP_JOINERS = str.maketrans(
    "", "", "'`\u00b4\u02b9\u02ba\u02bb\u02bc\u02bd\u02c8\u2018\u2019\u201b\u2032\u2033\uff07\uff40\u0640"
)

# Russian: ICAO 9303 as in passports, except я/ю as ya/yu (the common Kazakh usage)
# and ё as e (Russian texts often write е for ё, Артём = Артем).
# Kazakh letters as in Kazakh passports (ә a, ғ g, қ k, ң n, ө o, ұ u, ү u, һ h, і i).
# A few Ukrainian, Tatar, Uzbek and Tajik letters that appear in Central Asian records.
_CYRILLIC = {
    "а": "a",
    "б": "b",
    "в": "v",
    "г": "g",
    "д": "d",
    "е": "e",
    "ё": "e",
    "ж": "zh",
    "з": "z",
    "и": "i",
    "й": "i",
    "к": "k",
    "л": "l",
    "м": "m",
    "н": "n",
    "о": "o",
    "п": "p",
    "р": "r",
    "с": "s",
    "т": "t",
    "у": "u",
    "ф": "f",
    "х": "kh",
    "ц": "ts",
    "ч": "ch",
    "ш": "sh",
    "щ": "shch",
    "ъ": "",
    "ы": "y",
    "ь": "",
    "э": "e",
    "ю": "yu",
    "я": "ya",
    "ә": "a",
    "ғ": "g",
    "қ": "k",
    "ң": "n",
    "ө": "o",
    "ұ": "u",
    "ү": "u",
    "һ": "h",
    "і": "i",
    "є": "ye",
    "ї": "yi",
    "ґ": "g",
    "ў": "u",
    "ҳ": "h",
    "җ": "zh",
    "ҷ": "j",
    "ӣ": "i",
    "ӯ": "u",
    "ҡ": "k",
    "ҙ": "z",
    "ҫ": "s",
    "ӏ": "",
}

# Arabic consonants as Kazakh, Turkish and Persian speakers say them (ث s, ذ z, ظ z),
# which is how such names reach Cyrillic (Осман, Закир). Long-vowel letters stay vowels
# (و u, ي i, ى a) because names like محمود, يوسف, موسى need them; ع and hamza carriers
# become vowels because عمر, علي, إبراهيم start with a vowel sound. Persian and the
# Kazakh Arabic alphabet (used in Xinjiang) add پ چ ژ گ ک ی and ۇ ٷ ۆ ە ڭ ۋ.
_ARABIC = {
    "ا": "a",
    "أ": "a",
    "إ": "i",
    "آ": "a",
    "ٱ": "a",
    "ء": "",
    "ؤ": "u",
    "ئ": "i",
    "ب": "b",
    "ت": "t",
    "ة": "a",
    "ث": "s",
    "ج": "j",
    "ح": "h",
    "خ": "kh",
    "د": "d",
    "ذ": "z",
    "ر": "r",
    "ز": "z",
    "س": "s",
    "ش": "sh",
    "ص": "s",
    "ض": "d",
    "ط": "t",
    "ظ": "z",
    "ع": "a",
    "غ": "gh",
    "ف": "f",
    "ق": "q",
    "ك": "k",
    "ل": "l",
    "م": "m",
    "ن": "n",
    "ه": "h",
    "و": "u",
    "ى": "a",
    "ي": "i",
    "\u0670": "a",
    "پ": "p",
    "چ": "ch",
    "ژ": "zh",
    "گ": "g",
    "ک": "k",
    "ی": "i",
    "ہ": "h",
    "ھ": "h",
    "ے": "e",
    "ۇ": "u",
    "ٷ": "u",
    "ۆ": "o",
    "ە": "e",
    "ڭ": "n",
    "ۋ": "v",
    "\u0674": "",
}

# Latin letters that Unicode does not decompose, and the Turkic/Slavic háček and cedilla
# letters that must not fold to a bare s/c/z: Kazakh and Turkish ş is ш, not с.
_LATIN = {
    "ş": "sh",
    "š": "sh",
    "ç": "ch",
    "č": "ch",
    "ž": "zh",
    "ı": "i",
    "ə": "a",
    "ŋ": "n",
    "ø": "o",
    "æ": "ae",
    "œ": "oe",
    "đ": "d",
    "ð": "d",
    "þ": "th",
    "ł": "l",
    "ħ": "h",
}

_LETTERS = str.maketrans({**_CYRILLIC, **_ARABIC, **_LATIN})

_ARABIC_LETTER = "\u0620-\u064a\u066e-\u06d3\u06d5"
# Short-vowel marks and Quranic signs: unwritten in most records, so dropped everywhere.
_ARABIC_MARKS = re.compile("[\u064b-\u065f\u06d6-\u06ed]")
# The word Allah ends many names (عبدالله, فتح الله); its ه is spoken, its ل doubled.
_ALLAH = re.compile("الل\u0670?ه")
# The article before a "sun letter" is spoken as that letter: عبد الرحمن = Abd ar-Rahman.
_SUN_ARTICLE = re.compile(f"(?:(?<=عبد)|(?<![{_ARABIC_LETTER}]))ال(?=[تثدذرزسشصضطظلن])")
# ع before a long-vowel letter lets that letter carry the vowel (عيسى = Isa, عادل = Adil);
# elsewhere it stands for the unwritten vowel it comes with (علي = Ali, جعفر = Jafar).
_AYN_BEFORE_VOWEL = re.compile("ع(?=[اويىی])")
# A final ه after a consonant is the "-a" of Persian-style spellings (فاطمه = Fatima).
_FINAL_HEH = re.compile(f"(?<=[{_ARABIC_LETTER}])(?<![اويىی])ه(?![{_ARABIC_LETTER}])")

# "Abd" is never a name on its own: Abd Allah, Abd al-Rahman, عبد الله are one name.
_ABD_COMPOUND = re.compile(r"\babd (?:([aeiu][a-z]) )?(?=[a-z])")
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")


def latin_form(name: str) -> str:
    """One ASCII spelling of ``name``: lowercase words of ``[a-z0-9]`` separated by one space.

    NFKC first so compatibility forms (ligatures, full-width letters, ﷲ) and NFC/NFD
    input give the same result; casefold so case never matters.
    """
    text = unicodedata.normalize("NFKC", name.translate(_DROP_JOINERS)).casefold()
    text = _ARABIC_MARKS.sub("", text)
    text = _ALLAH.sub("allah", text)
    text = _SUN_ARTICLE.sub("ا", text)
    text = _AYN_BEFORE_VOWEL.sub("", text)
    text = _FINAL_HEH.sub("a", text)
    text = unicodedata.normalize("NFKD", text.translate(_LETTERS))
    if not text.isascii():
        text = "".join(_fold(ch) for ch in text)
    text = _NOT_ALNUM.sub(" ", text.lower()).strip()
    return _ABD_COMPOUND.sub(lambda m: "abd" + (m[1] or ""), text)


def _fold(ch: str) -> str:
    """Drop accents and invisible controls (é = e); any other foreign sign separates words."""
    if ch.isascii():
        return ch
    return "" if unicodedata.category(ch)[0] in "MC" else " "


def search_tokens(name: str) -> list[str]:
    """The distinct words of ``latin_form(name)``, in order of first appearance."""
    return list(dict.fromkeys(latin_form(name).split()))


# Spellings of one sound, longest first so ``shch`` wins over ``sh``. Each maps to one
# letter: ш w, ж/дж j, ч c, ц q, х h (w, q, c, x are free once their own sounds are mapped).
_PHONEME = re.compile(r"shch|sch|dzh|sh|zh|dj|ch|ts|kh|gh|ph|th|ck|ng|[cqwx]")
_PHONEME_LETTER = {
    "shch": "w",
    "sch": "w",
    "sh": "w",
    "dzh": "j",
    "zh": "j",
    "dj": "j",
    "ch": "c",
    "ts": "q",
    "c": "q",
    "kh": "h",
    "gh": "g",
    "ph": "f",
    "th": "t",
    "ck": "k",
    # ң is n in passports and ng elsewhere (Zhenis, Zhengis).
    "ng": "n",
    "q": "k",
    "w": "v",
    "x": "ks",
}
# Voicing is lost at word ends in Kazakh and Russian: Ахмед = Akhmet, Ayub = Ayup.
_FINAL_DEVOICED = {"d": "t", "b": "p"}
# -ah / -akh: Abdullah = Abdulla = Абдуллах, Fatimah = Fatima.
_FINAL_H = re.compile(r"(?<=[ae])k?h$")
# German-style final й: Sergej = Sergey.
_FINAL_J = re.compile(r"(?<=[aeiouy])j$")
# Abdulrahman = Abdurrahman: the article's l is assimilated by a following sun consonant.
_ABD_SUN = re.compile(r"^(abd[aeiouy])l(?=[tlnrswz])")
_DOUBLED = re.compile(r"(.)\1+")
_VOWELS = "aeiouy"
_VOWEL = re.compile(f"[{_VOWELS}]")
_FINAL_VOWEL_CLASS = {"a": "a", "e": "e", "i": "i", "y": "i", "o": "u", "u": "u"}
_ONSET_CLASS = {"a": "a", "o": "a", "u": "a", "e": "e", "i": "e", "y": "e"}


def phonetic_key(token: str) -> str:
    """A consonant skeleton shared by spelling variants of one word.

    Doubled letters collapse (Abdirassulova); each sound's spellings become one letter
    (kh/h/x, sh/sch/shch, zh/j/dzh, ts/c, q/k, gh/g, w/v, ph/f); a final d or b is
    devoiced as Kazakh and Russian speakers say it (Ахмед = Akhmet). Vowels are where
    spellings and scripts disagree most (Абдірасұлова, Abdurasulova; Arabic writes
    none), so inside a word they are dropped; at the start only front (e, i, y) versus
    back (a, o, u) is kept (Yerlan = Erlan, Iusup = Yusup, عمر = Omar, but Erlan is not
    Arlan). The final vowel keeps its class (a, e, i/y, o/u) because it carries gender:
    Ivanova is not Ivanov, Aliya is not Ali.
    """
    word = latin_form(token).replace(" ", "")
    word = _FINAL_J.sub("i", _FINAL_H.sub("", word))
    if word.startswith("x"):
        word = "h" + word[1:]
    word = _DOUBLED.sub(r"\1", word)
    word = _PHONEME.sub(lambda m: _PHONEME_LETTER[m[0]], word)
    word = _DOUBLED.sub(r"\1", _ABD_SUN.sub(r"\1", word))
    rest = word.lstrip(_VOWELS)
    body = rest.rstrip(_VOWELS)
    head, tail = word[: len(word) - len(rest)], rest[len(body) :]
    consonants = _VOWEL.sub("", body)
    if body and not tail:
        consonants = consonants[:-1] + _FINAL_DEVOICED.get(consonants[-1], consonants[-1])
    ending = _FINAL_VOWEL_CLASS[tail[-1]] if body and tail else ""
    onset = _ONSET_CLASS[head[0]] if head else ""
    return onset + consonants + ending


class QueryToken(NamedTuple):
    """One word of a query (or of a stored name) with both of its search keys."""

    latin: str
    phonetic: str


def query_keys(q: str) -> list[QueryToken]:
    """The keys to look up for each distinct word of ``q``; also the keys to store for a name."""
    return [QueryToken(word, phonetic_key(word)) for word in search_tokens(q)]


def _word_score(query: QueryToken, word: QueryToken) -> float:
    """Tiers that never overlap: exact 1, prefix 0.6-0.9, phonetic 0.5, phonetic prefix 0.3-0.45.

    Inside the prefix tiers a completion closer in length ranks higher (ivan: ivanov
    before ivanovskaya).
    """
    if word.latin == query.latin:
        return 1.0
    if word.latin.startswith(query.latin):
        return 0.6 + 0.3 * len(query.latin) / len(word.latin)
    if word.phonetic == query.phonetic:
        return 0.5
    if len(query.phonetic) >= PHONETIC_PREFIX_MIN and word.phonetic.startswith(query.phonetic):
        return 0.3 + 0.15 * len(query.phonetic) / len(word.phonetic)
    return 0.0


def rank(query: str, name: str) -> float:
    """How well ``name`` answers ``query``, in [0, 1]; 0 means it does not match.

    Every query word must match its own word of the name, in any order ("Aigerim
    Abdirasulova" finds "Абдирасулова Айгерим"; "Ivan Ivanov" does not find "Petr
    Ivanov"). The score is the mean of each query word's best tier.
    """
    asked, named = query_keys(query), query_keys(name)
    if not asked or len(asked) > len(named):
        return 0.0
    scores = [[_word_score(a, n) for n in named] for a in asked]
    if not _each_gets_own_word(scores):
        return 0.0
    return sum(max(row) for row in scores) / len(scores)


def _each_gets_own_word(scores: list[list[float]]) -> bool:
    """True if every query word (row) can take a different matching name word (column).

    Augmenting paths (Kuhn's bipartite matching): polynomial, unlike trying permutations.
    """
    owner: dict[int, int] = {}

    def claim(row: int, seen: set[int]) -> bool:
        for col, score in enumerate(scores[row]):
            if score and col not in seen:
                seen.add(col)
                if col not in owner or claim(owner[col], seen):
                    owner[col] = row
                    return True
        return False

    return all(claim(row, set()) for row in range(len(scores)))
