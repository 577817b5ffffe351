"""The home page: public and naming nobody for the signed-out; for signed-in staff, their role's work page,
behind the same gate as every page (second factor, permission, the NDA first), logging the persons it shows."""

from __future__ import annotations

import json

import pytest

from tests.audit.route_world import World, build_world, events_after, last_seq
from tests.web.browser import Browser, quick_hashing, signed_in  # noqa: F401 (fixture)

pytestmark = pytest.mark.usefixtures("quick_hashing")


@pytest.fixture
def world(app, staff, api, make_person) -> World:
    return build_world(app, staff, api, make_person)


def landing(browser: Browser) -> str:
    """Where ``/`` sends this browser."""
    response = browser.get("/")
    assert response.status_code == 302, response.status_code
    return response.headers["Location"]


def test_the_signed_out_home_page_invites_to_sign_in_and_names_nobody(app, world):
    page = Browser(app).get("/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "/login" in html
    assert "Абдирасулова" not in html and "R20" not in html


@pytest.mark.parametrize(
    ("who", "page"),
    [
        ("clerk", "/work/registry"),
        ("lawyer", "/work/cases"),
        ("caseworker", "/work/cases"),
        ("auditor", "/work/audit"),
        ("admin", "/work/admin"),
    ],
)
def test_after_sign_in_home_is_the_roles_work_page_with_the_menu(app, world, who, page):
    browser = signed_in(app, world.staff[who].username)
    assert landing(browser) == page
    response = browser.get(page)
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html[:500]
    assert "Sign out" in html and world.staff[who].username in html  # the menu is drawn


def test_a_work_page_waits_for_the_undertaking_like_every_page(app, staff, make_person):
    clerk = staff("clerk", sign_nda=False)
    make_person(staff("clerk"), names=[{"family_name": "Абдирасулова", "given_name": "Айша"}])
    browser = signed_in(app, clerk.username)
    assert landing(browser) == "/work/registry"
    response = browser.get("/work/registry")
    assert response.status_code == 302 and response.headers["Location"].startswith("/nda?next=/work/registry")


def test_staff_with_no_role_yet_land_on_their_account_page(app, staff):
    assert landing(signed_in(app, staff().username)) == "/account"


def test_a_member_of_two_roles_finds_the_other_work_page(app, staff, world):
    both = staff("clerk", "auditor")
    browser = signed_in(app, both.username)
    assert landing(browser) == "/work/registry"
    html = browser.get("/work/registry").get_data(as_text=True)
    assert 'href="/work/audit"' in html


def test_the_clerks_page_lists_restorations_and_newest_persons_and_logs_them(app, world, runtime):
    browser = signed_in(app, world.staff["clerk"].username)
    before = last_seq(runtime)
    html = browser.get("/work/registry").get_data(as_text=True)
    assert "Абдирасулова Айша" in html and "Waiting for evidence" in html and "Registered most recently" in html
    seen = {(e.action, frozenset(json.loads(e.person_ids))) for e in events_after(runtime, before)}
    both = frozenset(world.persons.values())
    assert seen == {("restoration.viewed", both), ("person.searched", both)}


def test_a_lawyer_sees_their_cases_and_the_claims_waiting(app, world, runtime):
    browser = signed_in(app, world.staff["lawyer"].username)
    before = last_seq(runtime)
    html = browser.get("/work/cases").get_data(as_text=True)
    assert "KZ-7" in html and "Return of minors" in html
    assert "Claims waiting for a genomic test" in html and "Claims waiting for a court ruling" in html
    events = events_after(runtime, before)
    assert [e.action for e in events] == ["kinship.viewed"]
    assert set(json.loads(events[0].person_ids)) <= set(world.persons.values())


def test_a_caseworker_sees_their_cases_only(app, world, runtime):
    browser = signed_in(app, world.staff["caseworker"].username)
    before = last_seq(runtime)
    html = browser.get("/work/cases").get_data(as_text=True)
    assert "KZ-7" in html and "Claims waiting" not in html and "Абдирасулова" not in html
    assert events_after(runtime, before) == []  # case references and titles: nobody's personal data


def test_a_lawyer_of_no_case_sees_none_and_nothing_is_logged_of_anyone(app, world, runtime):
    browser = signed_in(app, world.staff["outsider"].username)
    before = last_seq(runtime)
    html = browser.get("/work/cases").get_data(as_text=True)
    assert "KZ-7" not in html and "Абдирасулова" not in html and "not a member of any case" in html
    assert [json.loads(e.person_ids) for e in events_after(runtime, before)] == [[]]


def test_the_auditors_page_counts_anomalies_and_links_the_emergency_access_by_registry_number(app, world, api, runtime):
    mother = api(world.staff["clerk"]).get(f"/persons/{world.persons['mother']}").get_json()["person"]
    browser = signed_in(app, world.staff["auditor"].username)
    html = browser.get("/work/audit").get_data(as_text=True)
    assert f'href="/audit/persons/{mother["id"]}">{mother["registry_number"]}</a>' in html
    assert "The mother is in hospital" in html and "on-call" in html
    assert "Far more persons read than usual" in html and 'action="/audit/persons"' in html


def test_the_administrators_page_lists_what_waits_for_a_second_administrator(app, staff, world, runtime):
    admin, other = world.staff["admin"], staff("admin", name="second-admin")
    newcomer = signed_in(app, admin.username)
    created = newcomer.post(
        "/admin/users",
        {
            "username": "new-clerk",
            "full_name": "Жанар Серикова",
            "roles": "clerk",
            "reason": "Joins the registry in May.",
        },
    )
    assert created.status_code in (200, 302), created.get_data(as_text=True)[:300]
    before = last_seq(runtime)
    html = signed_in(app, other.username).get("/work/admin").get_data(as_text=True)
    proposals, not_set_up = html.split("Accounts not set up yet")
    assert "new-clerk" in proposals and "registry clerk" in proposals  # the clerk role waits for approval
    assert "new-clerk" in not_set_up  # and its owner has not chosen a password yet
    assert "Абдирасулова" not in html
    assert [e.action for e in events_after(runtime, before) if e.action != "auth.login"] == []
