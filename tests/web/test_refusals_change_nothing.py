"""A refused request keeps nothing of its work: only its refusal (and what its page showed) is logged.

The review's attack: a clerk clears a person's names and changes other fields in the edit form; the
page says "Give at least one name." (422), yet the other fields used to be saved. Then the same
question for every route that changes something, HTML and JSON: sent a payload it refuses, no table
but the access log differs afterwards.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
import sqlalchemy as sa
from flask import Flask, Response

from registry.accounts.permissions import ROLE_PERMISSIONS, Role
from registry.audit.events import Action
from registry.audit.models import AuditEvent
from registry.persons.models import Person
from registry.web.policy import rule_for
from tests.audit.route_world import EMPLOYEES, World, build_world, events_after, last_seq
from tests.web.browser import csrf_from, quick_hashing, signed_in  # noqa: F401 (fixture)

pytestmark = pytest.mark.usefixtures("quick_hashing")

CHANGING = {"POST", "PATCH", "PUT", "DELETE"}
# Tables a refused request may still write: the access log itself, and a failed sign-in's own record.
LOG_TABLES = {"audit_events", "audit_event_persons", "audit_chain_head", "login_attempts"}


def snapshot(runtime) -> dict[str, list[str]]:
    """Every row of every table but the access log, as text (the tables as the database has them)."""
    with runtime.engine.connect() as conn:
        if runtime.engine not in _TABLES:
            _TABLES[runtime.engine] = tables = sa.MetaData()
            tables.reflect(conn)
        return {
            table.name: sorted(repr(tuple(row)) for row in conn.execute(sa.select(table)))
            for table in _TABLES[runtime.engine].sorted_tables
            if table.name not in LOG_TABLES
        }


_TABLES: dict[sa.Engine, sa.MetaData] = {}


def changed_tables(before: dict[str, list[str]], after: dict[str, list[str]]) -> set[str]:
    return {name for name in before if before[name] != after[name]}


# ---------------------------------------------------------------- the review's attack


def test_a_refused_person_edit_saves_nothing_and_logs_the_refusal_and_the_read(app, runtime, staff, make_person):
    clerk = staff("clerk")
    person = make_person(clerk)
    browser = signed_in(app, clerk.username)
    form_page = browser.get(f"/persons/{person['id']}/edit")
    assert form_page.status_code == 200
    before = snapshot(runtime)
    seq = last_seq(runtime)

    response = browser.post(
        f"/persons/{person['id']}/edit",
        {
            "csrf_token": csrf_from(form_page.get_data(as_text=True)),
            "revision": "1",
            "family_name_0": "",
            "given_name_0": "",
            "status": "resettled",
            "citizenship": "KZ",
            "restricted_notes": "changed by a refused form",
            "sex": "female",
            "birth_date_precision": "year",
        },
    )

    assert response.status_code == 422
    assert "Give at least one name." in response.get_data(as_text=True)
    assert changed_tables(before, snapshot(runtime)) == set()
    with runtime.sessions() as db:
        saved = db.get(Person, person["id"])
        assert (saved.revision, saved.status, saved.restricted_notes) == (1, "returned", "secret")
    events = [(e.action, e.outcome) for e in events_after(runtime, seq)]
    # The page showed the person again (a read), and the refusal itself; no change.
    assert events == [(Action.PERSON_VIEWED, "allowed"), (Action.REQUEST_REFUSED, "denied")]


def test_the_refused_upload_form_logs_the_read_of_the_person_it_shows(app, runtime, staff, make_person):
    clerk = staff("clerk")
    person = make_person(clerk)
    browser = signed_in(app, clerk.username)
    seq = last_seq(runtime)
    response = browser.post(f"/persons/{person['id']}/documents/new", {"kind": "passport", "title": ""})
    assert response.status_code in (400, 422)
    assert person["registry_number"] in response.get_data(as_text=True)
    shown = [e for e in events_after(runtime, seq) if e.action == Action.PERSON_VIEWED]
    assert [json.loads(e.person_ids) for e in shown] == [[person["id"]]]


# ---------------------------------------------------------------- every changing route


@pytest.fixture
def world(app, staff, api, make_person) -> World:
    return build_world(app, staff, api, make_person)


# Routes not walked, with why: they have no payload to refuse.
NOT_WALKED = {
    "accounts.logout": "signing out needs no fields (and would end the walk's sessions)",
}
# Routes whose only input is the URL: walked with ids that name nothing.
NO_FIELDS = {"cases.remove_member"}
# Routes that accept every payload below, with why: they must still change nothing with it.
ACCEPTS_ANY = {
    "web.choose_language": "an unknown language is ignored (the page stays in the language it had)",
}
# Values no route accepts (unknown ids and codes, empty required texts) beside acceptable ones a refusal must not keep.
GARBAGE = {
    "revision": "1",
    "restricted_notes": "written by a refused request",
    "citizenship": "XX",
    "kind": "no-such-kind",
    "status": "no-such-status",
    "role": "no-such-role",
    "reason": "",
    "title": "",
    "document_id": "no-such-document",
    "person_id": "no-such-person",
    "relative_id": "no-such-person",
    "username": "",
    "full_name": "",
    "password": "x",
    "new_password": "x",
    "current_password": "x",
    "code": "x",
    "typed_full_name": "",
    "version": "-1",
    "roles": "no-such-role",
    "reference": "",
    "mother_id": "no-such-person",
    "to": "no-such-status",
    "family_name_0": "",
    "given_name_0": "",
    "minutes": "-1",
    "name": "",
    "days": "-1",
    "appeal_status": "no-such-status",
}


def _employee_for(rule) -> str:
    """An employee whose roles grant the route's permission (the clerk for account pages)."""
    if rule.permission is None:
        return "clerk"
    for name in ("clerk", "lawyer", "caseworker", "auditor", "admin"):
        if any(rule.permission in ROLE_PERMISSIONS[Role(r)] for r in EMPLOYEES[name]):
            return name
    raise AssertionError(f"no employee of the world may use {rule.permission}")


def _changing_routes(app: Flask, world: World, *, real_ids: bool = True) -> list[tuple[str, str, str]]:
    values = (
        {}
        if not real_ids
        else {
            "person_id": world.persons["child"],
            "document_id": world.documents["birth_record"],
            "relationship_id": world.relationship_id,
            "request_id": world.restoration_id,
            "case_id": world.case_id,
            "user_id": world.staff["lawyer"].id,
        }
    )
    adapter = app.url_map.bind("localhost")
    found = []
    for rule in app.url_map.iter_rules():
        if not real_ids and not rule.arguments:
            continue
        for method in sorted(rule.methods & CHANGING):
            filled = {name: values.get(name, "no-such-id") for name in rule.arguments}
            found.append((rule.endpoint, method, adapter.build(rule.endpoint, filled, method=method)))
    return found


def _request(world: World, who: str, method: str, url: str, payload: dict | list) -> Callable[[], Response]:
    """The request, ready to send: the page's CSRF token is fetched now, not while the tables are compared."""
    if url.startswith("/api/"):
        client = world.app.test_client()
        return lambda: client.open(
            url, method=method, json=payload, headers={"Authorization": f"Bearer {world.staff[who].token}"}
        )
    if who not in world.browsers:
        world.browsers[who] = signed_in(world.app, world.staff[who].username)
    browser = world.browsers[who]
    form = dict(payload) if isinstance(payload, dict) else {}
    form["csrf_token"] = browser.csrf_token()
    return lambda: browser.open(url, method, data=form)


def test_every_changing_route_refused_keeps_nothing_but_the_log(app, runtime, world):
    with app.app_context():
        routes = [
            (e, m, u, rule_for(e), payloads)
            for real_ids, payloads in ((True, ({}, GARBAGE, [])), (False, (GARBAGE,)))
            for e, m, u in _changing_routes(app, world, real_ids=real_ids)
        ]
    assert len(routes) > 60, "the walk found too few routes to mean anything"
    never_refused = []
    for endpoint, method, url, rule, payloads in routes:
        if rule is None or endpoint in NOT_WALKED:
            continue
        if (endpoint in NO_FIELDS) != (payloads == (GARBAGE,)):
            continue
        who = _employee_for(rule)
        refused = False
        for payload in payloads:
            send = _request(world, who, method, url, payload)
            before, seq = snapshot(runtime), last_seq(runtime)
            response = send()
            response.get_data()
            assert response.status_code < 500, (endpoint, payload, response.status_code)
            # Refused: a 4xx, or a form that says so on the page it redirects to (its refusal logged).
            if (
                400 <= response.status_code < 500
                or endpoint in ACCEPTS_ANY
                or any(e.outcome != "allowed" for e in events_after(runtime, seq))
            ):
                refused = True
                changed = changed_tables(before, snapshot(runtime))
                assert not changed, f"{method} {endpoint} answered {response.status_code} yet changed {changed}"
        if not refused:
            never_refused.append((endpoint, response.status_code, response.headers.get("Location")))
    assert not never_refused, f"routes that refused no invalid payload (give them one): {never_refused}"


# ---------------------------------------------------------------- a log that cannot be written


def test_reads_answer_503_audit_unavailable_when_the_log_cannot_be_written(app, runtime, staff, api, make_person):
    clerk = staff("clerk")
    person = make_person(clerk)
    browser = signed_in(app, clerk.username)
    with runtime.engine.begin() as conn:
        count = conn.scalar(sa.select(sa.func.count()).select_from(AuditEvent))
    close_the_log(runtime)
    for response in (
        api(clerk).get(f"/persons/{person['id']}"),
        api(clerk).get("/persons?q=Айгерим"),
        api(clerk).post("/persons", json={"names": []}),
    ):
        assert response.status_code == 503, response.get_data(as_text=True)
        assert response.get_json()["error"]["code"] == "audit_unavailable"
        assert "Абдирасулова" not in response.get_data(as_text=True)
    for path in (f"/persons/{person['id']}", "/persons?q=Айгерим"):
        page = browser.get(path)
        assert page.status_code == 503
        assert "Абдирасулова" not in page.get_data(as_text=True)
    with runtime.engine.begin() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == count


def close_the_log(runtime) -> None:
    """The database refuses every new access-log event, as a full disk or a revoked grant would."""
    with runtime.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(
                "CREATE FUNCTION refuse_log() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'the log is closed'; END $$"
            )
            conn.exec_driver_sql(
                "CREATE TRIGGER closed BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION refuse_log()"
            )
        else:
            conn.exec_driver_sql(
                "CREATE TRIGGER closed BEFORE INSERT ON audit_events "
                "BEGIN SELECT RAISE(ABORT, 'the log is closed'); END"
            )
