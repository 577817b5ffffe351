"""Each kinship and restoration step done through its page form, as a clerk works."""

from __future__ import annotations

import re

from tests.kinship.helpers import csrf_token, genomic_fields, link, ruling_document, upload, web_login


def _post(client, page_url: str, action: str, data: dict):
    """Open the page (for its CSRF token) and submit one of its forms."""
    token = csrf_token(client.get(page_url).get_data(as_text=True))
    return client.post(action, data={"csrf_token": token, **data})


def _relationship_url(response) -> str:
    return re.search(r"/relationships/[0-9a-f-]{36}$", response.headers["Location"]).group(0)


def test_a_claim_walked_through_the_pages(app, api, staff, family):
    clerk = staff("clerk")
    client = web_login(app, clerk)
    family_url = f"/persons/{family.child['id']}/family"
    created = _post(
        client,
        family_url,
        f"{family_url}/claims",
        {"registry_number": family.mother["registry_number"], "kind": "biological_mother"},
    )
    assert created.status_code == 302
    url = _relationship_url(created)
    assert _post(client, url, f"{url}/status", {"status": "testing", "note": "Samples taken"}).status_code == 302

    rest = api(clerk)
    genomic = upload(rest, family.child["id"], "genomic_test_result", "Genomic examination", role="child")
    link(rest, genomic["id"], family.mother["id"], "alleged_parent")
    form_url = f"/documents/{genomic['id']}/genomic-result"
    fields = {**genomic_fields(), "seal_numbers": "S-1, S-2", "loci_tested": "24"}
    refused = _post(client, form_url, form_url, {**fields, "collected_on": "yesterday"})
    assert refused.status_code == 422 and 'id="e-collected_on"' in refused.get_data(as_text=True)
    assert 'value="Central Forensic Genetics Laboratory"' in refused.get_data(as_text=True)
    assert _post(client, form_url, form_url, fields).status_code == 302
    assert "S-1, S-2" in client.get(form_url).get_data(as_text=True)

    refused = _post(client, url, f"{url}/status", {"status": "court_established", "document_id": ""})
    assert refused.status_code == 409  # a claim under test cannot jump to the court
    assert _post(client, url, f"{url}/evidence", {"document_id": genomic["id"]}).status_code == 302
    assert "genetically supported" in client.get(url).get_data(as_text=True)

    ruling = ruling_document(rest, family.child["id"], family.mother["id"], [])
    ruling_url = f"/documents/{ruling['id']}/court-ruling"
    relationship_id = url.rsplit("/", 1)[1]
    assert (
        _post(
            client,
            ruling_url,
            ruling_url,
            {
                "court": "Specialised inter-district court",
                "case_number": "2-77/2024",
                "ruling_date": "2024-06-01",
                "decision": "Kinship established.",
                "appeal_status": "final",
                "relationship_ids": relationship_id,
            },
        ).status_code
        == 302
    )
    assert (
        _post(client, url, f"{url}/status", {"status": "court_established", "document_id": ruling["id"]}).status_code
        == 302
    )
    assert "court established" in client.get(url).get_data(as_text=True)


def test_a_restoration_walked_through_the_pages(app, api, staff, family):
    clerk = staff("clerk")
    client = web_login(app, clerk)
    opened = _post(
        client,
        "/restorations/new",
        "/restorations/new",
        {
            "registry_number": family.child["registry_number"],
            "document_wanted": "birth_record",
            "reason": "born_abroad",
            "assigned_clerk_id": clerk.id,
            "due_date": "",
            "notes": "",
        },
    )
    assert opened.status_code == 302
    url = opened.headers["Location"]
    rest = api(clerk)
    abroad = upload(rest, family.child["id"], "birth_record", "Birth notification, Raqqa")
    assert _post(client, url, f"{url}/evidence", {"document_id": abroad["id"]}).status_code == 302
    no_consent = _post(
        client,
        url,
        f"{url}/mother-choices",
        {
            "mother_registry_number": family.mother["registry_number"],
            "chosen_given_name": "Айша",
            "chosen_place_of_birth": "Almaty",
        },
    )
    assert no_consent.status_code == 422 and 'value="Айша"' in no_consent.get_data(as_text=True)
    assert (
        _post(
            client,
            url,
            f"{url}/mother-choices",
            {
                "mother_registry_number": family.mother["registry_number"],
                "chosen_given_name": "Айша",
                "chosen_place_of_birth": "Almaty",
                "actual_place_of_birth": "Raqqa",
                "mother_consent": "yes",
            },
        ).status_code
        == 302
    )
    for status in ("evidence_collected", "submitted"):
        assert _post(client, url, f"{url}/status", {"status": status}).status_code == 302
    issued = upload(rest, family.child["id"], "birth_record", "Birth certificate, Almaty")
    assert (
        _post(client, url, f"{url}/status", {"status": "issued", "issued_document_id": issued["id"]}).status_code == 302
    )
    page = client.get(url).get_data(as_text=True)
    assert "Raqqa" in page and "Almaty" in page and "issued" in page
