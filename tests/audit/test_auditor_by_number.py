"""Auditors are given registry numbers, not ids: a person's access report is found by number, the event
filter takes a number, and every person or account an event names links where the auditor may go."""

from __future__ import annotations

import pytest

from registry.audit.events import Action
from registry.audit.service import record
from tests.audit.support import Clerk
from tests.web.browser import quick_hashing, signed_in  # noqa: F401 (fixture)

pytestmark = pytest.mark.usefixtures("quick_hashing")


@pytest.fixture
def scene(staff, make_person, api):
    clerk, auditor = staff("clerk"), staff("auditor")
    child = make_person(clerk, names=[{"family_name": "Абдирасулова", "given_name": "Айша"}])
    assert api(clerk).get(f"/persons/{child['id']}").status_code == 200
    return {"clerk": clerk, "auditor": auditor, "child": child}


def test_an_auditor_opens_a_persons_report_by_registry_number_as_typed(scene, app):
    browser = signed_in(app, scene["auditor"].username)
    number, person_id = scene["child"]["registry_number"], scene["child"]["id"]
    for typed in (number, number.lower(), f" {number} "):
        found = browser.get("/audit/persons", query_string={"person": typed})
        assert found.status_code == 302 and found.headers["Location"] == f"/audit/persons/{person_id}", typed
    report = browser.get(f"/audit/persons/{person_id}").get_data(as_text=True)
    assert f'<h1>Access report <span class="muted">{number}</span></h1>' in report
    assert "registered a person" in report and "person.created" not in report


def test_an_unknown_registry_number_is_said_to_be_unknown_next_to_the_field(scene, app, runtime):
    browser = signed_in(app, scene["auditor"].username)
    page = browser.get("/audit/persons", query_string={"person": "R2026-0000000"})
    html = page.get_data(as_text=True)
    assert page.status_code == 422 and 'class="field-error" id="e-person"' in html
    assert "No person has this registry number." in html and 'value="R2026-0000000"' in html


def test_the_event_filter_takes_a_registry_number_on_the_page_and_in_the_api(scene, app, api):
    number = scene["child"]["registry_number"]
    listed = api(scene["auditor"]).get("/audit/events", query_string={"person_id": number})
    assert listed.status_code == 200
    assert {e["action"] for e in listed.get_json()["events"]} == {"person.created", "person.viewed"}
    page = signed_in(app, scene["auditor"].username).get("/audit", query_string={"person_id": number.lower()})
    assert page.status_code == 200 and "viewed a person&#39;s record" in page.get_data(as_text=True)
    unknown = api(scene["auditor"]).get("/audit/events", query_string={"person_id": "R2026-0000000"})
    assert unknown.status_code == 422 and "person_id" in unknown.get_json()["error"]["fields"]


def test_every_person_and_account_in_the_log_links_to_their_report_or_activity(scene, app, staff, runtime):
    admin, clerk, child = staff("admin"), scene["clerk"], scene["child"]
    with runtime.sessions() as db:
        record(
            db,
            Clerk(username=admin.username, user_id=admin.id),
            Action.USER_CHANGED,
            target_type="user",
            target_id=clerk.id,
        )
        db.commit()
    browser = signed_in(app, scene["auditor"].username)
    html = browser.get("/audit").get_data(as_text=True)
    assert f'<a href="/audit/persons/{child["id"]}">{child["registry_number"]}</a>' in html  # the target
    assert f'<a href="/audit/users/{clerk.id}">{clerk.username}</a>' in html  # an account changed, by name
    assert f'<a href="/audit/users/{admin.id}">{admin.username}</a>' in html  # who did it
    searched = browser.get("/audit", query_string={"action": "person.searched"}).get_data(as_text=True)
    assert "person.searched" not in searched.split("<table>")[1]  # phrases in the table, not codes
