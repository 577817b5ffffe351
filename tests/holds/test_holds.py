"""Legal holds: placed, listed and lifted with reasons, every step in the access log, inside need to know.

Each attack first (a lawyer holding, listing or lifting outside their cases; a lift with no reason), then
what the registry answers, and that a refusal changed nothing but the log.
"""

from __future__ import annotations

import json
import uuid

import sqlalchemy as sa

from registry.audit.events import Action
from registry.holds.models import LegalHold
from tests.audit.route_world import events_after, last_seq
from tests.conftest import error_code
from tests.holds.conftest import hold, lift
from tests.web.browser import csrf_from, signed_in
from tests.web.test_refusals_change_nothing import changed_tables, snapshot


def _error(response) -> tuple[int, str, str]:
    body = response.get_json()["error"]
    return response.status_code, body["code"], body["message"]


def test_a_lawyer_cannot_hold_a_person_outside_their_cases_and_learns_nothing(runtime, api, team, registry):
    lawyer = api(team.lawyer)
    before, seq = snapshot(runtime), last_seq(runtime)

    outside = hold(lawyer, "person", registry.stranger)
    nobody = hold(lawyer, "person", str(uuid.uuid4()))

    assert outside.status_code == 404 and error_code(outside) == "not_found"
    assert _error(outside) == _error(nobody)  # a person outside the cases answers like one who does not exist
    assert changed_tables(before, snapshot(runtime)) == set()
    refused = [(e.action, e.outcome, e.actor_id) for e in events_after(runtime, seq)]
    assert refused == [(Action.LEGAL_HOLD_PLACED, "denied", team.lawyer.id)] * 2


def test_a_lawyer_cannot_hold_a_case_or_document_outside_their_cases(api, team, registry, add_document, admin_case):
    lawyer = api(team.lawyer)
    foreign_document = add_document(registry.stranger)
    for target_type, target_id, nothing in (
        ("case", admin_case, str(uuid.uuid4())),
        ("document", foreign_document, str(uuid.uuid4())),
    ):
        outside, missing = hold(lawyer, target_type, target_id), hold(lawyer, target_type, nothing)
        assert outside.status_code == 404 and _error(outside) == _error(missing), target_type


def test_a_lawyer_neither_sees_nor_lifts_a_hold_outside_their_cases(runtime, api, team, registry):
    placed = hold(api(team.clerk), "person", registry.stranger)
    assert placed.status_code == 201
    hold_id = placed.get_json()["legal_hold"]["id"]
    lawyer = api(team.lawyer)

    listed = lawyer.get("/legal-holds")
    narrowed = lawyer.get(f"/legal-holds?target_type=person&target_id={registry.stranger}")
    before = snapshot(runtime)
    lifted, random_id = lift(lawyer, hold_id), lift(lawyer, str(uuid.uuid4()))

    assert listed.status_code == 200 and listed.get_json()["legal_holds"] == []
    assert narrowed.get_json()["legal_holds"] == []
    assert lifted.status_code == 404 and _error(lifted) == _error(random_id)
    assert changed_tables(before, snapshot(runtime)) == set()
    clerk_view = api(team.clerk).get("/legal-holds").get_json()["legal_holds"]
    assert [(h["id"], h["active"]) for h in clerk_view] == [(hold_id, True)]


def test_a_lawyer_holds_and_lifts_inside_their_case_and_each_step_is_logged(runtime, api, team, registry, add_document):
    birth = add_document(registry.child, "birth_record")
    lawyer = api(team.lawyer)
    seq = last_seq(runtime)

    placed = hold(lawyer, "person", registry.child, "Custody hearing on 12 May: keep everything.")
    assert placed.status_code == 201, placed.get_json()
    shown = placed.get_json()["legal_hold"]
    assert (shown["target_type"], shown["target_id"], shown["active"], shown["documents_covered"]) == (
        "person",
        registry.child,
        True,
        1,
    )
    assert api(team.lawyer).get(f"/documents/{birth}").get_json()["document"]["legal_hold"] is True
    listed = lawyer.get("/legal-holds").get_json()["legal_holds"]
    lifted = lift(lawyer, shown["id"], "The hearing is over and the order has expired.")
    assert lifted.status_code == 200 and lifted.get_json()["legal_hold"]["active"] is False

    assert [h["id"] for h in listed] == [shown["id"]]
    events = [
        (e.action, e.outcome, json.loads(e.person_ids), e.reason)
        for e in events_after(runtime, seq)
        if e.action.startswith("hold.")
    ]
    assert events == [
        (Action.LEGAL_HOLD_PLACED, "allowed", [registry.child], "Custody hearing on 12 May: keep everything."),
        (Action.LEGAL_HOLDS_READ, "allowed", [registry.child], ""),
        (Action.LEGAL_HOLD_LIFTED, "allowed", [registry.child], "The hearing is over and the order has expired."),
    ]


def test_lifting_needs_a_reason_and_a_refused_lift_changes_nothing(runtime, api, team, registry):
    clerk = api(team.clerk)
    hold_id = hold(clerk, "person", registry.child).get_json()["legal_hold"]["id"]
    before, seq = snapshot(runtime), last_seq(runtime)

    for reason in ("", "   ", "because"):
        response = lift(clerk, hold_id, reason)
        assert response.status_code == 422 and "reason" in response.get_json()["error"]["fields"], reason
    no_body = clerk.post(f"/legal-holds/{hold_id}/lift", json={})

    assert no_body.status_code == 422
    assert changed_tables(before, snapshot(runtime)) == set()
    with runtime.sessions() as db:
        assert db.get(LegalHold, hold_id).lifted_at is None
    assert {(e.action, e.outcome) for e in events_after(runtime, seq)} == {(Action.REQUEST_REFUSED, "denied")}


def test_placing_needs_a_target_and_a_reason_and_a_lifted_hold_is_not_lifted_twice(runtime, api, team, registry):
    clerk = api(team.clerk)
    before = snapshot(runtime)
    for body, field in (
        ({"target_type": "planet", "target_id": registry.child, "reason": "A good reason here."}, "target_type"),
        ({"target_type": "person", "target_id": registry.child, "reason": "short"}, "reason"),
        ({"target_type": "person", "reason": "A good reason here."}, "target_id"),
    ):
        response = clerk.post("/legal-holds", json=body)
        assert response.status_code == 422 and field in response.get_json()["error"]["fields"], body
    assert changed_tables(before, snapshot(runtime)) == set()

    hold_id = hold(clerk, "case", registry.case_id).get_json()["legal_hold"]["id"]
    assert lift(clerk, hold_id).status_code == 200
    before = snapshot(runtime)
    again = lift(clerk, hold_id)
    assert again.status_code == 409 and error_code(again) == "conflict"
    assert changed_tables(before, snapshot(runtime)) == set()


def test_caseworkers_and_auditors_cannot_hold(api, staff, registry):
    for role in ("caseworker", "auditor", "admin"):
        response = hold(api(staff(role)), "person", registry.child)
        assert response.status_code == 403 and error_code(response) == "forbidden", role


def test_the_hold_page_places_and_lifts_and_the_document_page_links_to_it(
    app, runtime, api, team, registry, add_document
):
    document = add_document(registry.mother)
    browser = signed_in(app, team.lawyer.username)
    page = browser.get(f"/documents/{document}")
    assert f"/legal-holds?target_type=document&amp;target_id={document}" in page.get_data(as_text=True)
    form = browser.get(f"/legal-holds?target_type=document&target_id={document}")
    assert form.status_code == 200 and f'value="{document}"' in form.get_data(as_text=True)

    placed = browser.post(
        "/legal-holds",
        {
            "csrf_token": csrf_from(form.get_data(as_text=True)),
            "target_type": "document",
            "target_id": document,
            "reason": "A complaint about this passport is pending.",
        },
    )
    assert placed.status_code == 302
    listing = browser.get(placed.headers["Location"]).get_data(as_text=True)
    assert "A complaint about this passport is pending." in listing
    assert "Under a legal hold" in browser.get(f"/documents/{document}").get_data(as_text=True)

    with runtime.sessions() as db:
        hold_id = db.scalar(sa.select(LegalHold.id))
    refused = browser.post(f"/legal-holds/{hold_id}/lift", {"reason": ""})
    assert refused.status_code == 422
    done = browser.post(f"/legal-holds/{hold_id}/lift", {"reason": "The complaint was withdrawn in writing."})
    assert done.status_code == 302
    with runtime.sessions() as db:
        assert db.get(LegalHold, hold_id).lift_reason == "The complaint was withdrawn in writing."


def test_a_case_page_links_to_its_holds(app, team, registry):
    page = signed_in(app, team.lawyer.username).get(f"/cases/{registry.case_id}").get_data(as_text=True)
    assert f"/legal-holds?target_type=case&amp;target_id={registry.case_id}" in page


def test_the_api_document_describes_holds_and_disposals(app):
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    paths = spec["paths"]
    listed = paths["/api/v1/legal-holds"]["get"]
    assert {p["name"] for p in listed["parameters"]} == {"target_type", "target_id", "active"}
    lifting = paths["/api/v1/legal-holds/{hold_id}/lift"]["post"]
    assert listed["x-permission"] == lifting["x-permission"] == "hold.manage"
    for path in (
        "/api/v1/disposals",
        "/api/v1/disposals/{disposal_id}/approve",
        "/api/v1/disposals/{disposal_id}/reject",
        "/api/v1/retention/due",
    ):
        assert all(op["x-permission"] == "retention.manage" for op in paths[path].values()), path
    assert "disposed" in spec["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"]["enum"]
