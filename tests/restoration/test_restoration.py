"""Restoration requests walked through the API, with each step refused when its evidence is missing."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from registry.restoration.models import RestorationRequest
from tests.conftest import error_code
from tests.kinship.helpers import open_case, upload


@pytest.fixture
def clerk(staff):
    return staff("clerk")


@pytest.fixture
def child(clerk, make_person):
    return make_person(clerk, names=[{"family_name": "Жумабаева", "given_name": "Амина"}], categories=["child"])


@pytest.fixture
def mother(clerk, make_person):
    return make_person(
        clerk,
        names=[{"family_name": "Жумабаева", "given_name": "Зарина"}],
        sex="female",
        birth_date="1991-02-03",
        birth_date_precision="exact",
        categories=["woman"],
    )


def _open(client, person_id: str, **extra) -> dict:
    response = client.post(
        "/restorations",
        json={"person_id": person_id, "document_wanted": "birth_record", "reason": "born_abroad", **extra},
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()["restoration"]


def _step(client, request_id: str, status: str, **extra):
    return client.post(f"/restorations/{request_id}/status", json={"status": status, **extra})


CHOICES = {
    "chosen_family_name": "Жумабаева",
    "chosen_given_name": "Амина",
    "chosen_place_of_birth": "Almaty",
    "actual_place_of_birth": "Raqqa, Syria",
}


def test_birth_record_from_opened_to_handed_over(api, staff, clerk, child, mother):
    client = api(clerk)
    request = _open(client, child["id"], notes="Came with her mother")
    assert request["status"] == "opened" and request["assigned_clerk"] == clerk.username
    assert request["due_date"] == (date.today() + timedelta(days=30)).isoformat()
    abroad = upload(client, child["id"], "birth_record", "Birth notification, Raqqa")
    attached = client.post(f"/restorations/{request['id']}/evidence", json={"document_id": abroad["id"]})
    assert attached.status_code == 201
    chosen = client.post(
        f"/restorations/{request['id']}/mother-choices",
        json={**CHOICES, "mother_id": mother["id"], "mother_consent": True},
    )
    assert chosen.status_code == 200
    assert chosen.get_json()["restoration"]["mother_choices"]["chosen_place_of_birth"] == "Almaty"
    for status in ("evidence_collected", "submitted"):
        assert _step(client, request["id"], status).status_code == 200
    issued = upload(client, child["id"], "birth_record", "Birth certificate, Almaty")
    done = _step(client, request["id"], "issued", issued_document_id=issued["id"]).get_json()["restoration"]
    assert done["issued_document_id"] == issued["id"]
    final = _step(client, request["id"], "handed_over", note="Handed to the mother").get_json()["restoration"]
    assert final["status"] == "handed_over" and final["next_steps"] == []
    assert [(h["from"], h["to"]) for h in final["history"]] == [
        ("", "opened"),
        ("opened", "evidence_collected"),
        ("evidence_collected", "submitted"),
        ("submitted", "issued"),
        ("issued", "handed_over"),
    ]
    client.get(f"/restorations/{request['id']}")
    events = api(staff("auditor")).get(f"/audit/events?person_id={child['id']}&per_page=200").get_json()["events"]
    actions = [e["action"] for e in events if e["target_type"] == "restoration"]
    assert actions.count("restoration.changed") == 6  # evidence, the mother's choices, four steps
    assert "restoration.opened" in actions and "restoration.viewed" in actions


def test_each_step_is_refused_without_its_evidence(api, clerk, child, staff):
    client = api(clerk)
    request = _open(client, child["id"])
    no_evidence = _step(client, request["id"], "evidence_collected")
    assert no_evidence.status_code == 422 and "status" in no_evidence.get_json()["error"]["fields"]
    skipping = _step(client, request["id"], "handed_over")
    assert skipping.status_code == 409 and error_code(skipping) == "conflict"
    client.post(
        f"/restorations/{request['id']}/evidence",
        json={"document_id": upload(client, child["id"], "birth_record")["id"]},
    )
    _step(client, request["id"], "evidence_collected")
    _step(client, request["id"], "submitted")
    assert "issued_document_id" in _step(client, request["id"], "issued").get_json()["error"]["fields"]
    wrong_kind = upload(client, child["id"], "identity_document", "Identity card")
    refused = _step(client, request["id"], "issued", issued_document_id=wrong_kind["id"])
    assert refused.status_code == 422 and "issued_document_id" in refused.get_json()["error"]["fields"]
    assert "note" in _step(client, request["id"], "rejected").get_json()["error"]["fields"]
    assert _step(client, request["id"], "rejected", note="Documented in another region").status_code == 200
    assert _step(client, request["id"], "submitted").status_code == 409


def test_the_mothers_choices_need_her_consent_and_a_birth_record(api, clerk, child, mother):
    client = api(clerk)
    request = _open(client, child["id"])
    no_consent = client.post(
        f"/restorations/{request['id']}/mother-choices", json={**CHOICES, "mother_id": mother["id"]}
    )
    assert no_consent.status_code == 422 and "mother_consent" in no_consent.get_json()["error"]["fields"]
    missing = client.post(
        f"/restorations/{request['id']}/mother-choices", json={"mother_id": mother["id"], "mother_consent": True}
    )
    assert set(missing.get_json()["error"]["fields"]) == {"chosen_given_name", "chosen_place_of_birth"}
    passport = _open(client, mother["id"], document_wanted="passport", reason="confiscated")
    wrong = client.post(
        f"/restorations/{passport['id']}/mother-choices",
        json={**CHOICES, "mother_id": mother["id"], "mother_consent": True},
    )
    assert wrong.status_code == 422


def test_the_actual_place_of_birth_is_shown_only_to_those_who_register_persons(
    api, runtime, staff, clerk, child, mother
):
    client = api(clerk)
    request = _open(client, child["id"])
    client.post(
        f"/restorations/{request['id']}/mother-choices",
        json={**CHOICES, "mother_id": mother["id"], "mother_consent": True},
    )
    lawyer = staff("lawyer")
    open_case(runtime, "R-1", members=[lawyer], person_ids=[child["id"], mother["id"]])
    seen_by_lawyer = api(lawyer).get(f"/restorations/{request['id']}").get_json()["restoration"]["mother_choices"]
    assert seen_by_lawyer["chosen_place_of_birth"] == "Almaty" and "actual_place_of_birth" not in seen_by_lawyer
    seen_by_clerk = client.get(f"/restorations/{request['id']}").get_json()["restoration"]["mother_choices"]
    assert seen_by_clerk["actual_place_of_birth"] == "Raqqa, Syria"


def test_outside_the_case_boundary_nothing_is_seen_or_changed(api, staff, clerk, child):
    request = _open(api(clerk), child["id"])
    lawyer, caseworker = api(staff("lawyer")), api(staff("caseworker"))
    assert error_code(lawyer.get(f"/restorations/{request['id']}")) == "not_found"
    assert lawyer.get("/restorations").get_json()["restorations"] == []
    assert error_code(caseworker.post("/restorations", json={"person_id": child["id"]})) == "forbidden"
    assert error_code(lawyer.post(f"/restorations/{request['id']}/status", json={"status": "rejected"})) == "forbidden"


def test_a_second_running_request_for_the_same_document_is_refused(api, clerk, child):
    client = api(clerk)
    _open(client, child["id"])
    again = client.post(
        "/restorations", json={"person_id": child["id"], "document_wanted": "birth_record", "reason": "lost"}
    )
    assert again.status_code == 409


def test_the_work_list_shows_mine_overdue_and_waiting(api, staff, runtime, clerk, child, mother):
    other = staff("clerk")
    client = api(clerk)
    mine = _open(client, child["id"])
    theirs = _open(
        client, mother["id"], document_wanted="identity_document", reason="lost", assigned_clerk=other.username
    )
    with runtime.sessions() as db:
        db.execute(
            sa.update(RestorationRequest)
            .where(RestorationRequest.id == theirs["id"])
            .values(due_date=date.today() - timedelta(days=3))
        )
        db.commit()
    ids = {
        view: [r["id"] for r in client.get(f"/restorations?view={view}").get_json()["restorations"]]
        for view in ("mine", "overdue", "waiting_for_evidence")
    }
    assert ids == {"mine": [mine["id"]], "overdue": [theirs["id"]], "waiting_for_evidence": [theirs["id"], mine["id"]]}
    assert client.get("/restorations?view=overdue").get_json()["restorations"][0]["overdue"] is True
    unknown = client.post(
        "/restorations",
        json={"person_id": child["id"], "document_wanted": "passport", "reason": "lost", "assigned_clerk": "nobody"},
    )
    assert "assigned_clerk" in unknown.get_json()["error"]["fields"]
