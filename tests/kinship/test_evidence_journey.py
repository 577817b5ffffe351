"""Issue #17, items 2 and 3: a lawyer takes a claim from claimed to court established in pages alone, and the
claim's status follows its evidence (findings recorded after attaching, a ruling entering into force)."""

from __future__ import annotations

import io
import re

import sqlalchemy as sa

from registry.documents.models import DocumentPerson
from tests.kinship.helpers import (
    claim,
    csrf_token,
    genomic_document,
    genomic_fields,
    join_case,
    ruling_document,
    scan,
    upload,
    web_login,
)
from tests.web.test_refusals_change_nothing import changed_tables, snapshot

RULING = {
    "court": "Specialised inter-district court",
    "case_number": "2-1234/2024",
    "ruling_date": "2024-06-01",
    "decision": "Kinship established.",
}
AWAITING = "Ruling awaiting entry into force"


def _form(client, page_url: str, action: str, data: dict, **extra):
    """Open the page (for its CSRF token) and submit one of its forms."""
    token = csrf_token(client.get(page_url).get_data(as_text=True))
    return client.post(action, data={"csrf_token": token, **data}, **extra)


def _status(rest, relationship_id: str) -> str:
    return rest.get(f"/relationships/{relationship_id}").get_json()["relationship"]["status"]


def _flashes(page: str) -> list[str]:
    return re.findall(r'<p class="flash info" role="status">([^<]*)</p>', page)


def _upload_from_claim(client, claim_url: str, kind: str, title: str):
    """Follow the claim page's upload button and send a scan through the form it opens."""
    page = client.get(claim_url).get_data(as_text=True)
    link = re.search(r'href="(/persons/[^"]+/documents/new\?[^"]+)"', page)
    assert link, "the claim page offers the upload of its next evidence"
    form_url = link.group(1).replace("&amp;", "&")
    form = client.get(form_url).get_data(as_text=True)
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', form))
    selected = dict(re.findall(r'<select id="f-\w+" name="(\w+)">.*?<option value="(\w+)" selected', form, re.S))
    assert selected["kind"] == kind, "the form starts with the kind of evidence the claim waits for"
    return client.post(
        form_url,
        data={**fields, **selected, "title": title, "file": (io.BytesIO(scan(title)), "scan.png", "image/png")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )


def test_a_lawyer_takes_a_claim_to_court_established_in_pages_alone(app, api, family):
    client = web_login(app, family.lawyer)
    family_url = f"/persons/{family.child['id']}/family"
    claimed = _form(
        client,
        family_url,
        f"{family_url}/claims",
        {"registry_number": family.mother["registry_number"], "kind": "biological_mother"},
        follow_redirects=True,
    )
    assert "The claim is recorded" in " ".join(_flashes(claimed.get_data(as_text=True)))
    claim_url = claimed.request.path
    relationship_id = claim_url.rsplit("/", 1)[1]

    uploaded = _upload_from_claim(client, claim_url, "genomic_test_result", "DNA examination 14/2024")
    page = uploaded.get_data(as_text=True)
    assert uploaded.status_code == 200 and "attached to the claim" in " ".join(_flashes(page))
    assert family.mother["registry_number"] in page and family.child["registry_number"] in page
    findings_url = re.search(r'href="(/documents/[^"]+/genomic-result)"', page).group(1)
    recorded = _form(
        client, findings_url, findings_url, {**genomic_fields(), "seal_numbers": "S-1, S-2"}, follow_redirects=True
    )
    assert recorded.request.path == claim_url, "recording the findings leads back to the claim"
    assert "genetically supported" in " ".join(_flashes(recorded.get_data(as_text=True)))
    assert _status(api(family.lawyer), relationship_id) == "genetically_supported"

    uploaded = _upload_from_claim(client, claim_url, "court_ruling", "Ruling 2-1234/2024")
    ruling_url = re.search(r'href="(/documents/[^"]+/court-ruling)"', uploaded.get_data(as_text=True)).group(1)
    form = client.get(ruling_url).get_data(as_text=True)
    assert re.search(rf'value="{relationship_id}"\s+checked', form), "the claim it was uploaded for is ticked"
    recorded = _form(
        client,
        ruling_url,
        ruling_url,
        {**RULING, "appeal_status": "open", "relationship_ids": relationship_id},
        follow_redirects=True,
    )
    page = recorded.get_data(as_text=True)
    assert recorded.request.path == claim_url and AWAITING in page
    assert _status(api(family.lawyer), relationship_id) == "genetically_supported"

    final = _form(client, ruling_url, f"{ruling_url}/appeal", {"appeal_status": "final"}, follow_redirects=True)
    page = final.get_data(as_text=True)
    assert final.request.path == claim_url and AWAITING not in page
    assert "court established" in " ".join(_flashes(page))
    assert _status(api(family.lawyer), relationship_id) == "court_established"


def test_recording_findings_after_attaching_moves_the_claim(api, family):
    lawyer = api(family.lawyer)
    relationship = claim(lawyer, family)
    document = genomic_document(lawyer, family.child["id"], family.mother["id"], None)
    lawyer.post(f"/relationships/{relationship['id']}/evidence", json={"document_id": document["id"]})
    assert _status(lawyer, relationship["id"]) == "claimed"
    response = lawyer.post(f"/documents/{document['id']}/genomic-result", json=genomic_fields("inclusion"))
    assert response.status_code == 201
    moved = lawyer.get(f"/relationships/{relationship['id']}").get_json()["relationship"]
    assert moved["status"] == "genetically_supported" and moved["history"][-1]["document_id"] == document["id"]


def test_recording_an_exclusion_after_attaching_excludes_the_claim(api, family):
    lawyer = api(family.lawyer)
    relationship = claim(lawyer, family)
    document = genomic_document(lawyer, family.child["id"], family.mother["id"], None)
    lawyer.post(f"/relationships/{relationship['id']}/evidence", json={"document_id": document["id"]})
    lawyer.post(f"/documents/{document['id']}/genomic-result", json=genomic_fields("exclusion"))
    assert _status(lawyer, relationship["id"]) == "excluded"


def _supported(lawyer, family) -> dict:
    relationship = claim(lawyer, family)
    result = genomic_document(lawyer, family.child["id"], family.mother["id"], "inclusion")
    lawyer.post(f"/relationships/{relationship['id']}/evidence", json={"document_id": result["id"]})
    return relationship


def test_a_ruling_open_to_appeal_is_attached_but_establishes_nothing_until_final(api, family):
    lawyer = api(family.lawyer)
    relationship = _supported(lawyer, family)
    ruling = ruling_document(lawyer, family.child["id"], family.mother["id"], [])
    path = f"/documents/{ruling['id']}/court-ruling"
    assert (
        lawyer.post(
            path, json={**RULING, "appeal_status": "open", "relationship_ids": [relationship["id"]]}
        ).status_code
        == 201
    )
    attached = lawyer.post(f"/relationships/{relationship['id']}/evidence", json={"document_id": ruling["id"]})
    shown = attached.get_json()["relationship"]
    assert shown["status"] == "genetically_supported"
    assert shown["rulings_awaiting_entry_into_force"] == [ruling["id"]]

    by_hand = lawyer.post(
        f"/relationships/{relationship['id']}/status", json={"status": "court_established", "document_id": ruling["id"]}
    )
    assert by_hand.status_code == 422 and "entered into force" in by_hand.get_json()["error"]["fields"]["document_id"]

    lawyer.post(path, json={**RULING, "appeal_status": "appealed", "relationship_ids": [relationship["id"]]})
    assert _status(lawyer, relationship["id"]) == "genetically_supported"
    assert (
        lawyer.post(
            path, json={**RULING, "appeal_status": "final", "relationship_ids": [relationship["id"]]}
        ).status_code
        == 201
    )
    done = lawyer.get(f"/relationships/{relationship['id']}").get_json()["relationship"]
    assert done["status"] == "court_established" and done["rulings_awaiting_entry_into_force"] == []
    assert done["history"][-1]["document_id"] == ruling["id"]


def test_the_appeal_form_moves_the_claim_and_leaves_the_rest_of_the_ruling(app, api, family):
    lawyer = api(family.lawyer)
    relationship = _supported(lawyer, family)
    ruling = ruling_document(lawyer, family.child["id"], family.mother["id"], [])
    path = f"/documents/{ruling['id']}/court-ruling"
    lawyer.post(path, json={**RULING, "appeal_status": "open", "relationship_ids": [relationship["id"]]})
    lawyer.post(f"/relationships/{relationship['id']}/evidence", json={"document_id": ruling["id"]})
    client = web_login(app, family.lawyer)
    refused = _form(client, path, f"{path}/appeal", {"appeal_status": "no-such-status"})
    assert refused.status_code == 422 and 'id="e-appeal_status"' in refused.get_data(as_text=True)
    assert _status(lawyer, relationship["id"]) == "genetically_supported"
    assert _form(client, path, f"{path}/appeal", {"appeal_status": "final"}).status_code == 302
    assert _status(lawyer, relationship["id"]) == "court_established"
    kept = lawyer.get(path).get_json()["court_ruling"]
    assert (kept["case_number"], kept["appeal_status"]) == ("2-1234/2024", "final")
    page = client.get(path).get_data(as_text=True)
    assert 'id="f-court"' not in page, "a ruling that established a claim offers only its appeal status"


def test_the_status_form_starts_with_no_choice_and_forward_steps_first(app, api, family):
    relationship = claim(api(family.lawyer), family)
    page = web_login(app, family.lawyer).get(f"/relationships/{relationship['id']}").get_data(as_text=True)
    select = re.search(r'<select id="f-status" name="status" required>(.*?)</select>', page, re.S).group(1)
    assert re.findall(r'<option value="(\w*)"', select) == [
        "",
        "testing",
        "genetically_supported",
        "excluded",
        "withdrawn",
    ]
    assert api(family.lawyer).get(f"/relationships/{relationship['id']}").get_json()["relationship"]["next_steps"] == [
        "testing",
        "genetically_supported",
        "excluded",
        "withdrawn",
    ]


def test_an_attached_document_is_not_offered_again(app, api, family):
    lawyer = api(family.lawyer)
    relationship = claim(lawyer, family)
    attached = upload(lawyer, family.child["id"], "birth_record", "Birth record, Raqqa")
    spare = upload(lawyer, family.child["id"], "birth_record", "Birth notification")
    lawyer.post(f"/relationships/{relationship['id']}/evidence", json={"document_id": attached["id"]})
    page = web_login(app, family.lawyer).get(f"/relationships/{relationship['id']}").get_data(as_text=True)
    offered = re.search(r'<select id="f-document_id" name="document_id">(.*?)</select>', page, re.S).group(1)
    assert spare["id"] in offered and attached["id"] not in offered


def test_the_document_page_links_another_person(app, api, runtime, family):
    lawyer = api(family.lawyer)
    result = upload(lawyer, family.child["id"], "genomic_test_result", "DNA examination", role="child")
    client = web_login(app, family.lawyer)
    url = f"/documents/{result['id']}"
    before = snapshot(runtime)
    unknown = _form(client, url, f"{url}/persons", {"registry_number": "R1999-NOSUCH", "role": "alleged_parent"})
    assert unknown.status_code == 422 and 'value="R1999-NOSUCH"' in unknown.get_data(as_text=True)
    bad_role = _form(
        client, url, f"{url}/persons", {"registry_number": family.mother["registry_number"], "role": "no-such-role"}
    )
    assert bad_role.status_code == 422
    assert changed_tables(before, snapshot(runtime)) == set()

    linked = _form(
        client,
        url,
        f"{url}/persons",
        {"registry_number": family.mother["registry_number"], "role": "alleged_parent"},
        follow_redirects=True,
    )
    assert family.mother["registry_number"] in " ".join(_flashes(linked.get_data(as_text=True)))
    with runtime.sessions() as db:
        roles = {
            (p.person_id, p.role)
            for p in db.scalars(sa.select(DocumentPerson).where(DocumentPerson.document_id == result["id"]))
        }
    assert roles == {(family.child["id"], "child"), (family.mother["id"], "alleged_parent")}
    relationship = claim(lawyer, family)
    attached = lawyer.post(f"/relationships/{relationship['id']}/evidence", json={"document_id": result["id"]})
    assert attached.status_code == 201, "linked to both persons, the result is evidence of the claim"


def test_an_upload_from_someone_elses_claim_is_not_found_and_keeps_nothing(app, api, runtime, staff, family):
    relationship = claim(api(family.clerk), family)
    outsider = web_login(app, staff("lawyer"))
    url = f"/persons/{family.child['id']}/documents/new?relationship={relationship['id']}"
    assert outsider.get(url).status_code == 404
    insider = web_login(app, family.lawyer)
    token = csrf_token(insider.get(url).get_data(as_text=True))
    before = snapshot(runtime)
    wrong_person = insider.post(
        f"/persons/{family.mother['id']}/documents/new",
        data={
            "csrf_token": token,
            "relationship_id": "no-such-relationship",
            "kind": "birth_record",
            "title": "x",
            "file": (io.BytesIO(scan("x")), "x.png", "image/png"),
        },
        content_type="multipart/form-data",
    )
    bad_role = insider.post(
        f"/persons/{family.child['id']}/documents/new",
        data={
            "csrf_token": token,
            "relationship_id": relationship["id"],
            "kind": "genomic_test_result",
            "title": "x",
            "other_role": "no-such-role",
            "file": (io.BytesIO(scan("x")), "x.png", "image/png"),
        },
        content_type="multipart/form-data",
    )
    assert (wrong_person.status_code, bad_role.status_code) == (404, 422)
    assert 'id="e-other_role"' in bad_role.get_data(as_text=True)
    assert changed_tables(before, snapshot(runtime)) == set()


def test_a_final_ruling_that_a_registry_rule_stops_is_not_recorded_at_all(api, runtime, family, make_person):
    """Recording decides the claims the ruling is attached to, as attaching does: refused whole, nothing kept."""
    lawyer = api(family.lawyer)
    first = _supported(lawyer, family)
    established = ruling_document(lawyer, family.child["id"], family.mother["id"], [first["id"]])
    lawyer.post(f"/relationships/{first['id']}/evidence", json={"document_id": established["id"]})
    assert _status(lawyer, first["id"]) == "court_established"
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
    result = genomic_document(lawyer, family.child["id"], rival["id"], "inclusion")
    lawyer.post(f"/relationships/{second['id']}/evidence", json={"document_id": result["id"]})
    ruling = ruling_document(lawyer, family.child["id"], rival["id"], [])
    lawyer.post(f"/relationships/{second['id']}/evidence", json={"document_id": ruling["id"]})
    refused = lawyer.post(
        f"/documents/{ruling['id']}/court-ruling",
        json={**RULING, "appeal_status": "final", "relationship_ids": [second["id"]]},
    )
    assert refused.status_code == 409
    assert lawyer.get(f"/documents/{ruling['id']}/court-ruling").get_json()["court_ruling"] is None
    assert _status(lawyer, second["id"]) == "genetically_supported"
