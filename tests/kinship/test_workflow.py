"""Kinship claims walked through the API, and each rule refused when its evidence is missing."""

from __future__ import annotations

from tests.conftest import error_code
from tests.kinship.helpers import claim, genomic_document, genomic_fields, join_case, ruling_document, upload


def _status(client, relationship_id: str, status: str, **extra):
    return client.post(f"/relationships/{relationship_id}/status", json={"status": status, **extra})


def _evidence(client, relationship_id: str, document_id: str):
    return client.post(f"/relationships/{relationship_id}/evidence", json={"document_id": document_id})


def test_claim_to_court_established_end_to_end(api, staff, family):
    lawyer = api(family.lawyer)
    relationship = claim(lawyer, family)
    assert relationship["status"] == "claimed"
    assert relationship["relative"]["registry_number"] == family.mother["registry_number"]
    assert (
        _status(lawyer, relationship["id"], "testing", note="Samples taken").get_json()["relationship"]["status"]
        == "testing"
    )

    genomic = genomic_document(lawyer, family.child["id"], family.mother["id"], "inclusion")
    supported = _evidence(lawyer, relationship["id"], genomic["id"])
    assert supported.status_code == 201
    assert supported.get_json()["relationship"]["status"] == "genetically_supported"

    ruling = ruling_document(lawyer, family.child["id"], family.mother["id"], [relationship["id"]])
    established = _evidence(lawyer, relationship["id"], ruling["id"]).get_json()["relationship"]
    assert established["status"] == "court_established"
    assert established["next_steps"] == []
    steps = [(h["from"], h["to"], h["document_id"], h["actor"]) for h in established["history"]]
    assert steps == [
        ("", "claimed", None, family.lawyer.username),
        ("claimed", "testing", None, family.lawyer.username),
        ("testing", "genetically_supported", genomic["id"], family.lawyer.username),
        ("genetically_supported", "court_established", ruling["id"], family.lawyer.username),
    ]
    assert {e["document_id"] for e in established["evidence"]} == {genomic["id"], ruling["id"]}

    listed = api(family.clerk).get(f"/persons/{family.mother['id']}/relationships").get_json()["relationships"]
    assert [r["status"] for r in listed] == ["court_established"]

    events = api(staff("auditor")).get(f"/audit/events?person_id={family.child['id']}&per_page=200").get_json()
    actions = [e["action"] for e in events["events"]]
    assert actions.count("kinship.status_changed") == 3 and "kinship.claimed" in actions
    assert "kinship.evidence_attached" in actions and "kinship.viewed" in actions


def test_genetically_supported_is_refused_without_a_genomic_document(api, family):
    lawyer = api(family.lawyer)
    relationship = claim(lawyer, family)
    response = _status(lawyer, relationship["id"], "genetically_supported")
    assert response.status_code == 422 and "document_id" in response.get_json()["error"]["fields"]
    birth_record = upload(lawyer, family.child["id"], "birth_record", "Birth record, Raqqa")
    other_kind = _status(lawyer, relationship["id"], "genetically_supported", document_id=birth_record["id"])
    assert other_kind.status_code == 422
    assert (
        api(family.lawyer).get(f"/relationships/{relationship['id']}").get_json()["relationship"]["status"] == "claimed"
    )


def test_a_genomic_result_naming_only_one_person_is_refused(api, family):
    lawyer = api(family.lawyer)
    relationship = claim(lawyer, family)
    one_sided = genomic_document(lawyer, family.child["id"], None, "inclusion")
    for response in (
        _evidence(lawyer, relationship["id"], one_sided["id"]),
        _status(lawyer, relationship["id"], "genetically_supported", document_id=one_sided["id"]),
    ):
        assert response.status_code == 422
        assert "both persons" in response.get_json()["error"]["fields"]["document_id"]
    assert lawyer.get(f"/relationships/{relationship['id']}").get_json()["relationship"]["status"] == "claimed"


def test_a_result_without_recorded_findings_does_not_support_the_claim(api, family):
    lawyer = api(family.lawyer)
    relationship = claim(lawyer, family)
    unrecorded = genomic_document(lawyer, family.child["id"], family.mother["id"], None)
    attached = _evidence(lawyer, relationship["id"], unrecorded["id"]).get_json()["relationship"]
    assert attached["status"] == "claimed"
    refused = _status(lawyer, relationship["id"], "genetically_supported", document_id=unrecorded["id"])
    assert refused.status_code == 422


def test_an_exclusion_result_moves_the_claim_to_excluded(api, family):
    lawyer = api(family.lawyer)
    relationship = claim(lawyer, family)
    excluding = genomic_document(lawyer, family.child["id"], family.mother["id"], "exclusion")
    refused = _status(lawyer, relationship["id"], "genetically_supported", document_id=excluding["id"])
    assert refused.status_code == 422 and "exclusion" in refused.get_json()["error"]["fields"]["document_id"]
    moved = _evidence(lawyer, relationship["id"], excluding["id"]).get_json()["relationship"]
    assert moved["status"] == "excluded" and moved["history"][-1]["document_id"] == excluding["id"]
    again = _status(lawyer, relationship["id"], "testing")
    assert again.status_code == 409 and error_code(again) == "conflict"


def test_court_established_is_refused_without_a_ruling(api, family):
    lawyer = api(family.lawyer)
    relationship = claim(lawyer, family)
    _evidence(
        lawyer, relationship["id"], genomic_document(lawyer, family.child["id"], family.mother["id"], "inclusion")["id"]
    )
    assert _status(lawyer, relationship["id"], "court_established").status_code == 422
    unrecorded = ruling_document(lawyer, family.child["id"], family.mother["id"], [])
    assert _status(lawyer, relationship["id"], "court_established", document_id=unrecorded["id"]).status_code == 422
    one_sided = upload(lawyer, family.child["id"], "court_ruling", "Ruling naming the child only")
    assert _evidence(lawyer, relationship["id"], one_sided["id"]).status_code == 422
    ruling = ruling_document(lawyer, family.child["id"], family.mother["id"], [relationship["id"]])
    done = _status(lawyer, relationship["id"], "court_established", document_id=ruling["id"])
    assert done.status_code == 200 and done.get_json()["relationship"]["status"] == "court_established"


def test_a_second_established_mother_is_refused(api, runtime, family, make_person):
    lawyer = api(family.lawyer)
    first = claim(lawyer, family)
    _evidence(lawyer, first["id"], genomic_document(lawyer, family.child["id"], family.mother["id"], "inclusion")["id"])
    _evidence(
        lawyer, first["id"], ruling_document(lawyer, family.child["id"], family.mother["id"], [first["id"]])["id"]
    )
    rival = make_person(
        family.clerk,
        names=[{"family_name": "Омарова", "given_name": "Зарина"}],
        sex="female",
        birth_date="1988-01-01",
        birth_date_precision="exact",
    )
    with runtime.sessions() as db:
        join_case(db, family.case_id, person_ids=[rival["id"]])
        db.commit()
    second = lawyer.post(
        "/relationships",
        json={"person_id": family.child["id"], "relative_id": rival["id"], "kind": "biological_mother"},
    ).get_json()["relationship"]
    assert any("already court_established" in w for w in second["warnings"])
    document = genomic_document(lawyer, family.child["id"], rival["id"], "inclusion")
    _evidence(lawyer, second["id"], document["id"])
    ruling = ruling_document(lawyer, family.child["id"], rival["id"], [second["id"]])
    refused = _evidence(lawyer, second["id"], ruling["id"])
    assert refused.status_code == 409


def test_guardianship_is_established_by_a_court_without_a_genomic_step(api, family):
    lawyer = api(family.lawyer)
    relationship = claim(lawyer, family, kind="guardian")
    assert _status(lawyer, relationship["id"], "testing").status_code == 409
    ruling = ruling_document(lawyer, family.child["id"], family.mother["id"], [relationship["id"]])
    assert (
        _evidence(lawyer, relationship["id"], ruling["id"]).get_json()["relationship"]["status"] == "court_established"
    )


def test_withdrawing_needs_a_reason(api, family):
    lawyer = api(family.lawyer)
    relationship = claim(lawyer, family)
    refused = _status(lawyer, relationship["id"], "withdrawn")
    assert refused.status_code == 422 and "note" in refused.get_json()["error"]["fields"]
    assert _status(lawyer, relationship["id"], "withdrawn", note="Applicant withdrew").status_code == 200


def test_a_lawyer_cannot_touch_a_person_outside_their_cases(api, staff, family, make_person):
    outsider = api(staff("lawyer"))
    relationship = claim(api(family.lawyer), family)
    attempts = [
        outsider.post(
            "/relationships",
            json={"person_id": family.child["id"], "relative_id": family.mother["id"], "kind": "biological_mother"},
        ),
        outsider.post(
            f"/relationships/{relationship['id']}/status", json={"status": "court_established", "document_id": "any"}
        ),
        outsider.post(f"/relationships/{relationship['id']}/evidence", json={"document_id": "x"}),
        outsider.get(f"/relationships/{relationship['id']}"),
        outsider.get(f"/persons/{family.child['id']}/relationships"),
    ]
    assert [(r.status_code, error_code(r)) for r in attempts] == [(404, "not_found")] * 5
    stranger = make_person(family.clerk, names=[{"family_name": "Касымова", "given_name": "Дана"}])
    half_inside = api(family.lawyer).post(
        "/relationships", json={"person_id": family.child["id"], "relative_id": stranger["id"], "kind": "aunt_uncle"}
    )
    assert half_inside.status_code == 404 and error_code(half_inside) == "not_found"
    assert (
        api(family.clerk).get(f"/relationships/{relationship['id']}").get_json()["relationship"]["status"] == "claimed"
    )


def test_caseworkers_never_see_genomic_results(api, runtime, staff, family):
    caseworker = staff("caseworker")
    with runtime.sessions() as db:
        join_case(db, family.case_id, members=[caseworker])
        db.commit()
    lawyer = api(family.lawyer)
    relationship = claim(lawyer, family)
    genomic = genomic_document(lawyer, family.child["id"], family.mother["id"], "inclusion")
    _evidence(lawyer, relationship["id"], genomic["id"])
    reader = api(caseworker)
    assert error_code(reader.get(f"/documents/{genomic['id']}/genomic-result")) == "forbidden"
    assert error_code(reader.get(f"/documents/{genomic['id']}")) == "not_found"
    seen = reader.get(f"/relationships/{relationship['id']}").get_json()["relationship"]
    assert seen["status"] == "genetically_supported"
    assert seen["evidence"] == [] and all(h["document_id"] is None for h in seen["history"])
    assert lawyer.get(f"/documents/{genomic['id']}/genomic-result").get_json()["genomic_result"]["sample_collection"][
        "seal_numbers"
    ] == ["S-100200", "S-100201"]


def test_genomic_findings_are_checked_and_recorded_once(api, family):
    lawyer = api(family.lawyer)
    document = genomic_document(lawyer, family.child["id"], family.mother["id"], None)
    path = f"/documents/{document['id']}/genomic-result"
    bad = lawyer.post(path, json={"laboratory": "Lab", "method": "rflp", "loci_tested": 24})
    assert bad.status_code == 422 and "method" in bad.get_json()["error"]["fields"]
    no_seals = lawyer.post(path, json={**genomic_fields(), "seal_numbers": []})
    assert "seal_numbers" in no_seals.get_json()["error"]["fields"]
    recorded = lawyer.post(path, json=genomic_fields()).get_json()["genomic_result"]
    assert recorded["cost"] == "85000.50" and recorded["cost_covered_by"] == "state"
    assert lawyer.post(path, json=genomic_fields()).status_code == 409


def test_birth_dates_refuse_exact_impossibilities_and_warn_on_estimates(api, family, make_person):
    clerk = api(family.clerk)
    baby = make_person(
        family.clerk,
        names=[{"family_name": "Омарова", "given_name": "Амина"}],
        birth_date="2020-01-01",
        birth_date_precision="exact",
    )
    young = make_person(
        family.clerk,
        names=[{"family_name": "Омарова", "given_name": "Сафия"}],
        sex="female",
        birth_date="2012-01-01",
        birth_date_precision="exact",
    )
    refused = clerk.post(
        "/relationships", json={"person_id": baby["id"], "relative_id": young["id"], "kind": "biological_mother"}
    )
    assert refused.status_code == 422 and "relative_id" in refused.get_json()["error"]["fields"]
    estimated = make_person(
        family.clerk,
        names=[{"family_name": "Омарова", "given_name": "Марьям"}],
        birth_date="2015-01-01",
        birth_date_precision="estimated",
    )
    warned = clerk.post(
        "/relationships", json={"person_id": estimated["id"], "relative_id": young["id"], "kind": "biological_mother"}
    )
    assert warned.status_code == 201
    assert any("years older" in w for w in warned.get_json()["relationship"]["warnings"])


def test_a_parenthood_cycle_is_flagged(api, family):
    clerk = api(family.clerk)
    claim(clerk, family)
    reversed_claim = clerk.post(
        "/relationships",
        json={"person_id": family.mother["id"], "relative_id": family.child["id"], "kind": "grandparent"},
    )
    assert reversed_claim.status_code == 201
    assert any("own ancestor" in w for w in reversed_claim.get_json()["relationship"]["warnings"])


def test_the_same_open_claim_is_not_made_twice(api, family):
    clerk = api(family.clerk)
    claim(clerk, family)
    again = clerk.post(
        "/relationships",
        json={"person_id": family.child["id"], "relative_id": family.mother["id"], "kind": "biological_mother"},
    )
    assert again.status_code == 409


def test_lists_show_orphans_and_claims_waiting(api, family, make_person):
    clerk = api(family.clerk)
    orphan = make_person(
        family.clerk, names=[{"family_name": "Ибраева", "given_name": "Хадиджа"}], categories=["child", "orphan"]
    )
    relationship = claim(clerk, family)
    lists = clerk.get("/kinship/lists").get_json()
    assert orphan["id"] in [p["id"] for p in lists["orphans"]]
    assert [r["id"] for r in lists["waiting_for_test"]] == [relationship["id"]]
    _evidence(
        clerk, relationship["id"], genomic_document(clerk, family.child["id"], family.mother["id"], "inclusion")["id"]
    )
    lists = clerk.get("/kinship/lists").get_json()
    assert lists["waiting_for_test"] == [] and [r["id"] for r in lists["waiting_for_ruling"]] == [relationship["id"]]
