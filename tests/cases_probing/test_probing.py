"""Issue #16, finding 7: break glass and "add a person to a case" tell a person id that exists from
one that does not (each refusal is logged). Each member of staff gets only a few such tries an
hour; past them every attempt is refused (429) and changes nothing, and auditors see who probed.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import sqlalchemy as sa

from registry.audit import anomalies
from registry.audit.events import Action
from registry.audit.models import AuditEvent
from registry.cases.models import CasePerson, EmergencyAccess
from registry.cases.service import PROBE_LIMIT
from registry.db import utcnow
from tests.conftest import error_code
from tests.kinship.helpers import open_case
from tests.web.browser import signed_in

REASON = "The child's aunt phoned: the child is in hospital tonight."


def _events(runtime, user_id: str, action: str) -> list[AuditEvent]:
    with runtime.sessions() as db:
        return list(
            db.scalars(
                sa.select(AuditEvent)
                .where(AuditEvent.actor_id == user_id, AuditEvent.action == action)
                .order_by(AuditEvent.seq)
            )
        )


def _grants(runtime, user_id: str) -> int:
    with runtime.sessions() as db:
        return db.scalar(sa.select(sa.func.count()).where(EmergencyAccess.user_id == user_id))


def test_break_glass_on_unknown_ids_is_limited_per_user_and_then_changes_nothing(api, runtime, staff, make_person):
    clerk, prober, colleague = staff("clerk"), staff("lawyer"), staff("lawyer")
    person = make_person(clerk)
    client = api(prober)
    for _try in range(PROBE_LIMIT - 1):
        response = client.post(f"/persons/{uuid.uuid4()}/emergency-access", json={"reason": REASON})
        assert response.status_code == 404 and error_code(response) == "not_found"
    assert client.post(f"/persons/{person['id']}/emergency-access", json={"reason": REASON}).status_code == 201
    assert client.post(f"/persons/{uuid.uuid4()}/emergency-access", json={"reason": REASON}).status_code == 404

    refused = client.post(f"/persons/{person['id']}/emergency-access", json={"reason": REASON})
    assert refused.status_code == 429 and error_code(refused) == "too_many_attempts"
    assert _grants(runtime, prober.id) == 1  # the one opened before the limit, no other
    events = [(e.outcome, e.target_id) for e in _events(runtime, prober.id, Action.EMERGENCY_ACCESS)]
    assert events.count(("denied", person["id"])) == 1 and len(events) == PROBE_LIMIT + 2
    assert sum(outcome == "denied" for outcome, _target in events) == PROBE_LIMIT + 1

    other = api(colleague).post(f"/persons/{person['id']}/emergency-access", json={"reason": REASON})
    assert other.status_code == 201  # the limit is the prober's alone


def test_adding_unknown_persons_to_a_case_is_limited_over_the_api_and_the_form(app, api, runtime, staff, make_person):
    clerk, admin = staff("clerk"), staff("admin")
    person = make_person(clerk)
    case_id = open_case(runtime, "KZ-PROBE")
    client = api(admin)
    browser = signed_in(app, admin.username)
    for i in range(PROBE_LIMIT):
        if i % 2:
            response = client.post(f"/cases/{case_id}/persons", json={"person_id": str(uuid.uuid4())})
            assert response.status_code == 404
        else:
            response = browser.post(f"/cases/{case_id}/persons", {"registry_number": f"KZ-{i:07d}"})
            assert response.status_code == 422
            assert "No person has this registry number." in response.get_data(as_text=True)

    refused = client.post(f"/cases/{case_id}/persons", json={"person_id": person["id"]})
    assert refused.status_code == 429 and error_code(refused) == "too_many_attempts"
    page = browser.post(f"/cases/{case_id}/persons", {"registry_number": person["registry_number"]})
    assert page.status_code == 429
    with runtime.sessions() as db:
        assert db.scalar(sa.select(sa.func.count()).where(CasePerson.case_id == case_id)) == 0
    events = _events(runtime, admin.id, Action.CASE_PERSON_ADDED)
    assert [e.outcome for e in events] == ["denied"] * (PROBE_LIMIT + 2)


def test_known_persons_do_not_count_against_the_limit(api, runtime, staff, make_person):
    clerk, admin = staff("clerk"), staff("admin")
    persons = [make_person(clerk) for _i in range(3)]
    case_id = open_case(runtime, "KZ-FINE")
    client = api(admin)
    for _try in range(PROBE_LIMIT - 1):
        assert client.post(f"/cases/{case_id}/persons", json={"person_id": str(uuid.uuid4())}).status_code == 404
    for person in persons:
        assert client.post(f"/cases/{case_id}/persons", json={"person_id": person["id"]}).status_code == 201


def test_auditors_see_who_probed(app, api, runtime, staff):
    prober, quiet, auditor = staff("lawyer"), staff("lawyer"), staff("auditor")
    for _try in range(3):
        api(prober).post(f"/persons/{uuid.uuid4()}/emergency-access", json={"reason": REASON})
    assert (
        api(quiet).post(f"/persons/{uuid.uuid4()}/emergency-access", json={"reason": "too short"}).status_code == 422
    )  # refused for its reason, before any person is looked up: not probing

    with runtime.sessions() as db:
        found = anomalies.probing(db, since=utcnow() - timedelta(days=1))
    assert [(p.actor_name, p.attempts) for p in found] == [(prober.username, 3)]

    page = signed_in(app, auditor.username).get("/audit/anomalies")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    section = html[html.index("Persons asked for that do not exist") :]
    assert prober.username in section and quiet.username not in section
    assert "<mark>3</mark>" in section
