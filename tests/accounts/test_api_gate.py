"""The gate every API call passes: token, permission, NDA, case boundary."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from registry.accounts import service as accounts
from registry.accounts.models import ApiToken
from registry.audit.service import SYSTEM
from registry.db import utcnow
from tests.conftest import error_code


def test_no_token_is_unauthenticated(api):
    response = api(None).get("/persons")
    assert response.status_code == 401
    assert error_code(response) == "unauthenticated"


def test_garbage_token_is_unauthenticated_and_logged(api, staff, db):
    response = api(None).get("/persons", headers={"Authorization": "Bearer rgt_not-a-real-token"})
    assert response.status_code == 401
    auditor = staff("auditor")
    events = api(auditor).get("/audit/events?action=auth.token_rejected").get_json()["events"]
    assert len(events) == 1 and events[0]["outcome"] == "denied"


def test_expired_token_is_refused(api, staff, runtime):
    clerk = staff("clerk")
    with runtime.sessions() as db:
        db.execute(sa.update(ApiToken).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.commit()
    assert api(clerk).get("/persons").status_code == 401


def test_revoked_token_is_refused(api, staff, runtime):
    clerk = staff("clerk")
    assert api(clerk).get("/persons").status_code == 200
    with runtime.sessions() as db:
        user = accounts.user_by_name(db, clerk.username)
        accounts.revoke_all_tokens(db, user)
        db.commit()
    assert error_code(api(clerk).get("/persons")) == "unauthenticated"


def test_unsigned_nda_blocks_personal_data(api, staff):
    clerk = staff("clerk", sign_nda=False)
    response = api(clerk).get("/persons")
    assert response.status_code == 403
    assert error_code(response) == "nda_required"


def test_signing_the_nda_through_the_api_opens_access(api, staff):
    clerk = staff("clerk", sign_nda=False)
    nda = api(clerk).get("/nda").get_json()["nda"]
    wrong = api(clerk).post(
        "/nda/acknowledgements",
        json={"version": nda["version"], "text_sha256": nda["text_sha256"], "typed_full_name": "Someone Else"},
    )
    assert wrong.status_code == 422 and "typed_full_name" in wrong.get_json()["error"]["fields"]
    signed = api(clerk).post(
        "/nda/acknowledgements",
        json={"version": nda["version"], "text_sha256": nda["text_sha256"], "typed_full_name": clerk.full_name},
    )
    assert signed.status_code == 201
    assert api(clerk).get("/persons").status_code == 200


def test_a_new_nda_version_blocks_everyone_again(api, staff, runtime):
    clerk = staff("clerk")
    assert api(clerk).get("/persons").status_code == 200
    with runtime.sessions() as db:
        accounts.publish_nda(db, SYSTEM, title="Undertaking v2", text="A stricter text that everyone must sign again.")
        db.commit()
    assert error_code(api(clerk).get("/persons")) == "nda_required"


def test_role_without_permission_is_forbidden(api, staff):
    auditor = staff("auditor")
    response = api(auditor).get("/persons")
    assert response.status_code == 403 and error_code(response) == "forbidden"


def test_lawyer_guessing_a_person_outside_their_cases_gets_not_found(api, staff, make_person):
    clerk, lawyer = staff("clerk"), staff("lawyer")
    person = make_person(clerk)
    response = api(lawyer).get(f"/persons/{person['id']}")
    assert response.status_code == 404 and error_code(response) == "not_found"
    missing = api(lawyer).get("/persons/00000000-0000-0000-0000-000000000000")
    assert missing.get_json() == response.get_json()  # the same answer: existence does not leak


def test_case_membership_opens_the_person(api, staff, make_person):
    clerk, lawyer, admin = staff("clerk"), staff("lawyer"), staff("admin")
    person = make_person(clerk)
    case = api(admin).post("/cases", json={"reference": "KZ-1", "title": "Kinship of a child"}).get_json()["case"]
    assert api(admin).post(f"/cases/{case['id']}/members", json={"username": lawyer.username}).status_code == 201
    assert api(admin).post(f"/cases/{case['id']}/persons", json={"person_id": person["id"]}).status_code == 201
    response = api(lawyer).get(f"/persons/{person['id']}")
    assert response.status_code == 200
    assert "restricted_notes" not in response.get_json()["person"]


def test_admin_reads_no_personal_data(api, staff, make_person):
    clerk, admin = staff("clerk"), staff("admin")
    person = make_person(clerk)
    assert error_code(api(admin).get(f"/persons/{person['id']}")) == "forbidden"
    assert error_code(api(admin).get("/persons")) == "forbidden"


def test_emergency_access_needs_a_reason_and_is_logged(api, staff, make_person):
    clerk, lawyer, auditor = staff("clerk"), staff("lawyer"), staff("auditor")
    person = make_person(clerk)
    short = api(lawyer).post(f"/persons/{person['id']}/emergency-access", json={"reason": "need"})
    assert short.status_code == 422
    granted = api(lawyer).post(
        f"/persons/{person['id']}/emergency-access", json={"reason": "Court hearing in one hour moved to today"}
    )
    assert granted.status_code == 201
    assert api(lawyer).get(f"/persons/{person['id']}").status_code == 200
    report = api(auditor).get(f"/persons/{person['id']}/access-report").get_json()["events"]
    views = [e for e in report if e["action"] == "person.viewed" and e["actor"] == lawyer.username]
    assert views and views[-1]["reason"] == "Court hearing in one hour moved to today"
