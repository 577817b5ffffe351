"""Fixtures for the documents API: a clerk, a person, and the app on either object store.

A module whose tests concern storage overrides ``storage_url`` with ``each_store``
so every test there runs once on the filesystem store and once on S3 over HTTP.
"""

from __future__ import annotations

import pytest

from tests.conftest import Staff


@pytest.fixture(params=["filesystem", "s3"])
def each_store(request, tmp_path) -> str:
    if request.param == "s3":
        return request.getfixturevalue("s3_storage_url")
    return (tmp_path / "objects").as_uri()


@pytest.fixture
def clerk(staff) -> Staff:
    return staff("clerk")


@pytest.fixture
def client(api, clerk):
    return api(clerk)


@pytest.fixture
def person(make_person, clerk) -> dict:
    return make_person(clerk)


@pytest.fixture
def open_case(api, staff):
    """open_case(members, person_ids): a case an administrator opens with these staff and persons."""
    admin = api(staff("admin"))
    count = iter(range(1, 1000))

    def make(members: list[Staff], person_ids: list[str]) -> str:
        created = admin.post("/cases", json={"reference": f"KIN-{next(count)}", "title": "Return of minors"})
        assert created.status_code == 201, created.get_json()
        case_id = created.get_json()["case"]["id"]
        for member in members:
            assert admin.post(f"/cases/{case_id}/members", json={"username": member.username}).status_code == 201
        for person_id in person_ids:
            assert admin.post(f"/cases/{case_id}/persons", json={"person_id": person_id}).status_code == 201
        return case_id

    return make
