"""Possible same person: a mother registered twice in another script is offered with the reasons; a clerk's
"not the same" is remembered, "same person" proposes a merge that a second clerk approves (documents, claims and
cases then follow) and can be undone; a lawyer never learns of a record outside their cases through a match;
refusals change nothing."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from registry.audit.events import Action
from registry.audit.models import AuditEvent
from registry.cases.models import CasePerson
from tests.audit.route_world import events_after, last_seq
from tests.kinship.helpers import upload
from tests.web.browser import csrf_from, quick_hashing, signed_in  # noqa: F401 (fixture)
from tests.web.test_refusals_change_nothing import changed_tables, snapshot

pytestmark = pytest.mark.usefixtures("quick_hashing")

MOTHER = {
    "names": [
        {
            "family_name": "Абдирасулова",
            "given_name": "Мадина",
            "patronymic": "Нурлановна",
            "script": "cyrillic",
            "kind": "official",
        }
    ],
    "sex": "female",
    "birth_date": "1990-04-12",
    "birth_date_precision": "exact",
    "place_of_birth_designation": "Алматы",
    "categories": ["woman"],
    "status": "returned",
}
# The same woman as a Syrian camp list wrote her: Latin letters, "daughter of Nurlan", the year only.
MOTHER_AGAIN = {
    "names": [
        {
            "family_name": "Abdurasulova",
            "given_name": "Madina",
            "patronymic": "Nurlan kyzy",
            "script": "latin",
            "kind": "recorded_abroad",
        }
    ],
    "sex": "female",
    "birth_date": "1990-01-01",
    "birth_date_precision": "year",
    "place_of_birth_designation": "Almaty",
    "categories": ["woman"],
    "status": "identified_abroad",
}
# Her sister: same family, same father, same town; another given name and birthday.
SISTER = {
    **MOTHER,
    "names": [{"family_name": "Абдирасулова", "given_name": "Жанар", "patronymic": "Нурлановна"}],
    "birth_date": "1993-07-30",
}


def _candidates(api, member, person_id):
    response = api(member).get(f"/persons/{person_id}/matches")
    assert response.status_code == 200, response.get_json()
    return response.get_json()["candidates"]


def _linked(api, member, document) -> list[str]:
    return [p["person_id"] for p in api(member).get(f"/documents/{document['id']}").get_json()["document"]["persons"]]


def _mother_of(api, member, claim) -> str:
    return api(member).get(f"/relationships/{claim['id']}").get_json()["relationship"]["relative"]["id"]


def _case_persons(runtime, case) -> set[str]:
    with runtime.sessions() as db:
        return set(db.scalars(sa.select(CasePerson.person_id).where(CasePerson.case_id == case["id"])))


def _decide(api, member, person_id, other_id, **body):
    return api(member).post(f"/persons/{person_id}/matches/{other_id}", json=body)


SAME_WOMAN = "Same woman: camp list spelling of her Kazakh passport name, same birth year."
CHECKED = "Checked both files: photographs and the mother's name agree."


def _merge(api, proposer, approver, survivor, merged):
    """One clerk proposes, another approves: the approval's answer."""
    proposed = _decide(
        api, proposer, survivor["id"], merged["id"], decision="same", survivor_id=survivor["id"], reason=SAME_WOMAN
    )
    assert proposed.status_code == 202, proposed.get_json()
    assert proposed.get_json()["pair"]["status"] == "merge_proposed" and proposed.get_json()["merge"] is None
    return _decide(api, approver, merged["id"], survivor["id"], decision="approve", reason=CHECKED)


def test_the_same_mother_registered_twice_in_latin_letters_is_offered_with_reasons(api, staff, make_person):
    clerk = staff("clerk")
    mother, sister = make_person(clerk, **MOTHER), make_person(clerk, **SISTER)
    again = make_person(clerk, **MOTHER_AGAIN)

    found = _candidates(api, clerk, again["id"])
    assert [c["person"]["registry_number"] for c in found] == [mother["registry_number"]]  # not her sister
    best = found[0]
    assert best["band"] == "likely" and best["probability"] >= 0.9
    reasons = {r["field"]: r for r in best["reasons"]}
    assert (reasons["name"]["family"], reasons["name"]["given"], reasons["name"]["patronymic"]) == (
        "close",
        "exact",
        "exact",
    )  # Abdurasulova: one vowel as heard; Nurlan kyzy = Нурлановна
    assert reasons["name"]["theirs"] == "Абдирасулова Мадина Нурлановна"
    assert reasons["birth_date"]["level"] == "same_year"  # agreement at the precision the record has
    assert reasons["sex"]["level"] == "same" and reasons["place_of_birth"]["level"] == "same"
    assert sister["id"] not in {c["person"]["id"] for c in found}

    draft = api(clerk).post(
        "/persons/matches",
        json={**MOTHER_AGAIN, "names": [{"family_name": "Madina", "given_name": "Abdirasulova", "script": "latin"}]},
    )  # names swapped, too
    assert draft.status_code == 200
    drafted = draft.get_json()["candidates"]
    assert drafted[0]["person"]["id"] in {mother["id"], again["id"]}
    assert {r["field"]: r for r in drafted[0]["reasons"]}["name"]["swapped"] is True


def test_registering_her_again_on_the_form_asks_first_and_registers_only_when_told(app, runtime, staff, make_person):
    clerk = staff("clerk")
    mother = make_person(clerk, **MOTHER)
    browser = signed_in(app, clerk.username)
    form = {
        "csrf_token": csrf_from(browser.get("/persons/new").get_data(as_text=True)),
        "family_name_0": "Abdirasulova",
        "given_name_0": "Madina",
        "patronymic_0": "Nurlanovna",
        "kind_0": "official",
        "script_0": "latin",
        "sex": "female",
        "birth_date": "1990-04-12",
        "birth_date_precision": "exact",
        "status": "returned",
    }
    before = snapshot(runtime)
    asked = browser.post("/persons/new", form, csrf=False)
    page = asked.get_data(as_text=True)
    assert asked.status_code == 422
    assert "This person may be registered already" in page and mother["registry_number"] in page
    assert "Born on the same day." in page and 'name="register_anyway"' in page
    assert changed_tables(before, snapshot(runtime)) == set()  # nothing registered yet

    registered = browser.post("/persons/new", {**form, "register_anyway": "1"}, csrf=False)
    assert registered.status_code == 302
    shown = browser.get(registered.headers["Location"]).get_data(as_text=True)
    assert "Possible same person" in shown and mother["registry_number"] in shown
    queue = browser.get("/matches").get_data(as_text=True)
    assert mother["registry_number"] in queue and "Same person: propose a merge" in queue


def test_not_the_same_is_remembered_and_the_pair_never_returns(app, api, staff, make_person):
    clerk = staff("clerk")
    mother, again = make_person(clerk, **MOTHER), make_person(clerk, **MOTHER_AGAIN)
    assert api(clerk).get("/matches").get_json()["total"] == 1

    short = _decide(api, clerk, again["id"], mother["id"], decision="not_same", reason="no")
    assert short.status_code == 422 and "reason" in short.get_json()["error"]["fields"]
    answer = _decide(
        api,
        clerk,
        again["id"],
        mother["id"],
        decision="not_same",
        reason="Different mothers' names in the camp list; DNA of the children differs.",
    )
    assert answer.status_code == 200 and answer.get_json()["pair"]["status"] == "not_same"

    assert _candidates(api, clerk, again["id"]) == [] and _candidates(api, clerk, mother["id"]) == []
    assert api(clerk).get("/matches").get_json()["pairs"] == []
    api(clerk).patch(
        f"/persons/{again['id']}",
        json={"citizenship": "KZ", "birth_date": "1990-04-12", "birth_date_precision": "exact"},
    )  # changed: looked at again
    assert _candidates(api, clerk, again["id"]) == [] and api(clerk).get("/matches").get_json()["pairs"] == []
    page = signed_in(app, clerk.username).get(f"/persons/{again['id']}").get_data(as_text=True)
    assert mother["registry_number"] not in page and "No other record looks like the same person." in page


def test_a_lawyer_never_learns_of_a_candidate_outside_their_cases(app, runtime, api, staff, make_person):
    clerk, lawyer, admin = staff("clerk"), staff("lawyer"), staff("admin")
    mother, again = make_person(clerk, **MOTHER), make_person(clerk, **MOTHER_AGAIN)
    case = api(admin).post("/cases", json={"reference": "KZ-21", "title": "Return"}).get_json()["case"]
    api(admin).post(f"/cases/{case['id']}/members", json={"username": lawyer.username})
    api(admin).post(f"/cases/{case['id']}/persons", json={"person_id": again["id"]})
    assert [c["person"]["id"] for c in _candidates(api, clerk, again["id"])] == [mother["id"]]

    seq = last_seq(runtime)
    assert _candidates(api, lawyer, again["id"]) == []
    hidden = api(lawyer).get(f"/persons/{mother['id']}/matches")
    assert hidden.status_code == 404 and hidden.get_json()["error"]["code"] == "not_found"
    page = signed_in(app, lawyer.username).get(f"/persons/{again['id']}").get_data(as_text=True)
    assert mother["registry_number"] not in page and "Мадина" not in page
    named = {p for e in events_after(runtime, seq) if e.outcome == "allowed" for p in json.loads(e.person_ids)}
    assert mother["id"] not in named  # the log shows the lawyer was never shown her
    assert api(lawyer).post("/persons/matches", json=MOTHER_AGAIN).status_code == 403
    assert api(lawyer).get("/matches").status_code == 403


def test_same_person_merges_documents_claims_and_cases_and_undo_puts_them_back(app, runtime, api, staff, make_person):
    clerk, second, admin = staff("clerk"), staff("clerk"), staff("admin")
    mother, again = make_person(clerk, **MOTHER), make_person(clerk, **MOTHER_AGAIN)
    child = make_person(
        clerk,
        names=[{"family_name": "Абдирасулова", "given_name": "Айша"}],
        birth_date="2016-03-01",
        birth_date_precision="year",
    )
    scan = upload(api(clerk), again["id"], "identity_document", "Camp registration card")
    claim = (
        api(clerk)
        .post(
            "/relationships", json={"person_id": child["id"], "relative_id": again["id"], "kind": "biological_mother"}
        )
        .get_json()["relationship"]
    )
    case = api(admin).post("/cases", json={"reference": "KZ-22", "title": "Return"}).get_json()["case"]
    api(admin).post(f"/cases/{case['id']}/persons", json={"person_id": again["id"]})

    done = _merge(api, clerk, second, mother, again)
    assert done.status_code == 200, done.get_json()
    merge = done.get_json()["merge"]
    assert merge["proposed_by_id"] == clerk.id and merge["approved_by_id"] == second.id
    assert merge["moved"]["documents"] == 1 and merge["moved"]["relationships"] == 1 and merge["moved"]["cases"] == 1

    survivor = api(clerk).get(f"/persons/{mother['id']}").get_json()["person"]
    assert {n["family_name"] for n in survivor["names"]} == {"Абдирасулова", "Abdurasulova"}
    assert _mother_of(api, clerk, claim) == mother["id"]
    assert _linked(api, clerk, scan) == [mother["id"]]
    assert _case_persons(runtime, case) == {mother["id"]}
    assert [p["id"] for p in api(clerk).get(f"/persons?q={again['registry_number']}").get_json()["persons"]] == [
        mother["id"]
    ]  # the merged number finds the survivor
    searched = [p["id"] for p in api(clerk).get("/persons?q=Abdurasulova Madina").get_json()["persons"]]
    assert searched == [mother["id"]]  # found by the name it brought, and the merged record is not listed
    browser = signed_in(app, clerk.username)
    opened = browser.get(f"/persons/{again['id']}")
    assert opened.status_code == 302 and opened.headers["Location"].endswith(f"/persons/{mother['id']}")
    report = api(staff("auditor")).get(f"/persons/{mother['id']}/access-report").get_json()
    assert Action.DOCUMENT_UPLOADED in {e["action"] for e in report["events"]}  # the merged record's events follow
    with runtime.sessions() as db:  # the access log is never rewritten: the upload still names the merged record
        upload_event = db.scalar(sa.select(AuditEvent).where(AuditEvent.action == Action.DOCUMENT_UPLOADED))
        assert json.loads(upload_event.person_ids) == [again["id"]]

    undone = api(clerk).post(f"/merges/{merge['id']}/undo", json={"reason": "Wrong: the DNA test excluded her."})
    assert undone.status_code == 200 and undone.get_json()["merge"]["undone"] is True
    assert _mother_of(api, clerk, claim) == again["id"]
    assert _linked(api, clerk, scan) == [again["id"]]
    restored = api(clerk).get(f"/persons/{mother['id']}").get_json()["person"]
    assert [n["family_name"] for n in restored["names"]] == ["Абдирасулова"]
    assert api(clerk).get(f"/persons/{again['id']}").get_json()["person"]["merged_into_id"] is None
    assert _case_persons(runtime, case) == {again["id"]}
    with runtime.sessions() as db:
        logged = [
            (e.action, e.reason)
            for e in db.scalars(
                sa.select(AuditEvent)
                .where(
                    AuditEvent.action.in_(
                        [Action.PERSON_MERGE_PROPOSED, Action.PERSON_MERGED, Action.PERSON_MERGE_UNDONE]
                    )
                )
                .order_by(AuditEvent.seq)
            )
        ]
    assert logged == [
        (Action.PERSON_MERGE_PROPOSED, SAME_WOMAN),
        (Action.PERSON_MERGED, CHECKED),
        (Action.PERSON_MERGE_UNDONE, "Wrong: the DNA test excluded her."),
    ]
    assert api(clerk).post(f"/merges/{merge['id']}/undo", json={"reason": "Once more, by mistake."}).status_code == 409


def test_refused_decisions_change_nothing(app, runtime, api, staff, make_person):
    clerk = staff("clerk")
    mother, again = make_person(clerk, **MOTHER), make_person(clerk, **MOTHER_AGAIN)
    api(clerk).post("/relationships", json={"person_id": again["id"], "relative_id": mother["id"], "kind": "sibling"})
    browser = signed_in(app, clerk.username)
    for body, status in (
        ({"decision": "maybe", "reason": "A reason long enough."}, 422),
        ({"decision": "same", "reason": "short"}, 422),
        ({"decision": "same", "reason": "A kinship claim links them, so this must fail."}, 409),
    ):
        before = snapshot(runtime)
        assert _decide(api, clerk, mother["id"], again["id"], **body).status_code == status
        page = browser.post(f"/persons/{mother['id']}/matches/{again['id']}", {**body, "back": "person"})
        assert page.status_code == status
        assert changed_tables(before, snapshot(runtime)) == set()
    assert "A kinship claim links these two records" in page.get_data(as_text=True)


def test_a_legal_hold_on_the_merged_record_follows_its_documents_and_returns_on_undo(runtime, api, staff, make_person):
    """A merge must never leave held files open to disposal: the hold moves with the documents it covered."""
    from registry.holds.coverage import held_document_ids

    clerk, second = staff("clerk"), staff("clerk")
    mother, again = make_person(clerk, **MOTHER), make_person(clerk, **MOTHER_AGAIN)
    scan = upload(api(clerk), again["id"], "identity_document", "Camp registration card")
    placed = api(clerk).post(
        "/legal-holds",
        json={
            "target_type": "person",
            "target_id": again["id"],
            "reason": "Court case 2-114/2026 on her return is pending.",
        },
    )
    assert placed.status_code == 201, placed.get_json()

    done = _merge(api, clerk, second, mother, again)
    assert done.status_code == 200, done.get_json()
    with runtime.sessions() as db:
        assert scan["id"] in held_document_ids(db)

    merge = done.get_json()["merge"]
    assert (
        api(clerk).post(f"/merges/{merge['id']}/undo", json={"reason": "Wrong: the DNA test excluded her."}).status_code
        == 200
    )
    with runtime.sessions() as db:
        assert scan["id"] in held_document_ids(db)


def test_a_merge_needs_a_second_clerk_and_nothing_moves_before_the_approval(app, runtime, api, staff, make_person):
    """A merge moves case links, and with them who may see the records: one clerk alone must not be able to."""
    clerk, second, admin = staff("clerk"), staff("clerk"), staff("admin")
    mother, again = make_person(clerk, **MOTHER), make_person(clerk, **MOTHER_AGAIN)
    case = api(admin).post("/cases", json={"reference": "KZ-23", "title": "Return"}).get_json()["case"]
    api(admin).post(f"/cases/{case['id']}/persons", json={"person_id": again["id"]})
    proposed = _decide(api, clerk, mother["id"], again["id"], decision="same", reason=SAME_WOMAN)
    assert proposed.status_code == 202
    assert _case_persons(runtime, case) == {again["id"]}  # nothing moved yet
    assert api(clerk).get(f"/persons/{again['id']}").get_json()["person"]["merged_into_id"] is None

    before, seq = snapshot(runtime), last_seq(runtime)
    own = _decide(api, clerk, mother["id"], again["id"], decision="approve", reason=CHECKED)
    assert own.status_code == 403 and own.get_json()["error"]["code"] == "forbidden"
    assert changed_tables(before, snapshot(runtime)) == set()
    refused = [e for e in events_after(runtime, seq) if e.action == Action.PERSON_MERGED]
    assert [e.outcome for e in refused] == ["denied"]
    again_proposed = _decide(api, second, again["id"], mother["id"], decision="same", reason=SAME_WOMAN)
    assert again_proposed.status_code == 409  # one proposal at a time: approve or reject it

    queue = signed_in(app, second.username).get("/matches").get_data(as_text=True)
    assert "Approve: merge the records" in queue and clerk.full_name in queue and SAME_WOMAN in queue
    assert "Approve: merge the records" not in signed_in(app, clerk.username).get("/matches").get_data(as_text=True)

    rejected = _decide(api, second, mother["id"], again["id"], decision="reject", reason="The birth dates disagree.")
    assert rejected.status_code == 200 and rejected.get_json()["pair"]["status"] == "pending"
    assert _decide(api, second, mother["id"], again["id"], decision="approve", reason=CHECKED).status_code == 409
    assert _case_persons(runtime, case) == {again["id"]}

    page = signed_in(app, second.username).post(
        f"/persons/{mother['id']}/matches/{again['id']}",
        {"decision": "same", "reason": SAME_WOMAN, "survivor_id": mother["id"], "back": "queue"},
    )
    assert page.status_code == 302
    approver = signed_in(app, clerk.username)
    assert "Approve: merge the records" in approver.get(f"/persons/{mother['id']}").get_data(as_text=True)
    approved = approver.post(
        f"/persons/{mother['id']}/matches/{again['id']}",
        {"decision": "approve", "reason": CHECKED, "back": "person"},
    )
    assert approved.status_code == 302
    assert _case_persons(runtime, case) == {mother["id"]}
    with runtime.sessions() as db:
        merged = db.scalar(
            sa.select(AuditEvent).where(AuditEvent.action == Action.PERSON_MERGED, AuditEvent.outcome == "allowed")
        )
        assert merged.actor_id == clerk.id and json.loads(merged.details)["proposed_by"] == second.id
