"""Issue #16, finding 3: consistency warnings and rival-parent rules stay inside the caller's cases.

A lawyer's claim (child and mother, both in the lawyer's case) must not tell the lawyer, or a
caseworker of the case, that a clerk moved another woman's claim on the same child to
genetically supported: that names a claim outside their cases and what a DNA test said.
A registry-wide rule that must still refuse (a second court-established mother) says only
that a registry rule prevents the step and to ask a clerk.
"""

from __future__ import annotations

import pytest

from tests.conftest import error_code
from tests.kinship.helpers import (
    Family,
    claim,
    csrf_token,
    genomic_document,
    join_case,
    ruling_document,
    web_login,
)

RIVAL_WARNING = "Another claim of the same kind"
CYCLE_WARNING = "their own ancestor"
SPECIFIC_REFUSAL = "already established another person"
NEUTRAL_REFUSAL = "A registry rule prevents this step"


def _other_mother(make_person, clerk, precision: str = "exact"):
    """A woman in no case of the lawyer's, claimed by a clerk as the child's mother too."""
    return make_person(
        clerk,
        names=[{"family_name": "Сейтказиева", "given_name": "Жанар"}],
        sex="female",
        birth_date="1988-02-02",
        birth_date_precision=precision,
        categories=["woman"],
    )


def _hidden_claim(api, family: Family, other: dict, *, to: str) -> dict:
    """The clerk's claim of ``other`` as the child's mother, moved to ``to`` on its evidence."""
    clerk = api(family.clerk)
    response = clerk.post(
        "/relationships",
        json={"person_id": family.child["id"], "relative_id": other["id"], "kind": "biological_mother"},
    )
    assert response.status_code == 201, response.get_json()
    relationship = response.get_json()["relationship"]
    result = genomic_document(clerk, family.child["id"], other["id"], "inclusion")
    moved = clerk.post(f"/relationships/{relationship['id']}/evidence", json={"document_id": result["id"]})
    assert moved.get_json()["relationship"]["status"] == "genetically_supported"
    if to == "court_established":
        ruling = ruling_document(clerk, family.child["id"], other["id"], [relationship["id"]])
        moved = clerk.post(f"/relationships/{relationship['id']}/evidence", json={"document_id": ruling["id"]})
        assert moved.get_json()["relationship"]["status"] == "court_established"
    return relationship


@pytest.fixture
def hidden(api, family, make_person) -> dict:
    """The lawyer's claim R1 (child, mother) and the clerk's supported claim on the child by a hidden woman."""
    own = claim(api(family.lawyer), family)
    other = _other_mother(make_person, family.clerk)
    _hidden_claim(api, family, other, to="genetically_supported")
    return {"own": own, "other": other}


def _json_warnings(client, family: Family, relationship_id: str) -> list[str]:
    one = client.get(f"/relationships/{relationship_id}")
    assert one.status_code == 200
    listed = client.get(f"/persons/{family.child['id']}/relationships").get_json()["relationships"]
    lists = client.get("/kinship/lists").get_json()["waiting_for_test"]
    everywhere = [one.get_json()["relationship"]] + [r for r in listed + lists if r["id"] == relationship_id]
    assert len(everywhere) == 3
    return [w for r in everywhere for w in r["warnings"]]


def _page(app, member, relationship_id: str) -> str:
    response = web_login(app, member).get(f"/relationships/{relationship_id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


@pytest.mark.parametrize("role", ["lawyer", "caseworker"])
def test_a_claim_outside_the_callers_cases_raises_no_warning(app, api, runtime, staff, family, hidden, role):
    member = family.lawyer
    if role == "caseworker":
        member = staff("caseworker")
        with runtime.sessions() as db:
            join_case(db, family.case_id, members=[member])
            db.commit()
    assert not [w for w in _json_warnings(api(member), family, hidden["own"]["id"]) if RIVAL_WARNING in w]
    page = _page(app, member, hidden["own"]["id"])
    assert RIVAL_WARNING not in page and "Check:" not in page


def test_the_warning_stays_when_the_caller_may_see_both_claims(app, api, runtime, family, hidden):
    with runtime.sessions() as db:
        join_case(db, family.case_id, person_ids=[hidden["other"]["id"]])
        db.commit()
    assert any(RIVAL_WARNING in w for w in _json_warnings(api(family.lawyer), family, hidden["own"]["id"]))
    assert RIVAL_WARNING in _page(app, family.lawyer, hidden["own"]["id"])


def test_a_clerk_still_gets_the_warning(app, api, family, hidden):
    assert any(RIVAL_WARNING in w for w in _json_warnings(api(family.clerk), family, hidden["own"]["id"]))
    assert RIVAL_WARNING in _page(app, family.clerk, hidden["own"]["id"])


def test_a_loop_through_a_hidden_person_is_not_pointed_out(api, runtime, family, make_person):
    """The clerk's claims (hidden woman is the child's mother, the mother is the hidden woman's mother)
    close a loop with the lawyer's claim (the child is the mother's mother): only a clerk is told."""
    clerk = api(family.clerk)
    other = _other_mother(make_person, family.clerk, "year")  # a loop fits no birth dates: not refused
    for person, relative in ((family.child, other), (other, family.mother)):
        response = clerk.post(
            "/relationships",
            json={
                "person_id": person["id"],
                "relative_id": relative["id"],
                "kind": "biological_mother",
                "note": "as told",
            },
        )
        assert response.status_code == 201, response.get_json()
    response = api(family.lawyer).post(
        "/relationships",
        json={"person_id": family.mother["id"], "relative_id": family.child["id"], "kind": "biological_mother"},
    )
    assert response.status_code == 201, response.get_json()
    loop = response.get_json()["relationship"]
    assert not [w for w in loop["warnings"] if CYCLE_WARNING in w]
    assert any(
        CYCLE_WARNING in w for w in clerk.get(f"/relationships/{loop['id']}").get_json()["relationship"]["warnings"]
    )


# ---------------------------------------------------------------- the registry-wide rule


def _supported_own_claim(api, family: Family) -> tuple[dict, dict]:
    """The lawyer's claim, genetically supported, and a recorded ruling that establishes it."""
    lawyer = api(family.lawyer)
    own = claim(lawyer, family)
    result = genomic_document(lawyer, family.child["id"], family.mother["id"], "inclusion")
    moved = lawyer.post(f"/relationships/{own['id']}/evidence", json={"document_id": result["id"]})
    assert moved.get_json()["relationship"]["status"] == "genetically_supported"
    assert not [w for w in moved.get_json()["relationship"]["warnings"] if RIVAL_WARNING in w]
    return own, ruling_document(lawyer, family.child["id"], family.mother["id"], [own["id"]])


def test_a_second_court_established_mother_is_refused_without_naming_the_other_claim(app, api, family, make_person):
    other = _other_mother(make_person, family.clerk)
    _hidden_claim(api, family, other, to="court_established")
    own, ruling = _supported_own_claim(api, family)

    response = api(family.lawyer).post(f"/relationships/{own['id']}/evidence", json={"document_id": ruling["id"]})
    assert response.status_code == 409 and error_code(response) == "conflict"
    message = response.get_json()["error"]["message"]
    assert NEUTRAL_REFUSAL in message and "clerk" in message
    assert SPECIFIC_REFUSAL not in str(response.get_json())
    assert (
        api(family.lawyer).get(f"/relationships/{own['id']}").get_json()["relationship"]["status"]
        == "genetically_supported"
    )

    client = web_login(app, family.lawyer)
    token = csrf_token(client.get(f"/relationships/{own['id']}").get_data(as_text=True))
    page = client.post(
        f"/relationships/{own['id']}/status",
        data={"status": "court_established", "document_id": ruling["id"], "csrf_token": token},
    )
    text = page.get_data(as_text=True)
    assert NEUTRAL_REFUSAL in text and SPECIFIC_REFUSAL not in text and "Another person" not in text

    clerk = api(family.clerk).post(f"/relationships/{own['id']}/evidence", json={"document_id": ruling["id"]})
    assert clerk.status_code == 409 and SPECIFIC_REFUSAL in clerk.get_json()["error"]["message"]
    assert (
        api(family.clerk).get(f"/relationships/{own['id']}").get_json()["relationship"]["status"]
        == "genetically_supported"
    )


def test_an_orphan_with_a_hidden_established_relative_is_listed_as_the_caller_sees_it(api, family, make_person):
    """Dropping the orphan from the lawyer's list would tell them a court established someone hidden."""
    response = api(family.clerk).patch(f"/persons/{family.child['id']}", json={"categories": ["child", "orphan"]})
    assert response.status_code == 200, response.get_json()
    before = [p["id"] for p in api(family.lawyer).get("/kinship/lists").get_json()["orphans"]]
    assert family.child["id"] in before
    _hidden_claim(api, family, _other_mother(make_person, family.clerk), to="court_established")
    after = [p["id"] for p in api(family.lawyer).get("/kinship/lists").get_json()["orphans"]]
    assert family.child["id"] in after
    assert family.child["id"] not in [p["id"] for p in api(family.clerk).get("/kinship/lists").get_json()["orphans"]]
