"""Clerks work in Russian or Kazakh: both catalogues must translate every string the code shows."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "registry" / "translations"
METHODS = [("**.py", "python"), ("**/templates/**.html", "jinja2")]
KEYWORDS = {"_": None, "ngettext": (1, 2), "N_": None}  # N_: marked where Flask is not imported


def _source_messages() -> set[str]:
    found: set[str] = set()
    for _file, _line, message, _comments, _ctx in extract_from_dir(
        str(ROOT / "registry"), method_map=METHODS, keywords=KEYWORDS
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


@pytest.mark.parametrize("locale", ["ru", "kk"])
def test_catalogue_translates_every_string(locale):
    with open(TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po", "rb") as fh:
        catalogue = read_po(fh, locale=locale)
    missing = sorted(
        m
        for m in _source_messages()
        if m not in catalogue
        or not catalogue[m].string
        or catalogue[m].fuzzy
        or (isinstance(catalogue[m].string, tuple) and not all(catalogue[m].string))
    )
    assert not missing, f"{len(missing)} strings lack a {locale} translation, e.g. {missing[:5]}"


def _forms(string: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Plural forms come back from a .mo as a list and from a .po as a tuple."""
    return (string,) if isinstance(string, str) else tuple(string)


@pytest.mark.parametrize("locale", ["ru", "kk"])
def test_compiled_catalogue_is_current(locale):
    folder = TRANSLATIONS / locale / "LC_MESSAGES"
    with open(folder / "messages.po", "rb") as fh:
        source = read_po(fh, locale=locale)
    with open(folder / "messages.mo", "rb") as fh:
        compiled = read_mo(fh)
    stale = [
        m.id for m in source if m.id and (m.id not in compiled or _forms(compiled[m.id].string) != _forms(m.string))
    ]
    assert not stale, f"run: pybabel compile -d registry/translations ({len(stale)} stale)"


def test_pages_follow_the_browser_language(app):
    client = app.test_client()
    russian = client.get("/login", headers={"Accept-Language": "ru"}).get_data(as_text=True)
    kazakh = client.get("/login", headers={"Accept-Language": "kk"}).get_data(as_text=True)
    english = client.get("/login", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Sign in" in english
    assert "Sign in" not in russian and "Sign in" not in kazakh and russian != kazakh
