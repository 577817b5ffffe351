"""Searching persons through the API: any script, any case, small misspellings, ranked,
paginated, inside the caller's cases, and logged with exactly the persons shown."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from registry.audit.events import Action
from registry.audit.models import AuditEvent


def name(family: str, given: str = "", script: str = "cyrillic", kind: str = "official") -> dict:
    return {"family_name": family, "given_name": given, "script": script, "kind": kind}


@pytest.fixture
def clerk(staff):
    return staff("clerk")


@pytest.fixture
def register(make_person, clerk):
    """Register a person under the given names; returns the person's id."""

    def make(*names: dict) -> str:
        return make_person(clerk, names=list(names))["id"]

    return make


@pytest.fixture
def search(api):
    """Ids of the persons found, in the order the API ranked them."""

    def find(member, q: str, **params) -> list[str]:
        response = api(member).get("/persons", query_string={"q": q, **params})
        assert response.status_code == 200, response.get_json()
        return [p["id"] for p in response.get_json()["persons"]]

    return find


def test_one_spelling_in_any_script_or_case_finds_the_same_person(register, search, clerk):
    written_in_cyrillic = register(name("Абдирасулова", "Айгерим"))
    written_in_latin = register(name("Abdirasulova", "Dana", script="latin"))
    register(name("Абдрахманова", "Айгерим"), name("Abdrakhmanova", "Aigerim", script="latin"))

    for q in ("Абдирасулова", "Abdirasulova", "abdirasulova", "ABDIRASULOVA", "абдирасулова"):
        assert sorted(search(clerk, q)) == sorted([written_in_cyrillic, written_in_latin]), q


def test_kazakh_letters_meet_russian_and_latin_spellings(register, search, clerk):
    kazakh = register(name("Жүсіпбекова", "Әйгерім"))
    register(name("Жусупова", "Айгерим"))

    assert search(clerk, "Жусипбекова") == [kazakh]  # Russian keyboard, no Kazakh letters
    assert search(clerk, "Zhusipbekova") == [kazakh]
    assert search(clerk, "Жүсіпбекова Aigerim") == [kazakh]

    nurlan = register(name("Өмірзақов", "Нұрлан"), name("Ғалымжан", "Жеңіс"))
    assert search(clerk, "Omirzakov Nurlan") == [nurlan]
    assert search(clerk, "Галымжан Женис") == [nurlan]
    assert search(clerk, "zhenis galymzhan") == [nurlan]


def test_a_small_misspelling_still_finds_the_person_but_ranks_lower(register, search, clerk):
    exact = register(name("Абдирасулова", "Айгерим"))
    variant = register(name("Abdurasulova", "Aigerim", script="latin"))
    register(name("Abdirasul", "Aigerim", script="latin"))  # shorter than the query: no match

    assert search(clerk, "Abdirasulova") == [exact, variant]
    assert search(clerk, "Abdurasulova") == [variant, exact]
    # Neither is spelt like this, so both match only by sound.
    assert sorted(search(clerk, "Abdirassulova")) == sorted([exact, variant])


def test_ranking_exact_then_prefix_then_sound_then_sound_prefix(register, search, clerk):
    by_sound_prefix = register(name("Iwanowski", "Jan", script="latin"))
    by_sound = register(name("Iwanow", "Jan", script="latin"))
    by_prefix = register(name("Ivanovskaya", "Olga", script="latin"))
    exact = register(name("Иванов", "Пётр"))
    register(name("Petrov", "Ivan", script="latin"))

    assert search(clerk, "Ivanov") == [exact, by_prefix, by_sound, by_sound_prefix]


def test_prefix_finds_longer_names_closer_completion_first(register, search, clerk):
    long_completion = register(name("Абдирасулова", "Айгерим"))
    short_completion = register(name("Абдиров", "Ерлан"))
    register(name("Абенов", "Ерлан"))

    assert search(clerk, "Абди") == [short_completion, long_completion]


def test_every_word_of_a_query_must_match_in_any_order(register, search, clerk):
    aigerim = register(name("Абдирасулова", "Айгерим"))
    dana = register(name("Абдирасулова", "Дана"))
    ivan_ivanov = register(name("Иванов", "Иван"))
    petr_ivanov = register(name("Иванов", "Пётр"))

    assert search(clerk, "Aigerim Abdirasulova") == [aigerim]
    assert search(clerk, "Абдирасулова Айгерим") == [aigerim]
    assert sorted(search(clerk, "Abdirasulova")) == sorted([aigerim, dana])
    # Both words must find a word of their own: "Ivan" alone does not make Petr Ivanov an Ivan.
    assert search(clerk, "Ivan Ivanov") == [ivan_ivanov]
    assert sorted(search(clerk, "Ivanov")) == sorted([ivan_ivanov, petr_ivanov])
    assert search(clerk, "Абдирасулова Иван") == []


def test_words_still_being_typed_find_the_person(register, search, clerk):
    aigerim = register(name("Абдирасулова", "Айгерим"))
    register(name("Абдрахманова", "Айгерим"))

    assert search(clerk, "Aigerim Abdira") == [aigerim]
    assert search(clerk, "Абдирасулова Ай") == [aigerim]
    assert search(clerk, "Абдирасулова Zhuldyz") == []


def test_a_query_without_letters_is_refused_with_a_message(api, clerk):
    response = api(clerk).get("/persons", query_string={"q": "-- !!"})
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "validation_error"


def test_results_are_paginated_without_gaps_or_repeats(api, register, clerk):
    ids = {register(name("Нурланова", f"Дана{i:02d}")) for i in range(23)}
    register(name("Серикова", "Дана"))
    pages = []
    for page in (1, 2, 3):
        body = api(clerk).get("/persons", query_string={"q": "Nurlanova", "page": page, "per_page": 10}).get_json()
        assert body["total"] == 23 and body["page"] == page and body["per_page"] == 10
        pages.append([p["id"] for p in body["persons"]])

    assert [len(p) for p in pages] == [10, 10, 3]
    assert set().union(*pages) == ids
    beyond = api(clerk).get("/persons", query_string={"q": "Nurlanova", "page": 4, "per_page": 10}).get_json()
    assert beyond["persons"] == [] and beyond["total"] == 23


def test_too_many_matches_are_cut_and_said_to_be_cut(api, register, clerk, monkeypatch):
    from registry.persons import service

    monkeypatch.setattr(service, "MAX_CANDIDATES", 4)
    exact = [register(name("Нурланова", f"Дана{i}")) for i in range(5)]
    register(name("Нурлановаева", "Дана"))

    body = api(clerk).get("/persons", query_string={"q": "Нурланова"}).get_json()
    assert body["truncated"] is True and body["total"] == 4
    assert {p["id"] for p in body["persons"]} < set(exact)  # the exact name before the longer one

    few = api(clerk).get("/persons", query_string={"q": "Нурлановаева"}).get_json()
    assert few["truncated"] is False and few["total"] == 1


@pytest.fixture
def lawyer_with_case(api, staff, clerk):
    """A lawyer who belongs to one case; returns (lawyer, add_person_to_case)."""
    admin, lawyer = staff("admin"), staff("lawyer")
    case = api(admin).post("/cases", json={"reference": "K-1", "title": "Return of a family"}).get_json()["case"]
    assert api(admin).post(f"/cases/{case['id']}/members", json={"username": lawyer.username}).status_code == 201

    def add(person_id: str) -> None:
        assert api(clerk).post(f"/cases/{case['id']}/persons", json={"person_id": person_id}).status_code == 201

    return lawyer, add


def test_a_lawyer_finds_only_persons_of_their_cases_a_clerk_finds_all(
    api, register, search, clerk, lawyer_with_case, staff
):
    lawyer, add_to_case = lawyer_with_case
    in_case = register(name("Абдирасулова", "Айгерим"))
    outside = register(name("Abdirasulova", "Aigerim", script="latin"))
    add_to_case(in_case)

    assert search(lawyer, "Abdirasulova") == [in_case]
    assert api(lawyer).get("/persons", query_string={"q": "Abdirasulova"}).get_json()["total"] == 1
    assert search(lawyer, "Abdirasulova Aigerim") == [in_case]
    assert sorted(search(clerk, "Abdirasulova")) == sorted([in_case, outside])
    assert search(staff("lawyer"), "Abdirasulova") == []
    assert outside not in search(lawyer, "")


def test_the_search_event_lists_only_the_persons_shown(api, db, register, clerk):
    ids = [register(name("Жумабаева", f"Айгерим{i}")) for i in range(5)]
    register(name("Серикова", "Айгерим"))

    body = api(clerk).get("/persons", query_string={"q": "Жумабаева", "per_page": 2, "page": 2}).get_json()
    shown = [p["id"] for p in body["persons"]]
    assert len(shown) == 2 and set(shown) < set(ids)

    event = db.scalar(
        sa.select(AuditEvent)
        .where(AuditEvent.action == str(Action.PERSON_SEARCHED))
        .order_by(AuditEvent.seq.desc())
        .limit(1)
    )
    assert sorted(json.loads(event.person_ids)) == sorted(shown)
    assert event.actor_name == clerk.username
    assert "Жумабаева" not in event.details and "zhumabaeva" not in event.details.lower()


def test_a_lawyers_search_event_names_no_person_outside_their_cases(api, db, register, lawyer_with_case):
    lawyer, add_to_case = lawyer_with_case
    in_case = register(name("Абдирасулова", "Айгерим"))
    register(name("Абдирасулова", "Дана"))
    add_to_case(in_case)

    api(lawyer).get("/persons", query_string={"q": "Абдирасулова"})

    event = db.scalar(
        sa.select(AuditEvent)
        .where(AuditEvent.action == str(Action.PERSON_SEARCHED))
        .order_by(AuditEvent.seq.desc())
        .limit(1)
    )
    assert json.loads(event.person_ids) == [in_case]


def test_a_registry_number_typed_as_staff_copy_it_finds_its_person(api, db, register, search, clerk):
    child = register(name("Абдирасулова", "Айша"))
    register(name("Абдирасулова", "Дана"))
    number = api(clerk).get(f"/persons/{child}").get_json()["person"]["registry_number"]

    for typed in (number, number.lower(), f"  {number} ", number.replace("-", " - "), number.replace("-", "")):
        assert search(clerk, typed) == [child], typed
    assert search(clerk, number[:-1] + ("0" if number[-1] != "0" else "1")) == []  # one character off: nobody
    event = db.scalar(
        sa.select(AuditEvent)
        .where(AuditEvent.action == str(Action.PERSON_SEARCHED))
        .order_by(AuditEvent.seq.desc())
        .limit(1)
    )
    assert json.loads(event.person_ids) == [] and number not in event.details  # the number typed is not logged


def test_a_registry_number_outside_a_lawyers_cases_finds_nobody(api, register, search, clerk, lawyer_with_case):
    lawyer, add_to_case = lawyer_with_case
    in_case, outside = register(name("Абдирасулова", "Айша")), register(name("Абдирасулова", "Дана"))
    add_to_case(in_case)
    numbers = {
        pid: api(clerk).get(f"/persons/{pid}").get_json()["person"]["registry_number"] for pid in (in_case, outside)
    }

    assert search(lawyer, numbers[in_case]) == [in_case]
    assert search(lawyer, numbers[outside]) == []  # answered as a number nobody has


def test_the_persons_page_finds_a_registry_number(app, register, clerk, api):
    from tests.web.browser import signed_in

    child = register(name("Абдирасулова", "Айша"))
    number = api(clerk).get(f"/persons/{child}").get_json()["person"]["registry_number"]
    page = signed_in(app, clerk.username).get("/persons", query_string={"q": number})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and f"/persons/{child}" in html and "Абдирасулова Айша" in html
