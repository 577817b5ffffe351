"""Two findings of the security review, each attacked first.

1. A court bundle carried the access-log entries of its documents word for word, with other
   staff members' free-text (break-glass) reasons: the court gets the chain of custody, not the text.
2. A ruling that also names a person outside the lawyer's cases made the ruling page answer 404;
   it follows the documents' rule now: shown to whoever may see one of its persons, naming only those.
"""

from __future__ import annotations

import io
import json
import re
import uuid
import zipfile

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from registry.audit.checkpoints import published_key
from registry.audit.models import AuditEvent
from registry.kinship.cli import bundle as bundle_command
from registry.kinship.verify import verify_bundle
from tests.conftest import error_code
from tests.kinship.helpers import claim, csrf_token, link, open_case, ruling_document, upload, web_login

REASON = "Break glass: the aunt Gulnara Sadykova phoned about case KZ-9931, Lenin st. 7"


def _members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _leaks(data: bytes, secrets: list[str]) -> list[tuple[str, str]]:
    """Every (member, secret) where the secret appears, as UTF-8 or as a JSON \\u escape, in any ZIP member."""
    forms = {s: {s.encode(), json.dumps(s).strip('"').encode()} for s in secrets}
    found = [
        (name, s)
        for name, body in _members(data).items()
        for s, encoded in forms.items()
        if any(form in body for form in encoded)
    ]
    return found + [("<zip>", s) for s, encoded in forms.items() if any(form in data for form in encoded)]


def _manifest(data: bytes) -> dict:
    return json.loads(_members(data)["manifest.json"])


# ---------------------------------------------------------------- 1. the access log in a court bundle


def test_a_bundle_lists_another_staff_members_emergency_access_without_its_reason(
    api, staff, family, runtime, tmp_path
):
    lawyer = api(family.lawyer)
    relationship = claim(lawyer, family)
    on_call = staff("lawyer")  # in no case of this family: reaches the child only by breaking the glass
    glass = api(on_call).post(f"/persons/{family.child['id']}/emergency-access", json={"reason": REASON})
    assert glass.status_code == 201
    found_abroad = upload(api(on_call), family.child["id"], "birth_record", "Birth notification")
    assert api(on_call).get(f"/documents/{found_abroad['id']}").status_code == 200
    assert (
        lawyer.post(
            f"/relationships/{relationship['id']}/evidence", json={"document_id": found_abroad["id"]}
        ).status_code
        == 201
    )

    response = lawyer.get(f"/persons/{family.child['id']}/bundle")
    assert response.status_code == 200
    data = response.get_data()
    assert _leaks(data, [REASON, "Gulnara", "KZ-9931"]) == []

    log = _manifest(data)["access_log"]
    theirs = [e for e in log if e["actor"] == on_call.username]
    assert ("access.emergency", True) in {(e["action"], e["emergency"]) for e in theirs}
    assert {e["person_id"] for e in theirs if e["action"] == "access.emergency"} == {family.child["id"]}
    uploaded = [e for e in theirs if e["action"] == "document.uploaded"]
    assert [(e["document_id"], e["outcome"], e["emergency"]) for e in uploaded] == [
        (found_abroad["id"], "allowed", True)
    ]
    assert (found_abroad["id"], "document.viewed") in {(e.get("document_id"), e["action"]) for e in theirs}
    assert all(e["emergency"] is False for e in log if e["actor"] == family.lawyer.username)
    assert all(not {"reason", "details", "ip", "user_agent", "person_ids"} & set(e) for e in log)
    assert [e["seq"] for e in log] == sorted(e["seq"] for e in log)

    with runtime.sessions() as db:  # each entry can be matched with the registry's own log
        stored = {
            e.seq: e for e in db.scalars(sa.select(AuditEvent).where(AuditEvent.seq.in_([e["seq"] for e in log])))
        }
    assert {e["seq"]: (e["hash"], e["action"], e["actor"]) for e in log} == {
        seq: (e.hash, e.action, e.actor_name) for seq, e in stored.items()
    }
    assert REASON in {e.reason for e in stored.values()}  # the registry keeps it; the court's copy does not

    fingerprint = published_key(runtime.audit_key.public_key()).fingerprint
    assert verify_bundle(io.BytesIO(data), pinned_fingerprint=fingerprint).ok
    path = tmp_path / "bundle.zip"
    path.write_bytes(data)
    result = CliRunner().invoke(bundle_command, ["verify", str(path), "--fingerprint", fingerprint])
    assert result.exit_code == 0 and "OK" in result.output


# ---------------------------------------------------------------- 2. a ruling that names a person of another case


@pytest.fixture
def split_ruling(runtime, api, staff, family, make_person) -> dict:
    """A recorded ruling naming the child and mother (the lawyer's case) and a man of another case,
    establishing the mother's claim and the man's (which the lawyer cannot see)."""
    clerk = api(family.clerk)
    stranger = make_person(
        family.clerk,
        names=[{"family_name": "Жаксылыков", "given_name": "Ерболат"}],
        sex="male",
        birth_date="1984-02-02",
        birth_date_precision="exact",
        categories=["man"],
    )
    open_case(runtime, "KZ-8", members=[staff("lawyer")], person_ids=[stranger["id"]])
    mother = claim(clerk, family)
    father = clerk.post(
        "/relationships",
        json={"person_id": family.child["id"], "relative_id": stranger["id"], "kind": "biological_father"},
    ).get_json()["relationship"]
    ruling = ruling_document(clerk, family.child["id"], family.mother["id"], [])
    link(clerk, ruling["id"], stranger["id"], "alleged_parent")
    recorded = clerk.post(
        f"/documents/{ruling['id']}/court-ruling",
        json={
            "court": "Specialised inter-district court",
            "case_number": "2-5555/2024",
            "ruling_date": "2024-06-01",
            "decision": "The maternity of the applicant is established.",
            "appeal_status": "final",
            "relationship_ids": [mother["id"], father["id"]],
        },
    )
    assert recorded.status_code == 201, recorded.get_json()
    return {"ruling": ruling, "mother_claim": mother, "father_claim": father, "stranger": stranger}


def _hidden(split_ruling: dict) -> list[str]:
    stranger = split_ruling["stranger"]
    return [stranger["id"], stranger["registry_number"], "Жаксылыков", "Ерболат", split_ruling["father_claim"]["id"]]


def test_a_lawyer_sees_the_ruling_naming_only_the_persons_of_their_cases(app, api, family, split_ruling):
    url = f"/documents/{split_ruling['ruling']['id']}/court-ruling"
    page = web_login(app, family.lawyer).get(url)
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "2-5555/2024" in text and family.mother["registry_number"] in text
    assert split_ruling["mother_claim"]["id"] in text
    assert [s for s in _hidden(split_ruling) if s in text] == []

    answer = api(family.lawyer).get(url)
    assert answer.status_code == 200
    assert answer.get_json()["court_ruling"]["relationship_ids"] == [split_ruling["mother_claim"]["id"]]
    assert [s for s in _hidden(split_ruling) if s in answer.get_data(as_text=True)] == []

    both = api(family.clerk).get(url).get_json()["court_ruling"]["relationship_ids"]  # the clerk sees everyone
    assert set(both) == {split_ruling["mother_claim"]["id"], split_ruling["father_claim"]["id"]}


def test_saving_the_ruling_keeps_what_the_lawyer_cannot_see(app, api, family, split_ruling):
    url = f"/documents/{split_ruling['ruling']['id']}/court-ruling"
    client = web_login(app, family.lawyer)
    saved = client.post(
        url,
        data={
            "csrf_token": csrf_token(client.get(url).get_data(as_text=True)),
            "court": "Specialised inter-district court",
            "case_number": "2-5555/2024",
            "ruling_date": "2024-06-01",
            "decision": "Corrected wording.",
            "appeal_status": "final",
            "relationship_ids": split_ruling["mother_claim"]["id"],
        },
    )
    assert saved.status_code == 302
    answer = api(family.lawyer).post(
        url,
        json={
            "court": "Specialised inter-district court",
            "case_number": "2-5555/2024",
            "ruling_date": "2024-06-01",
            "decision": "Corrected again.",
            "appeal_status": "final",
            "relationship_ids": [],
        },
    )
    assert answer.status_code == 201 and answer.get_json()["court_ruling"]["relationship_ids"] == []
    assert [s for s in _hidden(split_ruling) if s in answer.get_data(as_text=True)] == []
    kept = api(family.clerk).get(url).get_json()["court_ruling"]
    assert kept["decision"] == "Corrected again."
    assert kept["relationship_ids"] == [split_ruling["father_claim"]["id"]]


def _page(response, asked_id: str) -> str:
    """The page without what differs between any two answers: the CSRF token and the address asked for."""
    return re.sub(r'name="csrf_token" value="[^"]+"', "", response.get_data(as_text=True).replace(asked_id, "ID"))


def test_a_lawyer_of_neither_case_gets_the_same_not_found_as_for_a_random_id(app, api, runtime, staff, split_ruling):
    outsider = staff("lawyer")
    ruling_id, random_id = split_ruling["ruling"]["id"], str(uuid.uuid4())
    rest, client = api(outsider), web_login(app, outsider)
    path = "/documents/{}/court-ruling"
    hidden, missing = rest.get(path.format(ruling_id)), rest.get(path.format(random_id))
    assert (hidden.status_code, hidden.get_json()) == (missing.status_code, missing.get_json())
    assert error_code(hidden) == "not_found"
    hidden, missing = client.get(path.format(ruling_id)), client.get(path.format(random_id))
    assert hidden.status_code == missing.status_code == 404
    assert _page(hidden, ruling_id) == _page(missing, random_id)
    with runtime.sessions() as db:
        refused = list(
            db.scalars(
                sa.select(AuditEvent).where(
                    AuditEvent.actor_name == outsider.username, AuditEvent.target_id == ruling_id
                )
            )
        )
    assert {(e.action, e.outcome) for e in refused} == {("document.viewed", "denied")} and len(refused) == 2


def test_a_person_bundle_does_not_name_the_rulings_other_persons(api, runtime, family, split_ruling):
    response = api(family.lawyer).get(f"/persons/{family.child['id']}/bundle")
    assert response.status_code == 200
    data = response.get_data()
    manifest = _manifest(data)
    ruling_file = next(f for f in manifest["files"] if f.get("document_id") == split_ruling["ruling"]["id"])
    assert {p["person_id"] for p in ruling_file["persons"]} == {family.child["id"], family.mother["id"]}
    assert manifest["structured_evidence"][split_ruling["ruling"]["id"]]["court_ruling"]["relationship_ids"] == [
        split_ruling["mother_claim"]["id"]
    ]
    assert _leaks(data, _hidden(split_ruling)) == []
    fingerprint = published_key(runtime.audit_key.public_key()).fingerprint
    assert verify_bundle(io.BytesIO(data), pinned_fingerprint=fingerprint).ok
