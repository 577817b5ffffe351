"""Lineage tests and trios, as the evidence policy must weigh them for orphans traced through relatives (#22).

mtDNA passes from a mother to all her children and on only through daughters: a child shares it with the maternal
grandmother, never with a grandfather (he carries his own mother's), and not with a paternal grandmother either;
the Y chromosome passes from father to son only. A trio result names three persons; a reader whose cases hold two
of them must not learn who the third is.
"""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from tests.conftest import error_code
from tests.kinship.helpers import claim, genomic_fields, join_case, link, upload, web_login

# The mtDNA control region sequenced (1,122 positions): the same sequence; then a mismatch at five positions or
# markers, beyond the default allowances (two for mtDNA, three for Y-STR).
MTDNA_MATCH = {"method": "mtdna", "loci_tested": 1122, "inconsistent_loci": 0, "combined_relationship_index": "250"}
MISMATCH = {
    "method": "mtdna",
    "loci_tested": 1122,
    "inconsistent_loci": 5,
    "conclusion": "exclusion",
    "combined_relationship_index": "0.0001",
    "probability_of_relatedness": "0",
}


def _relative(runtime, family, make_person, *, sex: str, given: str, born: str) -> dict:
    """A relative of the child's in the lawyer's case."""
    person = make_person(
        family.clerk,
        names=[{"family_name": "Абдирасулова", "given_name": given}],
        sex=sex,
        birth_date=born,
        birth_date_precision="exact",
        categories=[],
    )
    with runtime.sessions() as db:
        join_case(db, family.case_id, person_ids=[person["id"]])
        db.commit()
    return person


def _claim_in_testing(lawyer, child: dict, relative: dict, kind: str) -> dict:
    response = lawyer.post(
        "/relationships", json={"person_id": child["id"], "relative_id": relative["id"], "kind": kind}
    )
    assert response.status_code == 201, response.get_json()
    relationship = response.get_json()["relationship"]
    assert lawyer.post(f"/relationships/{relationship['id']}/status", json={"status": "testing"}).status_code == 200
    return relationship


def _result_document(client, child: dict, relative: dict) -> dict:
    document = upload(client, child["id"], "genomic_test_result", "mtDNA examination", role="child")
    link(client, document["id"], relative["id"], "alleged_parent")
    return document


def _claim(lawyer, relationship_id: str) -> dict:
    return lawyer.get(f"/relationships/{relationship_id}").get_json()["relationship"]


def test_mtdna_shared_with_a_grandmother_is_lineage_consistent_and_never_bears_on_a_grandfather(
    api, runtime, family, make_person
):
    lawyer = api(family.lawyer)
    grandmother = _relative(runtime, family, make_person, sex="female", given="Гульнара", born="1966-05-20")
    grandfather = _relative(runtime, family, make_person, sex="male", given="Серик", born="1963-09-02")

    # The maternal grandmother: the same mtDNA shows a shared maternal line, not that she is the grandmother.
    her_claim = _claim_in_testing(lawyer, family.child, grandmother, "grandparent")
    document = _result_document(lawyer, family.child, grandmother)
    lawyer.post(f"/relationships/{her_claim['id']}/evidence", json={"document_id": document["id"]})
    response = lawyer.post(f"/documents/{document['id']}/genomic-result", json={**genomic_fields(), **MTDNA_MATCH})
    assert response.status_code == 201, response.get_json()
    found = _claim(lawyer, her_claim["id"])
    assert found["status"] == "testing"
    assessment = found["genomic_assessment"]
    assert assessment["outcome"] == "lineage_consistent"
    assert assessment["results"][0]["finding"] == "lineage_consistent"
    assert any("autosomal" in reason for reason in assessment["reasons"])
    refused = lawyer.post(
        f"/relationships/{her_claim['id']}/status",
        json={"status": "genetically_supported", "document_id": document["id"]},
    )
    assert refused.status_code == 422 and _claim(lawyer, her_claim["id"])["status"] == "testing"

    # The grandfather passes no mtDNA: a shared sequence says nothing about him, so the result is refused on his
    # claim, whether it was attached before its findings were typed or after.
    his_claim = _claim_in_testing(lawyer, family.child, grandfather, "grandparent")
    attached_first = _result_document(lawyer, family.child, grandfather)
    lawyer.post(f"/relationships/{his_claim['id']}/evidence", json={"document_id": attached_first["id"]})
    refused = lawyer.post(f"/documents/{attached_first['id']}/genomic-result", json={**genomic_fields(), **MTDNA_MATCH})
    assert refused.status_code == 422 and error_code(refused) == "biologically_impossible"
    assert "grandfather" in refused.get_json()["error"]["message"]
    assert lawyer.get(f"/documents/{attached_first['id']}/genomic-result").get_json()["genomic_result"] is None

    recorded_first = _result_document(lawyer, family.child, grandfather)
    response = lawyer.post(
        f"/documents/{recorded_first['id']}/genomic-result", json={**genomic_fields(), **MTDNA_MATCH}
    )
    assert response.status_code == 201, response.get_json()  # the test itself was possible
    refused = lawyer.post(f"/relationships/{his_claim['id']}/evidence", json={"document_id": recorded_first["id"]})
    assert refused.status_code == 422 and error_code(refused) == "biologically_impossible"
    found = _claim(lawyer, his_claim["id"])
    assert found["status"] == "testing"
    assert recorded_first["id"] not in {e["document_id"] for e in found["evidence"]}


@pytest.mark.parametrize(
    "method, kind, sex, given, born",
    [
        ("mtdna", "grandparent", "female", "Раушан", "1962-01-15"),  # the father's mother
        ("mtdna", "aunt_uncle", "female", "Динара", "1987-07-07"),  # the father's sister
        ("mtdna", "half_sibling", "female", "Камила", "2012-11-30"),  # a daughter of the father by another woman
        ("y_str", "grandparent", "male", "Серик", "1963-09-02"),  # the mother's father
        ("y_str", "aunt_uncle", "male", "Нурлан", "1992-03-03"),  # the mother's brother
        ("y_str", "half_sibling", "male", "Тимур", "2011-04-04"),  # a son of the mother by another man
    ],
)
def test_a_lineage_mismatch_does_not_exclude_a_relative_who_may_be_on_the_other_side(
    api, runtime, family, make_person, method, kind, sex, given, born
):
    """A paternal grandmother, aunt or half-sister carries another mtDNA line than the child; a maternal grandfather,
    uncle or half-brother another Y line than a boy: a mismatch is what a true relative on that side shows. The
    claim does not say which side, so the mismatch cannot exclude it."""
    lawyer = api(family.lawyer)
    child = (
        family.child
        if method == "mtdna"
        else _relative(runtime, family, make_person, sex="male", given="Айдар", born="2015-08-08")
    )
    relative = _relative(runtime, family, make_person, sex=sex, given=given, born=born)
    relationship = _claim_in_testing(lawyer, child, relative, kind)
    document = _result_document(lawyer, child, relative)
    lawyer.post(f"/relationships/{relationship['id']}/evidence", json={"document_id": document["id"]})
    mismatch = MISMATCH if method == "mtdna" else {**MISMATCH, "method": "y_str", "loci_tested": 23}
    response = lawyer.post(f"/documents/{document['id']}/genomic-result", json={**genomic_fields(), **mismatch})
    assert response.status_code == 201, response.get_json()
    found = _claim(lawyer, relationship["id"])
    assert found["status"] == "testing"
    assert found["genomic_assessment"]["outcome"] != "excludes"


def test_a_trio_result_does_not_reveal_the_third_person_to_a_reader_whose_case_holds_two(
    app, api, runtime, family, make_person
):
    """The clerk records a trio (child, mother, alleged father); the lawyer's case holds only the child and the
    mother. Nothing the lawyer reads about the result names the alleged father or identifies him."""
    clerk = api(family.clerk)
    father = make_person(
        family.clerk,
        names=[{"family_name": "Жумабеков", "given_name": "Ерлан"}],
        sex="male",
        birth_date="1984-02-14",
        birth_date_precision="exact",
        categories=[],
    )
    passport = "N07731246"
    mother_claim = claim(clerk, family, "biological_mother")
    response = clerk.post(
        "/relationships",
        json={"person_id": family.child["id"], "relative_id": father["id"], "kind": "biological_father"},
    )
    assert response.status_code == 201, response.get_json()
    father_claim = response.get_json()["relationship"]
    document = upload(clerk, family.child["id"], "genomic_test_result", "Trio examination", role="child")
    link(clerk, document["id"], family.mother["id"], "mother")
    link(clerk, document["id"], father["id"], "alleged_parent")
    for relationship in (mother_claim, father_claim):
        clerk.post(f"/relationships/{relationship['id']}/evidence", json={"document_id": document["id"]})
    checks = [
        {"person_id": family.mother["id"], "document_type": "identity card", "document_number": "041234567"},
        {"person_id": father["id"], "document_type": "passport", "document_number": passport},
    ]
    response = clerk.post(
        f"/documents/{document['id']}/genomic-result",
        json={
            **genomic_fields(),
            "tested_person_ids": [family.child["id"], family.mother["id"], father["id"]],
            "identity_checks": checks,
            "identity_checked_by": "Nurse A.",
            "witness": "Social worker B.",
        },
    )
    assert response.status_code == 201, response.get_json()

    lawyer = api(family.lawyer)
    assert _claim(lawyer, mother_claim["id"])["status"] == "genetically_supported"
    result = lawyer.get(f"/documents/{document['id']}/genomic-result").get_json()["genomic_result"]
    assert result["tested_person_ids"] == [family.child["id"], family.mother["id"]]
    assert [c["person_id"] for c in result["sample_collection"]["identity_checks"]] == [family.mother["id"]]

    seen = {
        "API genomic result": json.dumps(result, ensure_ascii=False),
        "API document": lawyer.get(f"/documents/{document['id']}").get_data(as_text=True),
        "API claim": lawyer.get(f"/relationships/{mother_claim['id']}").get_data(as_text=True),
        "API child's claims": lawyer.get(f"/persons/{family.child['id']}/relationships").get_data(as_text=True),
        "API kinship lists": lawyer.get("/kinship/lists").get_data(as_text=True),
    }
    for name, url in [
        ("claim bundle", f"/relationships/{mother_claim['id']}/bundle"),
        ("child's bundle", f"/persons/{family.child['id']}/bundle"),
    ]:
        bundle = lawyer.get(url)
        assert bundle.status_code == 200, (name, bundle.get_data(as_text=True)[:500])
        archive = zipfile.ZipFile(io.BytesIO(bundle.get_data()))
        seen[f"{name} manifest"] = archive.read("manifest.json").decode()
        seen[f"{name} summary"] = archive.read("summary.txt").decode()
    web = web_login(app, family.lawyer)
    for name, url in [
        ("result page", f"/documents/{document['id']}/genomic-result"),
        ("document page", f"/documents/{document['id']}"),
        ("claim page", f"/relationships/{mother_claim['id']}"),
        ("child's page", f"/persons/{family.child['id']}"),
        ("child's family page", f"/persons/{family.child['id']}/family"),
    ]:
        page = web.get(url)
        assert page.status_code == 200, name
        seen[name] = page.get_data(as_text=True)
    assert "Trio examination" in seen["result page"] and "041234567" in seen["result page"]

    traces = {
        "id": father["id"],
        "registry number": father["registry_number"],
        "family name": "Жумабеков",
        "given name": "Ерлан",
        "passport number": passport,
        "claim on him": father_claim["id"],
    }
    leaks = [
        f"{name} shows his {what}" for name, text in seen.items() for what, trace in traces.items() if trace in text
    ]
    assert not leaks, leaks
