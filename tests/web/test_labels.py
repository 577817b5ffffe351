"""Clerks read words, not stored codes: every code a page shows has words, in the clerk's language."""

from __future__ import annotations

import pytest

from registry.accounts.permissions import Role
from registry.audit.events import Action, Outcome
from registry.documents.inspection import DOCUMENT_KINDS
from registry.documents.models import PersonRole
from registry.persons.models import Category, DatePrecision, NameKind, PersonStatus, Script, Sex
from registry.web.labels import LABELS, label
from tests.web.browser import Browser

CODES = {
    "sex": list(Sex),
    "date_precision": list(DatePrecision),
    "category": list(Category),
    "person_status": list(PersonStatus),
    "name_kind": list(NameKind),
    "script": list(Script),
    "document_kind": list(DOCUMENT_KINDS),
    "person_role": list(PersonRole),
    "staff_role": list(Role),
    "outcome": list(Outcome),
    "action": list(Action),
}


@pytest.mark.parametrize("group", sorted(CODES))
def test_every_code_has_words(group):
    assert sorted(code for code in CODES[group] if code not in LABELS[group]) == []


def test_a_code_without_words_is_shown_as_stored(app):
    with app.test_request_context(headers={"Accept-Language": "ru"}):
        assert label("status_from_the_future", "person_status") == "status_from_the_future"
        assert label(Sex.FEMALE, "sex") == "женский"
        assert label(None, "sex") == ""


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("ru", ["женский", "возвращён(а)", "ребёнок", "имя по зарубежной записи", "латиница", "только год"]),
        ("kk", ["әйел", "оралды", "бала", "шетелдегі жазба бойынша аты-жөні", "латын жазуы", "тек жылы"]),
    ],
)
def test_person_page_shows_words_in_the_clerks_language(app, staff, make_person, language, words):
    clerk = staff("clerk")
    person = make_person(clerk)
    browser = Browser(app)
    browser.login(clerk.username)

    page = browser.get(f"/persons/{person['id']}", headers={"Accept-Language": language})

    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert all(word in text for word in words), [word for word in words if word not in text]
    assert not any(code in text for code in ("female", "recorded_abroad", ">returned<", "(year)"))
