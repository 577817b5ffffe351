"""A small registry to walk the URL map in: staff of every role, one case with a mother and her
child, their documents, a kinship claim, a restoration request and a legal hold on the child, all made
through the API.

Also what the walk needs to read back: the access-log events one request wrote, with the
persons they name given by the world's names ("mother", "child") instead of ids.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import Flask, Response

from registry.accounts.permissions import Permission
from registry.audit.models import AuditEvent
from registry.web.policy import rule_for
from tests.conftest import ApiClient, Staff
from tests.kinship.helpers import genomic_document, ruling_document, upload
from tests.web.browser import Browser, signed_in

# Who the world employs: name -> roles. The outsider is a lawyer of no case; on call opens emergency access.
EMPLOYEES = {
    "clerk": ("clerk",),
    "lawyer": ("lawyer",),
    "caseworker": ("caseworker",),
    "auditor": ("auditor",),
    "admin": ("admin",),
    "outsider": ("lawyer",),
    "on_call": ("lawyer",),
}

# A seen event: (action, outcome, the world's names of the persons it names).
Seen = tuple[str, str, frozenset[str]]


@dataclass
class World:
    app: Flask
    staff: dict[str, Staff]
    persons: dict[str, str]  # name -> person id
    documents: dict[str, str]  # name -> document id
    case_id: str
    relationship_id: str
    restoration_id: str
    browsers: dict[str, Browser] = field(default_factory=dict)

    def url(self, endpoint: str, document: str) -> str:
        """The endpoint's URL with its parameters filled from this world (``document`` picks the document)."""
        values = {
            "person_id": self.persons["child"],
            "document_id": self.documents[document],
            "relationship_id": self.relationship_id,
            "request_id": self.restoration_id,
            "case_id": self.case_id,
            "user_id": self.staff["lawyer"].id,
        }
        wanted = url_parameters(self.app, endpoint)
        assert wanted <= set(values), f"the world cannot fill {wanted - set(values)} of {endpoint}"
        return self.app.url_map.bind("localhost").build(endpoint, {n: values[n] for n in wanted}, method="GET")

    def caller(self, who: str, url: str) -> Callable[[], Response]:
        """A GET of ``url`` as this employee, ready to send: signed in beforehand, so the sign-in is not
        among the request's events. The API with their token, pages in their own browser."""
        if url.startswith("/api/"):
            client = self.app.test_client()
            return lambda: _read(client.get(url, headers={"Authorization": f"Bearer {self.staff[who].token}"}))
        if who not in self.browsers:
            self.browsers[who] = signed_in(self.app, self.staff[who].username)
        return lambda: _read(self.browsers[who].get(url))

    def seen(self, event: AuditEvent) -> Seen:
        names = {pid: name for name, pid in self.persons.items()}
        return event.action, event.outcome, frozenset(names.get(p, p) for p in json.loads(event.person_ids))


def build_world(
    app: Flask, staff: Callable[..., Staff], api: Callable[[Staff], ApiClient], make_person: Callable[..., dict]
) -> World:
    """Every employee signs the undertaking; the clerk registers and documents, the admin opens the case."""
    team = {name: staff(*roles, name=name.replace("_", "-")) for name, roles in EMPLOYEES.items()}
    clerk = api(team["clerk"])
    mother = make_person(
        team["clerk"],
        names=[{"family_name": "Абдирасулова", "given_name": "Мадина"}],
        sex="female",
        birth_date="1990-04-12",
        birth_date_precision="exact",
        categories=["woman"],
    )
    child = make_person(
        team["clerk"],
        names=[{"family_name": "Абдирасулова", "given_name": "Айша"}],
        birth_date="2016-03-01",
        birth_date_precision="year",
        categories=["child"],
    )
    case_id = _open_case(api(team["admin"]), [team["lawyer"], team["caseworker"]], [mother["id"], child["id"]])
    birth = upload(clerk, child["id"], "birth_record", "Birth notification, Raqqa")
    relationship_id = _created(
        clerk.post(
            "/relationships", json={"person_id": child["id"], "relative_id": mother["id"], "kind": "biological_mother"}
        )
    )["relationship"]["id"]
    genomic = genomic_document(clerk, child["id"], mother["id"], "inclusion")
    _created(clerk.post(f"/relationships/{relationship_id}/evidence", json={"document_id": genomic["id"]}))
    ruling = ruling_document(clerk, child["id"], mother["id"], [relationship_id])
    restoration_id = _restoration(clerk, child["id"], mother["id"], birth["id"])
    _created(
        api(team["on_call"]).post(
            f"/persons/{mother['id']}/emergency-access",
            json={"reason": "The mother is in hospital and her file is needed tonight."},
        )
    )
    _created(
        clerk.post(
            "/legal-holds",
            json={
                "target_type": "person",
                "target_id": child["id"],
                "reason": "The family court asked for everything on the child.",
            },
        )
    )
    return World(
        app,
        team,
        {"mother": mother["id"], "child": child["id"]},
        {"birth_record": birth["id"], "genomic": genomic["id"], "ruling": ruling["id"]},
        case_id,
        relationship_id,
        restoration_id,
    )


def _read(response: Response) -> Response:
    response.get_data()
    response.close()  # a bundle's spooled ZIP is closed with its response
    return response


def _created(response) -> dict:
    assert response.status_code in (200, 201), response.get_json()
    return response.get_json()


def _open_case(admin: ApiClient, members: list[Staff], person_ids: list[str]) -> str:
    case_id = _created(admin.post("/cases", json={"reference": "KZ-7", "title": "Return of minors"}))["case"]["id"]
    for member in members:
        _created(admin.post(f"/cases/{case_id}/members", json={"username": member.username}))
    for person_id in person_ids:
        _created(admin.post(f"/cases/{case_id}/persons", json={"person_id": person_id}))
    return case_id


def _restoration(clerk: ApiClient, child_id: str, mother_id: str, evidence_id: str) -> str:
    """A birth record for the child, with the scan as evidence and the mother's consented choices."""
    request_id = _created(
        clerk.post(
            "/restorations", json={"person_id": child_id, "document_wanted": "birth_record", "reason": "born_abroad"}
        )
    )["restoration"]["id"]
    _created(clerk.post(f"/restorations/{request_id}/evidence", json={"document_id": evidence_id}))
    _created(
        clerk.post(
            f"/restorations/{request_id}/mother-choices",
            json={
                "mother_id": mother_id,
                "mother_consent": True,
                "chosen_given_name": "Айша",
                "chosen_place_of_birth": "Almaty",
                "actual_place_of_birth": "Raqqa, Syria",
            },
        )
    )
    return request_id


# ---------------------------------------------------------------- the URL map and the log


def guarded_reads(app: Flask) -> dict[str, Permission]:
    """endpoint -> permission for every GET route that needs one: the routes that show personal data."""
    return {endpoint: permission for endpoint, permission in _gets(app).items() if permission}


def unguarded_reads(app: Flask) -> set[str]:
    """GET endpoints that need no permission: public pages and the caller's own account."""
    return {endpoint for endpoint, permission in _gets(app).items() if permission is None}


def _gets(app: Flask) -> dict[str, Permission | None]:
    with app.app_context():
        rules = {rule.endpoint: rule_for(rule.endpoint) for rule in app.url_map.iter_rules() if "GET" in rule.methods}
    undeclared = {endpoint for endpoint, access in rules.items() if access is None}
    assert not undeclared, f"routes with no access rule: {undeclared}"
    return {endpoint: access.permission for endpoint, access in rules.items()}


def url_parameters(app: Flask, endpoint: str) -> set[str]:
    return set().union(*(r.arguments for r in app.url_map.iter_rules(endpoint)))


def last_seq(runtime) -> int:
    with runtime.sessions() as db:
        return db.scalar(sa.select(sa.func.max(AuditEvent.seq))) or 0


def events_after(runtime, seq: int) -> list[AuditEvent]:
    with runtime.sessions() as db:
        return list(db.scalars(sa.select(AuditEvent).where(AuditEvent.seq > seq).order_by(AuditEvent.seq)))
