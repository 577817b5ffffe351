"""Findings of a second, adversarial reading of the gate and the boundary: each one attacked, then defended."""

from __future__ import annotations

from tests.conftest import error_code
from tests.kinship.helpers import csrf_token, link, open_case, upload, web_login


def test_an_nda_hash_in_any_script_is_a_plain_refusal(api, staff):
    clerk = staff("clerk", sign_nda=False)
    nda = api(clerk).get("/nda").get_json()["nda"]
    response = api(clerk).post(
        "/nda/acknowledgements",
        json={"version": nda["version"], "text_sha256": "é" * 64, "typed_full_name": clerk.full_name},
    )
    assert response.status_code == 422 and "text_sha256" in response.get_json()["error"]["fields"]


def test_a_version_number_in_other_digits_is_a_plain_refusal(api, staff, make_person):
    clerk = staff("clerk")
    person = make_person(clerk)
    document = upload(api(clerk), person["id"], "birth_record")
    for odd in ("%C2%B2", "9" * 5000):
        response = api(clerk).get(f"/documents/{document['id']}/content?version={odd}")
        assert response.status_code == 422 and error_code(response) == "validation_error"


def test_an_open_ended_date_filter_is_no_bound(app, staff):
    auditor = staff("auditor")
    assert web_login(app, auditor).get("/audit?until=9999-12-31").status_code == 200


def test_a_claim_form_does_not_confirm_a_registry_number_outside_the_cases(app, runtime, api, staff, make_person):
    clerk, lawyer = staff("clerk"), staff("lawyer")
    own, outsider = make_person(clerk), make_person(clerk)
    open_case(runtime, "KIN-1", members=[lawyer], person_ids=[own["id"]])
    client = web_login(app, lawyer)
    page = client.get(f"/persons/{own['id']}/family").get_data(as_text=True)
    answers = []
    for number in (outsider["registry_number"], "R2026-NOSUCH1"):
        response = client.post(
            f"/persons/{own['id']}/family/claims",
            data={
                "csrf_token": csrf_token(page),
                "registry_number": number,
                "direction": "other_is",
                "kind": "biological_mother",
            },
        )
        answers.append((response.status_code, "No person has this registry number." in response.get_data(as_text=True)))
    assert answers[0] == answers[1] == (422, True)


def test_a_shared_document_does_not_name_persons_outside_the_callers_cases(runtime, api, staff, make_person):
    clerk, lawyer = staff("clerk"), staff("lawyer")
    child, mother = make_person(clerk), make_person(clerk)
    document = upload(api(clerk), child["id"], "birth_record")
    link(api(clerk), document["id"], mother["id"], "mother")
    open_case(runtime, "KIN-2", members=[lawyer], person_ids=[child["id"]])
    seen = api(lawyer).get(f"/documents/{document['id']}").get_json()["document"]["persons"]
    assert [p["person_id"] for p in seen] == [child["id"]]
    assert len(api(clerk).get(f"/documents/{document['id']}").get_json()["document"]["persons"]) == 2


def test_person_changes_log_field_names_not_values(api, staff, make_person):
    clerk, auditor = staff("clerk"), staff("auditor")
    person = make_person(clerk)
    assert api(clerk).patch(f"/persons/{person['id']}", json={"citizenship": "Secretland"}).status_code == 200
    events = api(auditor).get("/audit/events?action=person.updated").get_json()["events"]
    assert events[0]["details"] == {"changed": ["citizenship"]}
    assert "Secretland" not in str(events)


def test_a_caseworker_is_not_told_which_restoration_evidence_is_genomic(runtime, api, staff, make_person):
    clerk, caseworker = staff("clerk"), staff("caseworker")
    child = make_person(clerk)
    genomic = upload(api(clerk), child["id"], "genomic_test_result")
    birth = upload(api(clerk), child["id"], "birth_record")
    opened = api(clerk).post(
        "/restorations", json={"person_id": child["id"], "document_wanted": "birth_record", "reason": "born_abroad"}
    )
    assert opened.status_code == 201, opened.get_json()
    request_id = opened.get_json()["restoration"]["id"]
    for document in (genomic, birth):
        assert (
            api(clerk).post(f"/restorations/{request_id}/evidence", json={"document_id": document["id"]}).status_code
            == 201
        )
    open_case(runtime, "RST-1", members=[caseworker], person_ids=[child["id"]])
    seen = api(caseworker).get(f"/restorations/{request_id}").get_json()["restoration"]
    assert [e["document_id"] for e in seen["evidence"]] == [birth["id"]]
    assert genomic["id"] not in str(seen)
    by_clerk = api(clerk).get(f"/restorations/{request_id}").get_json()["restoration"]
    assert {e["document_id"] for e in by_clerk["evidence"]} == {genomic["id"], birth["id"]}
