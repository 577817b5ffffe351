"""Who may read a document, and the access log entry every reading (or refused attempt) leaves."""

from __future__ import annotations

import pytest

from registry.audit.events import Action
from tests.conftest import error_code
from tests.documents import files
from tests.documents_api.support import events, person_ids, upload, uploaded

GENOMIC_CSV = b"sample,locus,allele_1,allele_2\nS-1,D8S1179,13,14\nS-1,TH01,6,9.3\n"


@pytest.fixture
def passport(client, person, tmp_path, make_copies) -> dict:
    document = uploaded(upload(client, person["id"], files.simple_pdf(tmp_path / "scan.pdf").read_bytes(), "scan.pdf"))
    make_copies()
    return document


@pytest.fixture
def genomic(client, person) -> dict:
    return uploaded(
        upload(
            client,
            person["id"],
            GENOMIC_CSV,
            "str-profile.csv",
            kind="genomic_test_result",
            title="STR profile, laboratory of Almaty",
        )
    )


def test_each_reading_is_logged_once_with_the_person(client, clerk, person, passport, runtime):
    path = f"/documents/{passport['id']}"
    assert client.get(path).status_code == 200
    assert client.get(f"{path}/content").status_code == 200
    assert client.get(f"{path}/original").status_code == 200

    for action in (
        Action.DOCUMENT_UPLOADED,
        Action.DOCUMENT_VIEWED,
        Action.DOCUMENT_CONTENT_READ,
        Action.DOCUMENT_ORIGINAL_READ,
    ):
        [event] = events(runtime, action, passport["id"])
        assert (event.actor_id, event.outcome, person_ids(event)) == (clerk.id, "allowed", [person["id"]]), action


def test_caseworker_in_the_case_cannot_see_a_genomic_result(api, staff, person, passport, genomic, open_case, runtime):
    caseworker = staff("caseworker")
    open_case([caseworker], [person["id"]])
    reader = api(caseworker)
    assert reader.get(f"/documents/{passport['id']}/content").status_code == 200  # the person is in their case

    for path in (f"/documents/{genomic['id']}", f"/documents/{genomic['id']}/content"):
        response = reader.get(path)
        assert (response.status_code, error_code(response)) == (404, "not_found"), path
    for action in (Action.DOCUMENT_VIEWED, Action.DOCUMENT_CONTENT_READ):
        [denied] = events(runtime, action, genomic["id"])
        assert (denied.actor_id, denied.outcome, person_ids(denied)) == (caseworker.id, "denied", [person["id"]])


def test_caseworker_may_not_fetch_originals(api, staff, person, passport, open_case):
    caseworker = staff("caseworker")
    open_case([caseworker], [person["id"]])

    response = api(caseworker).get(f"/documents/{passport['id']}/original")

    assert (response.status_code, error_code(response)) == (403, "forbidden")


def test_lawyer_outside_the_case_finds_nothing(api, staff, make_person, clerk, person, passport, open_case, runtime):
    lawyer = staff("lawyer")
    open_case([lawyer], [make_person(clerk)["id"]])  # a case, but not this person's
    reader = api(lawyer)

    for suffix in ("", "/content", "/original"):
        response = reader.get(f"/documents/{passport['id']}{suffix}")
        assert (response.status_code, error_code(response)) == (404, "not_found"), suffix
    unknown = reader.get("/documents/00000000-0000-0000-0000-000000000000/original")
    assert unknown.get_json() == response.get_json()  # hidden and missing look alike
    for action in (Action.DOCUMENT_VIEWED, Action.DOCUMENT_CONTENT_READ, Action.DOCUMENT_ORIGINAL_READ):
        [denied] = events(runtime, action, passport["id"])
        assert (denied.actor_id, denied.outcome, person_ids(denied)) == (lawyer.id, "denied", [person["id"]])
