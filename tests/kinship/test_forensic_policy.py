"""Genomic results weighed as a forensic geneticist would: the method fits the relationship, the laboratory's
conclusion is checked against its numbers, the strength is said in words, and no genotype is stored."""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from tests.conftest import error_code
from tests.kinship.helpers import (
    claim,
    csrf_token,
    genomic_document,
    genomic_fields,
    join_case,
    link,
    upload,
    web_login,
)


def _record(client, document_id: str, **changes) -> object:
    return client.post(f"/documents/{document_id}/genomic-result", json={**genomic_fields(), **changes})


def _attached_result(lawyer, family, relationship: dict, **changes) -> dict:
    """A result naming the child and the mother, attached to the claim, then its findings recorded."""
    document = genomic_document(lawyer, family.child["id"], family.mother["id"], None)
    lawyer.post(f"/relationships/{relationship['id']}/evidence", json={"document_id": document["id"]})
    response = _record(lawyer, document["id"], **changes)
    assert response.status_code == 201, response.get_json()
    return document


def _claim(lawyer, relationship_id: str) -> dict:
    return lawyer.get(f"/relationships/{relationship_id}").get_json()["relationship"]


def _testing(lawyer, family, kind: str = "biological_mother") -> dict:
    relationship = claim(lawyer, family, kind)
    lawyer.post(f"/relationships/{relationship['id']}/status", json={"status": "testing"})
    return relationship


def test_a_y_str_result_on_a_maternity_claim_is_refused(api, family):
    lawyer = api(family.lawyer)
    relationship = _testing(lawyer, family)
    document = genomic_document(lawyer, family.child["id"], family.mother["id"], None)
    lawyer.post(f"/relationships/{relationship['id']}/evidence", json={"document_id": document["id"]})
    refused = _record(lawyer, document["id"], method="y_str", combined_relationship_index="5000")
    assert refused.status_code == 422 and error_code(refused) == "biologically_impossible"
    assert "Y chromosome" in refused.get_json()["error"]["message"]
    # Not yet attached to the claim: refused all the same, since a woman was tested.
    loose = genomic_document(lawyer, family.child["id"], family.mother["id"], None)
    assert error_code(_record(lawyer, loose["id"], method="y_str")) == "biologically_impossible"
    assert lawyer.get(f"/documents/{loose['id']}/genomic-result").get_json()["genomic_result"] is None
    assert _claim(lawyer, relationship["id"])["status"] == "testing"


def test_mtdna_alone_is_lineage_consistent_and_supports_only_with_an_autosomal_result(api, family):
    lawyer = api(family.lawyer)
    relationship = _testing(lawyer, family)
    mtdna = _attached_result(
        lawyer,
        family,
        relationship,
        method="mtdna",
        loci_tested=1,
        inconsistent_loci=0,
        combined_relationship_index="800",
    )
    found = _claim(lawyer, relationship["id"])
    assert found["status"] == "testing"
    assert found["genomic_assessment"]["outcome"] == "lineage_consistent"
    assert any("autosomal" in r for r in found["genomic_assessment"]["reasons"])
    # An autosomal duo short of the threshold on its own (50 < 10,000), times the mtDNA match (800): 40,000.
    _attached_result(lawyer, family, relationship, loci_tested=21, combined_relationship_index="50")
    found = _claim(lawyer, relationship["id"])
    assert found["status"] == "genetically_supported"
    assert found["genomic_assessment"]["combined_likelihood_ratio"] == pytest.approx(40_000)
    assert mtdna["id"] in {r["document_id"] for r in found["genomic_assessment"]["results"]}


def test_a_combined_index_of_500_does_not_support_parentage_and_2_000_000_does(api, family):
    lawyer = api(family.lawyer)
    relationship = _testing(lawyer, family)
    weak = _attached_result(lawyer, family, relationship, combined_relationship_index="500")
    found = _claim(lawyer, relationship["id"])
    assert found["status"] == "testing"
    reading = found["genomic_assessment"]["results"][0]
    assert reading["finding"] == "inconclusive" and "below the 10,000" in reading["reasons"][0]
    assert reading["strength"]["words"] == "moderately strong support for the claimed relationship"
    assert any("trio" in a for a in found["genomic_assessment"]["advice"])
    refused = lawyer.post(
        f"/relationships/{relationship['id']}/status",
        json={"status": "genetically_supported", "document_id": weak["id"]},
    )
    assert refused.status_code == 422 and "below the 10,000" in refused.get_json()["error"]["message"]
    _attached_result(lawyer, family, relationship, combined_relationship_index="2000000")
    found = _claim(lawyer, relationship["id"])
    assert found["status"] == "genetically_supported"
    assert found["genomic_assessment"]["results"][1]["strength"]["band"] == "extremely_strong"


def test_one_inconsistent_locus_is_inconclusive_and_four_exclude(api, family):
    lawyer = api(family.lawyer)
    relationship = _testing(lawyer, family)
    exclusion = {"conclusion": "exclusion", "combined_relationship_index": "0.0001"}
    _attached_result(lawyer, family, relationship, inconsistent_loci=1, **exclusion)
    found = _claim(lawyer, relationship["id"])
    assert found["status"] == "testing"
    assert "Extended testing is advised" in found["genomic_assessment"]["results"][0]["reasons"][0]
    _attached_result(lawyer, family, relationship, inconsistent_loci=4, **exclusion)
    assert _claim(lawyer, relationship["id"])["status"] == "excluded"


def test_a_trio_supports_both_parents_claims(api, runtime, family, make_person):
    lawyer = api(family.lawyer)
    father = make_person(family.clerk, sex="male", birth_date="1985-01-01", birth_date_precision="exact", categories=[])
    with runtime.sessions() as db:
        join_case(db, family.case_id, person_ids=[father["id"]])
        db.commit()
    mother_claim = claim(lawyer, family, "biological_mother")
    father_claim = lawyer.post(
        "/relationships",
        json={"person_id": family.child["id"], "relative_id": father["id"], "kind": "biological_father"},
    ).get_json()["relationship"]
    document = upload(lawyer, family.child["id"], "genomic_test_result", "Trio examination", role="child")
    link(lawyer, document["id"], family.mother["id"], "mother")
    link(lawyer, document["id"], father["id"], "alleged_parent")
    for relationship in (mother_claim, father_claim):
        lawyer.post(f"/relationships/{relationship['id']}/evidence", json={"document_id": document["id"]})
    trio = [family.child["id"], family.mother["id"], father["id"]]
    checked = [{"person_id": father["id"], "document_type": "identity card", "document_number": "041234567"}]
    response = _record(
        lawyer,
        document["id"],
        tested_person_ids=trio,
        identity_checked_by="Nurse A.",
        witness="Social worker B.",
        identity_checks=checked,
    )
    assert response.status_code == 201, response.get_json()
    recorded = response.get_json()["genomic_result"]
    assert recorded["tested_person_ids"] == trio and recorded["sample_collection"]["witness"] == "Social worker B."
    assert _claim(lawyer, mother_claim["id"])["status"] == "genetically_supported"
    assert _claim(lawyer, father_claim["id"])["status"] == "genetically_supported"


@pytest.mark.parametrize("locale, words", [("ru", "чрезвычайно сильная поддержка"), ("kk", "аса күшті қолдау")])
def test_the_verbal_scale_is_shown_in_the_readers_language(app, api, family, locale, words):
    lawyer = api(family.lawyer)
    relationship = _testing(lawyer, family)
    document = _attached_result(lawyer, family, relationship)
    client = web_login(app, family.lawyer)
    headers = {"Accept-Language": locale}
    claim_page = client.get(f"/relationships/{relationship['id']}", headers=headers).get_data(as_text=True)
    result_page = client.get(f"/documents/{document['id']}/genomic-result", headers=headers).get_data(as_text=True)
    assert words in claim_page and words in result_page
    assert "extremely strong support" not in claim_page


def test_the_bundle_states_the_strength_in_three_languages(api, family):
    lawyer = api(family.lawyer)
    relationship = _testing(lawyer, family)
    document = _attached_result(lawyer, family, relationship)
    archive = zipfile.ZipFile(io.BytesIO(lawyer.get(f"/relationships/{relationship['id']}/bundle").get_data()))
    manifest = json.loads(archive.read("manifest.json"))
    strength = manifest["structured_evidence"][document["id"]]["genomic_result"]["strength"]
    assert strength["band"] == "extremely_strong" and strength["likelihood_ratio"] == 2_150_000
    assert strength["words"]["en"] == "extremely strong support for the claimed relationship"
    assert strength["words"]["ru"] != strength["words"]["en"] != strength["words"]["kk"] != strength["words"]["ru"]
    summary = archive.read("summary.txt").decode()
    assert "summary.txt" in {f["path"] for f in manifest["files"]}  # hashed and signed like every file
    assert all(words in summary for words in strength["words"].values())


def test_the_registry_keeps_no_genotypes(api, family):
    lawyer = api(family.lawyer)
    document = genomic_document(lawyer, family.child["id"], family.mother["id"], None)
    table = "D8S1179 13,14 D21S11 29,30 TH01 7,9.3"
    for field, value in [
        ("laboratory", table),
        ("accreditation", "vWA 16/17"),
        ("collected_by", "FGA 22,24"),
        ("collected_where", "Aktau 12,13 14,15 16,17"),
        ("custody_notes", "16519C 263G 315.1C"),
        ("witness", "DYS391 10"),
        ("identity_checked_by", "rs1490413 A/G"),
        ("seal_numbers", ["S-1", "Penta E 5,12"]),
    ]:
        response = _record(lawyer, document["id"], **{field: value})
        assert response.status_code == 422 and field in response.get_json()["error"]["fields"], field
    checks = [{"person_id": family.child["id"], "document_type": "passport", "document_number": "D3S1358 15,16"}]
    assert "identity_checks" in _record(lawyer, document["id"], identity_checks=checks).get_json()["error"]["fields"]
    for field, value in [
        ("loci_tested", "13,14"),
        ("loci_tested", 10_001),
        ("inconsistent_loci", 25),
        ("combined_relationship_index", "9.3/10"),
    ]:
        response = _record(lawyer, document["id"], **{field: value})
        assert response.status_code == 422 and field in response.get_json()["error"]["fields"], field
    assert lawyer.get(f"/documents/{document['id']}/genomic-result").get_json()["genomic_result"] is None


def test_the_findings_form_records_the_tested_persons_and_their_identity_checks(app, api, family):
    lawyer = api(family.lawyer)
    document = genomic_document(lawyer, family.child["id"], family.mother["id"], None)
    client = web_login(app, family.lawyer)
    url = f"/documents/{document['id']}/genomic-result"
    token = csrf_token(client.get(url).get_data(as_text=True))
    mother = family.mother["id"]
    fields = {
        **genomic_fields(),
        "seal_numbers": "S-1, S-2",
        "csrf_token": token,
        "witness": "Social worker B.",
        "tested_person_ids": [family.child["id"], mother],
        "identity_checked_by": "Nurse A.",
        f"identity_type_{mother}": "identity card",
        f"identity_number_{mother}": "041234567",
    }
    refused = client.post(url, data={**fields, "method": "y_str"})
    assert refused.status_code == 422 and "Y-STR" in refused.get_data(as_text=True)
    assert client.post(url, data=fields).status_code == 302
    recorded = lawyer.get(url).get_json()["genomic_result"]
    assert recorded["tested_person_ids"] == [family.child["id"], mother]
    assert recorded["sample_collection"]["identity_checks"] == [
        {"person_id": mother, "document_type": "identity card", "document_number": "041234567"}
    ]
    page = client.get(url).get_data(as_text=True)
    assert "Social worker B." in page and "041234567" in page and "extremely strong support" in page
