"""A registry with staff who hold and dispose, persons in a case, and documents made old on purpose."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
import sqlalchemy as sa

from registry.db import utcnow
from registry.documents.models import DocumentVersion
from tests.conftest import ApiClient, Staff
from tests.kinship.helpers import upload


@dataclass
class Team:
    clerk: Staff  # places holds and proposes disposals
    second_clerk: Staff  # approves what the first proposed
    lawyer: Staff  # a member of the case
    outsider: Staff  # a lawyer of no case
    admin: Staff


@pytest.fixture
def team(staff) -> Team:
    return Team(staff("clerk"), staff("clerk"), staff("lawyer"), staff("lawyer"), staff("admin"))


@dataclass
class Registry:
    """Two persons in one case (the lawyer's), and one person outside every case."""

    child: str
    mother: str
    stranger: str
    case_id: str


@pytest.fixture
def registry(api, team, make_person) -> Registry:
    child = make_person(team.clerk)["id"]
    mother = make_person(team.clerk, sex="female", categories=["woman"])["id"]
    stranger = make_person(team.clerk)["id"]
    admin = api(team.admin)
    case = admin.post("/cases", json={"reference": "HOLD-1", "title": "Return of minors"}).get_json()["case"]
    assert admin.post(f"/cases/{case['id']}/members", json={"username": team.lawyer.username}).status_code == 201
    for person_id in (child, mother):
        assert admin.post(f"/cases/{case['id']}/persons", json={"person_id": person_id}).status_code == 201
    return Registry(child, mother, stranger, case["id"])


@pytest.fixture
def admin_case(api, team, registry) -> str:
    """A case of the stranger's that the lawyer does not belong to."""
    admin = api(team.admin)
    case = admin.post("/cases", json={"reference": "HOLD-2", "title": "Another matter"}).get_json()["case"]
    assert admin.post(f"/cases/{case['id']}/persons", json={"person_id": registry.stranger}).status_code == 201
    return case["id"]


@pytest.fixture
def add_document(api, team):
    """add_document(person_id, kind, title): uploaded by the clerk; returns the document's id."""

    def add(person_id: str, kind: str = "passport", title: str = "") -> str:
        return upload(api(team.clerk), person_id, kind, title or f"{kind} of {person_id[:8]}")["id"]

    return add


@pytest.fixture
def make_old(runtime):
    """make_old(document_id, years): every version uploaded that long ago; its WORM lock, as the database
    records it, ended (``locked=True`` keeps it running)."""

    def age(document_id: str, years: int, *, locked: bool = False) -> None:
        with runtime.sessions() as db:
            for version in db.scalars(sa.select(DocumentVersion).where(DocumentVersion.document_id == document_id)):
                version.uploaded_at = utcnow() - timedelta(days=366 * years)
                if not locked:
                    version.original.locked_until = None
                elif version.original.locked_until is None:
                    version.original.locked_until = utcnow() + timedelta(days=30)
            db.commit()

    return age


def hold(client: ApiClient, target_type: str, target_id: str, reason: str = "The court asked to keep it all."):
    return client.post("/legal-holds", json={"target_type": target_type, "target_id": target_id, "reason": reason})


def lift(client: ApiClient, hold_id: str, reason: str = "The court's order was withdrawn."):
    return client.post(f"/legal-holds/{hold_id}/lift", json={"reason": reason})
