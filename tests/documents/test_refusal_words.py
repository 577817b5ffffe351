"""Every upload refusal reads whole in Russian and Kazakh: each part translated, numbers and names kept."""

from __future__ import annotations

from pathlib import Path
from string import Formatter

import pytest
from babel.support import Translations

from registry.documents.inspection import REFUSALS, FileRefused, Phrase, check_declared_type, refusal

TRANSLATIONS = Path(__file__).resolve().parents[2] / "registry" / "translations"
NUMBERS = {"pages": 731, "max_pages": 500, "max_megapixels": 89, "seconds": 97}


def _catalogue(locale: str) -> Translations:
    return Translations.load(str(TRANSLATIONS), [locale])


def _untranslated(words: Phrase, catalogue: Translations) -> list[str]:
    """Templates of the phrase (and of the phrases inside it) that have no translation."""
    missing = [] if catalogue.gettext(words.template) != words.template else [words.template]
    for value in words.params.values():
        if isinstance(value, Phrase):
            missing += _untranslated(value, catalogue)
    return missing


@pytest.mark.parametrize("locale", ["ru", "kk"])
@pytest.mark.parametrize("reason", sorted(REFUSALS))
def test_a_known_refusal_keeps_its_numbers_in_translation(locale, reason):
    catalogue = _catalogue(locale)
    names = {name for _text, name, _spec, _conv in Formatter().parse(REFUSALS[reason][1]) if name}
    words = refusal(reason, **{name: NUMBERS[name] for name in names}).words

    shown = words.render(catalogue.gettext)

    assert not _untranslated(words, catalogue)
    assert all(str(NUMBERS[name]) in shown for name in names)


@pytest.mark.parametrize("locale", ["ru", "kk"])
@pytest.mark.parametrize(
    ("kind", "sniffed", "declared", "filename", "particulars"),
    [
        ("passport", "text/html", "application/pdf", "passport.pdf", [".pdf"]),
        ("court_ruling", "application/x-foo", None, "ruling.foo", ["application/x-foo"]),
        ("genomic_test_result", "application/zip", "application/zip", "result.zip", []),
        ("passport", "image/jpeg", "image/jpeg", "passport.pdf", [".pdf", ".jpg"]),
        ("passport", "application/pdf", "image/jpeg", "passport.pdf", ["image/jpeg", ".pdf"]),
        ("passport", "application/pdf", None, "passport.pdf.exe", [".exe", ".pdf"]),
        ("genomic_test_result", "application/pdf", "text/csv", "result.csv", [".csv", ".pdf"]),
    ],
)
def test_a_wrong_file_is_described_in_the_clerks_language(locale, kind, sniffed, declared, filename, particulars):
    catalogue = _catalogue(locale)
    with pytest.raises(FileRefused) as refused:
        check_declared_type(kind, sniffed, declared, filename)
    words = refused.value.words

    shown = words.render(catalogue.gettext)

    assert not _untranslated(words, catalogue)
    assert all(part in shown for part in particulars)
    assert words.render() == refused.value.message  # the English stays what logs and older clients read
