"""What each role can and cannot reach, on the web and through the API.

One small registry: person P in case A (where the lawyer and the caseworker are
members), person Q in case B (another team's), an ordinary document and a genomic
result on P, an ordinary document on Q.
"""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass

import pytest
from PIL import Image

from registry.accounts.permissions import Role
from tests.conftest import ApiClient, Staff, error_code
from tests.web.browser import Browser, page_error, quick_hashing, signed_in  # noqa: F401 (fixture)

pytestmark = pytest.mark.usefixtures("quick_hashing")

GENOMIC_CONTENT = b"locus,allele_1,allele_2\nD8S1179,13,14\n"
Q_FAMILY_NAME = "Zhaksylykova"
ROLES = ("clerk", "lawyer", "caseworker", "auditor", "admin")


@dataclass
class World:
    staff: dict[str, Staff]
    ids: dict[str, str]
    browsers: dict[str, Browser]
    api: dict[str, ApiClient]


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), "white").save(buffer, "PNG")
    return buffer.getvalue()


def upload(client: ApiClient, person_id: str, kind: str, content: bytes, filename: str, mimetype: str) -> str:
    response = client.post(
        f"/persons/{person_id}/documents",
        data={"kind": kind, "title": f"{kind} scan", "file": (io.BytesIO(content), filename, mimetype)},
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()["document"]["id"]


def case_with(client: ApiClient, reference: str, members: list[Staff], person_id: str) -> str:
    case = client.post("/cases", json={"reference": reference, "title": f"Kinship {reference}"}).get_json()["case"]
    for member in members:
        assert client.post(f"/cases/{case['id']}/members", json={"username": member.username}).status_code == 201
    assert client.post(f"/cases/{case['id']}/persons", json={"person_id": person_id}).status_code == 201
    return case["id"]


@pytest.fixture
def world(app, staff, api, make_person, make_copies) -> World:
    people = {role: staff(role) for role in ROLES}
    other_lawyer = staff("lawyer")
    clients = {role: api(member) for role, member in people.items()}
    p = make_person(people["clerk"])
    q = make_person(
        people["clerk"],
        names=[{"family_name": Q_FAMILY_NAME, "given_name": "Dana", "script": "latin", "kind": "official"}],
    )
    ids = {
        "P": p["id"],
        "Q": q["id"],
        "P_number": p["registry_number"],
        "A": case_with(clients["admin"], "A-1", [people["lawyer"], people["caseworker"]], p["id"]),
        "B": case_with(clients["admin"], "B-1", [other_lawyer], q["id"]),
        "doc": upload(clients["clerk"], p["id"], "birth_record", png(), "birth.png", "image/png"),
        "genomic": upload(clients["clerk"], p["id"], "genomic_test_result", GENOMIC_CONTENT, "dna.csv", "text/csv"),
        "doc_q": upload(clients["clerk"], q["id"], "birth_record", png(), "other.png", "image/png"),
    }
    make_copies()
    browsers = {role: signed_in(app, member.username) for role, member in people.items()}
    return World(people, ids, browsers, clients)


# (path, the answer for clerk, lawyer, caseworker, auditor, admin)
WEB_TABLE = [
    ("/persons", 200, 200, 200, 403, 403),
    ("/persons/{P}", 200, 200, 200, 403, 403),
    ("/persons/{Q}", 200, 404, 404, 403, 403),
    ("/persons/new", 200, 403, 403, 403, 403),
    ("/persons/{P}/documents/new", 200, 200, 403, 403, 403),
    ("/persons/{Q}/emergency-access", 200, 200, 403, 403, 403),
    ("/documents/{doc}", 200, 200, 200, 403, 403),
    ("/documents/{doc}/content", 200, 200, 200, 403, 403),
    ("/documents/{doc}/original", 200, 200, 403, 403, 403),
    ("/documents/{genomic}", 200, 200, 404, 403, 403),
    ("/documents/{genomic}/content", 200, 200, 404, 403, 403),
    ("/documents/{doc_q}", 200, 404, 404, 403, 403),
    ("/documents/{doc_q}/content", 200, 404, 404, 403, 403),
    ("/cases", 200, 200, 200, 403, 200),
    ("/cases/{A}", 200, 200, 200, 403, 200),
    ("/cases/{B}", 200, 404, 404, 403, 200),
    ("/audit", 403, 403, 403, 200, 403),
    ("/audit/emergency", 403, 403, 403, 200, 403),
    ("/audit/persons/{P}", 403, 403, 403, 200, 403),
    ("/admin/users", 403, 403, 403, 403, 200),
    ("/admin/nda", 403, 403, 403, 403, 200),
    ("/account", 200, 200, 200, 200, 200),
]
API_TABLE = [
    ("/persons", 200, 200, 200, 403, 403),
    ("/persons/{P}", 200, 200, 200, 403, 403),
    ("/persons/{Q}", 200, 404, 404, 403, 403),
    ("/documents/{doc}", 200, 200, 200, 403, 403),
    ("/documents/{doc}/content", 200, 200, 200, 403, 403),
    ("/documents/{doc}/original", 200, 200, 403, 403, 403),
    ("/documents/{genomic}", 200, 200, 404, 403, 403),
    ("/documents/{genomic}/content", 200, 200, 404, 403, 403),
    ("/documents/{genomic}/original", 200, 200, 403, 403, 403),
    ("/documents/{doc_q}/content", 200, 404, 404, 403, 403),
    ("/cases", 200, 200, 200, 403, 200),
    ("/audit/events", 403, 403, 403, 200, 403),
    ("/persons/{P}/access-report", 403, 403, 403, 200, 403),
    ("/me", 200, 200, 200, 200, 200),
]


def table_rows(table):
    return [(path, role, expected) for path, *answers in table for role, expected in zip(ROLES, answers, strict=False)]


def test_each_role_reaches_exactly_its_pages(world):
    wrong = []
    for path, role, expected in table_rows(WEB_TABLE):
        status = world.browsers[role].get(path.format(**world.ids)).status_code
        if status != expected:
            wrong.append((role, path, status, expected))
    assert wrong == []


def test_each_role_reaches_exactly_its_api_routes(world):
    wrong = []
    for path, role, expected in table_rows(API_TABLE):
        status = world.api[role].get(path.format(**world.ids)).status_code
        if status != expected:
            wrong.append((role, path, status, expected))
    assert wrong == []


def test_guessing_another_cases_ids_is_indistinguishable_from_guessing_nonsense(world):
    lawyer_web, lawyer_api = world.browsers["lawyer"], world.api["lawyer"]
    for template in ("/persons/{}", "/documents/{}", "/documents/{}/content", "/cases/{}"):
        real = {"/persons/{}": world.ids["Q"], "/cases/{}": world.ids["B"]}.get(template, world.ids["doc_q"])
        guessed, missing = template.format(real), template.format(uuid.uuid4())
        assert page_error(lawyer_web.get(guessed)) == page_error(lawyer_web.get(missing)), template
        if template != "/cases/{}":
            answers = [lawyer_api.get(path) for path in (guessed, missing)]
            assert answers[0].get_json() == answers[1].get_json() and error_code(answers[0]) == "not_found"
    assert world.ids["Q"] not in lawyer_web.get("/persons?q=" + Q_FAMILY_NAME).get_data(as_text=True)
    assert lawyer_api.get(f"/persons?q={Q_FAMILY_NAME}").get_json()["total"] == 0


def test_a_caseworker_never_sees_a_genomic_result(world):
    caseworker = world.api["caseworker"]
    hidden = caseworker.get(f"/documents/{world.ids['genomic']}")
    missing = caseworker.get(f"/documents/{uuid.uuid4()}")
    assert hidden.get_json() == missing.get_json()
    person_page = world.browsers["caseworker"].get(f"/persons/{world.ids['P']}").get_data(as_text=True)
    assert "birth_record scan" in person_page and "genomic_test_result scan" not in person_page
    upload = caseworker.post(
        f"/persons/{world.ids['P']}/documents",
        data={
            "kind": "genomic_test_result",
            "title": "x",
            "file": (io.BytesIO(GENOMIC_CONTENT), "dna.csv", "text/csv"),
        },
    )
    assert upload.status_code == 403


def test_an_auditor_reads_the_log_but_no_document_contents(world):
    auditor = world.api["auditor"]
    events = auditor.get("/audit/events?per_page=100")
    assert events.status_code == 200 and events.get_json()["events"]
    log_text = events.get_data(as_text=True) + world.browsers["auditor"].get("/audit").get_data(as_text=True)
    assert "D8S1179" not in log_text
    for document in ("doc", "genomic"):
        for suffix in ("", "/content", "/original"):
            assert error_code(auditor.get(f"/documents/{world.ids[document]}{suffix}")) == "forbidden"


def test_an_administrator_manages_cases_but_reads_no_personal_data(world):
    admin_web = world.browsers["admin"]
    case_page = admin_web.get(f"/cases/{world.ids['A']}").get_data(as_text=True)
    assert world.ids["P_number"] in case_page  # persons of a case appear by registry number only
    for page in (
        case_page,
        admin_web.get("/admin/users").get_data(as_text=True),
        admin_web.get("/cases").get_data(as_text=True),
    ):
        assert "Abdirasulova" not in page and "Абдирасулова" not in page and Q_FAMILY_NAME not in page
    assert f'href="/persons/{world.ids["P"]}"' not in case_page
    cases = world.api["admin"].get("/cases").get_json()["cases"]
    assert "Abdirasulova" not in repr(cases)


@pytest.mark.parametrize("role", [Role.LAWYER, Role.CASEWORKER])
def test_leaving_a_case_closes_its_persons_at_the_next_request(world, role):
    member = world.staff[role]
    admin = world.browsers["admin"]
    assert world.browsers[role].get(f"/persons/{world.ids['P']}").status_code == 200
    response = admin.post(f"/cases/{world.ids['A']}/members/{member.id}/remove")
    assert response.status_code == 302
    assert world.browsers[role].get(f"/persons/{world.ids['P']}").status_code == 404
    assert world.api[role].get(f"/documents/{world.ids['doc']}").status_code == 404
