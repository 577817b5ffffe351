"""The lists of persons, documents, cases, restorations and the log: an order asked for changes the order,
each filter narrows, pages say "page 2 of 3" and keep the filters, a filter never reaches past what the
caller may see, and a parameter the list does not know is refused in words (422), never a 500."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from html import unescape
from pathlib import Path

import pytest
import sqlalchemy as sa

from registry.cases.models import Case
from registry.restoration.models import RestorationRequest
from tests.conftest import Staff, error_code
from tests.kinship.helpers import join_case, open_case, upload, web_login
from tests.web.browser import quick_hashing  # noqa: F401 (fixture)

pytestmark = pytest.mark.usefixtures("quick_hashing")


def person(family: str, given: str, **fields) -> dict:
    return {
        "names": [{"family_name": family, "given_name": given, "script": "cyrillic", "kind": "official"}],
        "sex": "female",
        **fields,
    }


@dataclass
class World:
    clerk: Staff
    lawyer: Staff
    case_id: str
    ids: dict[str, str]  # family name -> person id


@pytest.fixture
def world(api, staff, runtime, make_person) -> World:
    """Four persons; the lawyer's case holds Ахметова and Бекова, the others are outside it."""
    clerk, lawyer = staff("clerk"), staff("lawyer")
    people = {
        "Ахметова": person(
            "Ахметова",
            "Айгерим",
            status="returned",
            categories=["woman"],
            centre_or_region="Актау",
            birth_date="1990-01-01",
            birth_date_precision="exact",
        ),
        "Бекова": person(
            "Бекова",
            "Дана",
            status="in_rehabilitation",
            categories=["child"],
            centre_or_region="Актау",
            birth_date="2015-01-01",
            birth_date_precision="exact",
        ),
        "Вахитова": person(
            "Вахитова",
            "Зарина",
            status="returned",
            categories=["child", "orphan"],
            centre_or_region="Шымкент",
            return_stage="Жусан-4",
            birth_date="2012-06-01",
            birth_date_precision="exact",
        ),
        "Габдуллина": person(
            "Габдуллина",
            "Малика",
            status="resettled",
            categories=["woman"],
            centre_or_region="Шымкент",
            birth_date="1985-01-01",
            birth_date_precision="exact",
        ),
    }
    ids = {family: make_person(clerk, **fields)["id"] for family, fields in people.items()}
    case_id = open_case(runtime, "K-LIST", members=[lawyer], person_ids=[ids["Ахметова"], ids["Бекова"]])
    return World(clerk, lawyer, case_id, ids)


def listed(api, member: Staff, path: str, key: str, **params) -> list[dict]:
    response = api(member).get(path, query_string=params)
    assert response.status_code == 200, response.get_json()
    return response.get_json()[key]


def families(api, member: Staff, **params) -> list[str]:
    return [p["names"][0]["family_name"] for p in listed(api, member, "/persons", "persons", **params)]


def test_persons_sort_and_filter_by_status_category_region_stage_and_case(api, world):
    clerk = world.clerk
    assert families(api, clerk, sort="name") == ["Ахметова", "Бекова", "Вахитова", "Габдуллина"]
    assert families(api, clerk, sort="-name") == ["Габдуллина", "Вахитова", "Бекова", "Ахметова"]
    assert families(api, clerk, sort="-born") == ["Бекова", "Вахитова", "Ахметова", "Габдуллина"]
    assert families(api, clerk, status="returned", sort="name") == ["Ахметова", "Вахитова"]
    assert families(api, clerk, category="child", sort="name") == ["Бекова", "Вахитова"]
    assert families(api, clerk, category="orphan") == ["Вахитова"]
    assert families(api, clerk, region="Шымкент", sort="name") == ["Вахитова", "Габдуллина"]
    assert families(api, clerk, stage="Жусан-4") == ["Вахитова"]
    assert families(api, clerk, case=world.case_id, sort="name") == ["Ахметова", "Бекова"]
    assert families(api, clerk, q="Ахметова", status="resettled") == []  # a search is narrowed too
    assert families(api, clerk, q="Вахитова", category="child") == ["Вахитова"]


def test_a_lawyers_filters_reach_only_the_persons_of_their_cases(api, app, world, runtime):
    lawyer = world.lawyer
    assert families(api, lawyer, sort="name") == ["Ахметова", "Бекова"]
    assert families(api, lawyer, status="returned") == ["Ахметова"]  # not Вахитова, outside the case
    assert families(api, lawyer, region="Шымкент") == []
    assert families(api, lawyer, category="child") == ["Бекова"]
    other_case = open_case(runtime, "K-OTHER", person_ids=[world.ids["Вахитова"]])
    refused = api(lawyer).get("/persons", query_string={"case": other_case})
    assert refused.status_code == 422 and "case" in refused.get_json()["error"]["fields"]

    page = web_login(app, lawyer).get("/persons").get_data(as_text=True)
    assert "Актау" in page and "Шымкент" not in page  # the region choices come from the lawyer's persons
    assert "K-LIST" in page and "K-OTHER" not in page


def test_the_persons_page_counts_pages_and_keeps_the_filters_across_them(app, world):
    client = web_login(app, world.clerk)
    first = client.get("/persons", query_string={"status": "returned", "sort": "name", "per_page": 1})
    html = unescape(first.get_data(as_text=True))
    assert first.status_code == 200 and "Page 1 of 2" in html and "Previous page" not in html
    assert "Ахметова Айгерим" in html and "Вахитова" not in html
    following = re.search(r'<a rel="next" href="([^"]+)"', html).group(1)
    assert "status=returned" in following and "sort=name" in following and "page=2" in following
    second = unescape(client.get(following).get_data(as_text=True))
    assert "Page 2 of 2" in second and "Вахитова Зарина" in second and "Next page" not in second
    assert 'rel="prev"' in second


def document_titles(client, **params) -> list[str]:
    """The titles a document list page shows, in its order."""
    response = client.get("/documents", query_string=params)
    assert response.status_code == 200
    return re.findall(r'<a href="/documents/[^"]+">([^<]+)</a>', unescape(response.get_data(as_text=True)))


def test_documents_list_by_kind_and_copy_state_inside_the_callers_cases(api, app, world, make_copies):
    clerk = api(world.clerk)
    upload(clerk, world.ids["Ахметова"], "passport", "Passport of the mother")
    upload(clerk, world.ids["Бекова"], "birth_record", "Birth record of the child")
    upload(clerk, world.ids["Вахитова"], "birth_record", "Birth record outside the case")
    make_copies()
    upload(clerk, world.ids["Ахметова"], "genomic_test_result", "DNA result")  # its copy is still being made

    lawyer = web_login(app, world.lawyer)
    assert document_titles(lawyer, sort="title") == [
        "Birth record of the child",
        "DNA result",
        "Passport of the mother",
    ]
    assert document_titles(lawyer, sort="-title")[0] == "Passport of the mother"
    assert document_titles(lawyer) == ["DNA result", "Birth record of the child", "Passport of the mother"]
    assert document_titles(lawyer, kind="birth_record") == ["Birth record of the child"]
    assert document_titles(lawyer, status="pending") == ["DNA result"]
    assert document_titles(lawyer, status="ready", kind="genomic_test_result") == []
    html = unescape(lawyer.get("/documents?sort=title&per_page=2").get_data(as_text=True))
    assert "Page 1 of 2" in html and "Passport of the mother" not in html

    everything = document_titles(web_login(app, world.clerk))
    assert len(everything) == 4 and "Birth record outside the case" in everything


def test_a_caseworker_in_the_case_does_not_see_genomic_results_in_the_list(api, app, world, staff, runtime):
    caseworker = staff("caseworker")
    with runtime.sessions() as db:
        join_case(db, world.case_id, members=[caseworker])
        db.commit()
    clerk = api(world.clerk)
    upload(clerk, world.ids["Ахметова"], "genomic_test_result", "DNA result")
    upload(clerk, world.ids["Ахметова"], "passport", "Passport of the mother")
    client = web_login(app, caseworker)
    assert document_titles(client) == ["Passport of the mother"]
    assert "genomic (DNA) test result" not in client.get("/documents").get_data(as_text=True)  # not offered


def test_cases_sort_filter_by_status_and_only_the_callers(api, app, world, runtime, staff):
    open_case(runtime, "A-FIRST", members=[world.lawyer])
    closed = open_case(runtime, "Z-CLOSED", members=[world.lawyer])
    open_case(runtime, "M-NOT-MINE")
    with runtime.sessions() as db:
        db.execute(sa.update(Case).where(Case.id == closed).values(is_open=False))
        db.commit()
    lawyer = api(world.lawyer)

    def references(**params) -> list[str]:
        return [c["reference"] for c in listed(api, world.lawyer, "/cases", "cases", **params)]

    assert references(sort="reference") == ["A-FIRST", "K-LIST", "Z-CLOSED"]
    assert references(sort="-reference") == ["Z-CLOSED", "K-LIST", "A-FIRST"]
    assert references(status="closed") == ["Z-CLOSED"]
    assert references(status="open", sort="reference") == ["A-FIRST", "K-LIST"]
    paged = lawyer.get("/cases", query_string={"per_page": 2, "page": 2, "sort": "reference"}).get_json()
    assert [c["reference"] for c in paged["cases"]] == ["Z-CLOSED"] and paged["pages"] == 2

    page = unescape(
        web_login(app, world.lawyer).get("/cases?status=open&sort=reference&per_page=1").get_data(as_text=True)
    )
    assert "Page 1 of 2" in page and "A-FIRST" in page and "K-LIST" not in page and "M-NOT-MINE" not in page


def test_restorations_by_view_stage_and_document_sorted_and_paged(api, app, world, runtime):
    clerk = api(world.clerk)

    def opened(person_id: str, wanted: str) -> str:
        response = clerk.post(
            "/restorations", json={"person_id": person_id, "document_wanted": wanted, "reason": "lost"}
        )
        assert response.status_code == 201, response.get_json()
        return response.get_json()["restoration"]["id"]

    first = opened(world.ids["Ахметова"], "passport")
    second = opened(world.ids["Бекова"], "birth_record")
    outside = opened(world.ids["Вахитова"], "identity_document")
    with runtime.sessions() as db:
        for request_id, days in ((first, 40), (second, 10), (outside, -3)):
            db.execute(
                sa.update(RestorationRequest)
                .where(RestorationRequest.id == request_id)
                .values(due_date=date.today() + timedelta(days=days))
            )
        db.execute(
            sa.update(RestorationRequest).where(RestorationRequest.id == second).values(status="evidence_collected")
        )
        db.commit()

    def ids(member: Staff = world.clerk, **params) -> list[str]:
        return [r["id"] for r in listed(api, member, "/restorations", "restorations", **params)]

    assert ids() == [outside, second, first]  # due soonest first, as before
    assert ids(sort="-due") == [first, second, outside]
    assert ids(status="evidence_collected") == [second]
    assert ids(wanted="passport") == [first]
    assert ids(view="overdue") == [outside]
    assert ids(world.lawyer) == [second, first]  # the lawyer's case only
    assert ids(world.lawyer, wanted="identity_document") == []

    client = web_login(app, world.clerk)
    html = unescape(client.get("/restorations", query_string={"per_page": 2, "page": 2}).get_data(as_text=True))
    assert "Page 2 of 2" in html and "Ахметова" in html and "Бекова" not in html
    html = unescape(client.get("/restorations", query_string={"wanted": "birth_record"}).get_data(as_text=True))
    assert "Бекова" in html and "Ахметова" not in html and "Page 1 of 1" in html


def test_the_log_sorts_filters_pages_and_is_drawn_for_a_tablet(api, app, world, staff):
    auditor = staff("auditor")
    for name in ("Ахметова", "Бекова"):
        assert api(world.lawyer).get(f"/persons/{world.ids[name]}").status_code == 200
    events = api(auditor).get("/audit/events", query_string={"action": "person.viewed"}).get_json()
    assert events["total"] == 2 and events["pages"] == 1
    newest, oldest = (e["seq"] for e in events["events"])
    assert newest > oldest
    ascending = api(auditor).get("/audit/events", query_string={"action": "person.viewed", "sort": "at"}).get_json()
    assert [e["seq"] for e in ascending["events"]] == [oldest, newest]
    one = api(auditor).get("/audit/events", query_string={"action": "person.viewed", "per_page": 1, "page": 2})
    assert one.get_json()["pages"] == 2 and [e["seq"] for e in one.get_json()["events"]] == [oldest]

    client = web_login(app, auditor)
    page = client.get("/audit", query_string={"action": "person.viewed", "actor": world.lawyer.username, "per_page": 1})
    html = unescape(page.get_data(as_text=True))
    assert page.status_code == 200 and "Page 1 of 2" in html
    following = re.search(r'<a rel="next" href="([^"]+)"', html).group(1)
    assert "action=person.viewed" in following and f"actor={world.lawyer.username}" in following
    # Each cell names its column, so the stacked layout of lists.css can label it on a narrow screen.
    assert '<div class="log"><table>' in html and 'data-label="Action"' in html
    css = (Path(app.static_folder) / "lists.css").read_text()
    assert re.search(
        r"@media \(max-width: 60em\) \{\s*div\.log table, div\.log tbody, div\.log tr, div\.log td "
        r"\{ display: block",
        css,
    )

    refused = client.get("/audit", query_string={"since": "yesterday"})
    assert refused.status_code == 422 and "Give a date as YYYY-MM-DD." in refused.get_data(as_text=True)


LISTS = ("/persons", "/documents", "/cases", "/restorations", "/audit")
API_LISTS = ("/persons", "/cases", "/restorations", "/audit/events")


@pytest.mark.parametrize(
    "params, status",
    [
        ({"sort": "password"}, 422),
        ({"sort": "-"}, 422),
        ({"status": "<script>"}, 422),
        ({"page": "abc", "per_page": "-7"}, 200),
        ({"page": "99999999999999999999", "per_page": "10000"}, 200),
        ({"region": "x" * 5000, "actor": "\u202e", "kind": "", "since": "", "q": " "}, 200),
    ],
)
def test_parameters_a_list_does_not_know_are_refused_in_words_never_a_500(api, app, world, staff, params, status):
    """A sort or a choice no list offers is a 422 naming it; a page number or size is taken into range."""
    auditor = staff("auditor")
    clerk_pages, auditor_pages = web_login(app, world.clerk), web_login(app, auditor)
    checks = [(clerk_pages, path) for path in ("/persons", "/documents", "/cases", "/restorations")]
    for client, path in checks + [(auditor_pages, "/audit")]:
        expected = 200 if path == "/audit" and "status" in params else status  # the log has no status filter
        response = client.get(path, query_string=params)
        assert response.status_code == expected, (path, params)
        if expected == 422:
            assert 'class="field-error"' in response.get_data(as_text=True)
    for member, path in [
        (world.clerk, "/persons"),
        (world.clerk, "/cases"),
        (world.clerk, "/restorations"),
        (auditor, "/audit/events"),
    ]:
        response = api(member).get(path, query_string=params)
        assert response.status_code < 500, (path, params)
        if "sort" in params or ("status" in params and path != "/audit/events"):
            assert response.status_code == 422 and error_code(response) == "validation_error", (path, params)


def test_the_api_document_names_each_lists_filters_orders_and_pages(app):
    spec = app.test_client().get("/api/v1/openapi.json").get_json()

    def query(path: str) -> dict[str, dict]:
        return {p["name"]: p["schema"] for p in spec["paths"][path]["get"]["parameters"] if p["in"] == "query"}

    persons = query("/api/v1/persons")
    assert {"q", "status", "category", "region", "stage", "case", "sort", "page", "per_page"} <= set(persons)
    assert "returned" in persons["status"]["enum"] and "-name" in persons["sort"]["enum"]
    assert query("/api/v1/cases")["status"]["enum"] == ["open", "closed"]
    assert {"view", "status", "wanted", "person_id", "sort"} <= set(query("/api/v1/restorations"))
    assert query("/api/v1/audit/events")["sort"]["default"] == "-at"
    assert "parameters" not in spec["paths"]["/api/v1/persons"]["post"] or all(
        p["in"] != "query" for p in spec["paths"]["/api/v1/persons"]["post"]["parameters"]
    )
