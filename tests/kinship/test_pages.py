"""The demo data set builds through the real services, and every kinship and restoration page renders it."""

from __future__ import annotations

import re

import sqlalchemy as sa

from registry.demo import build_demo
from registry.kinship.models import CourtRuling, GenomicResult, Relationship, RelationshipStatus
from registry.persons.models import Person
from registry.restoration.models import RestorationRequest, RestorationStatus
from tests.kinship.helpers import csrf_token, web_login


def _demo_ids(runtime) -> dict:
    with runtime.sessions() as db:
        return {
            "people": list(db.scalars(sa.select(Person.id))),
            "relationships": list(db.scalars(sa.select(Relationship.id))),
            "genomic": list(db.scalars(sa.select(GenomicResult.document_id))),
            "rulings": list(db.scalars(sa.select(CourtRuling.document_id))),
            "requests": list(db.scalars(sa.select(RestorationRequest.id))),
            "scripts": {n.script for p in db.scalars(sa.select(Person)) for n in p.names},
            "orphans": db.scalar(sa.select(sa.func.count()).where(Person.categories.contains("orphan"))),
            "by_status": {r.status: r for r in db.scalars(sa.select(Relationship))},
        }


def test_the_demo_has_every_status_and_every_page_renders_it(app, runtime, staff):
    with app.app_context(), runtime.sessions() as db:  # as `registry demo` runs: no request
        summary = build_demo(db, runtime.store, runtime.viewing_copies, families=2)
        db.commit()
    assert set(summary["relationships"]) == {s.value for s in RelationshipStatus}
    assert set(summary["restorations"]) == {s.value for s in RestorationStatus}
    assert {s["role"] for s in summary["staff"]} == {"admin", "clerk", "lawyer", "caseworker", "auditor"}
    ids = _demo_ids(runtime)
    assert ids["scripts"] == {"cyrillic", "latin", "arabic"} and ids["orphans"] >= 2

    client = web_login(app, staff("clerk"))
    pages = (
        ["/kinship", "/restorations", "/restorations/new", "/restorations?status=issued"]
        + [f"/persons/{p}/family" for p in ids["people"]]
        + [f"/relationships/{r}" for r in ids["relationships"]]
        + [f"/documents/{d}/genomic-result" for d in ids["genomic"]]
        + [f"/documents/{d}/court-ruling" for d in ids["rulings"]]
        + [f"/restorations/{r}" for r in ids["requests"]]
    )
    statuses = {page: client.get(page).status_code for page in pages}
    assert {page: code for page, code in statuses.items() if code != 200} == {}
    assert "Orphans with no established relative" in client.get("/kinship").get_data(as_text=True)

    established = client.get(f"/persons/{ids['by_status']['court_established'].person_id}/family")
    page = established.get_data(as_text=True)
    assert "<svg" in page and not re.search(r"<script(?![^>]*\bsrc=)", page)  # no inline script, only files
    assert 'stroke="#15803d"' in page  # established: green
    excluded = client.get(f"/persons/{ids['by_status']['excluded'].person_id}/family").get_data(as_text=True)
    assert 'stroke="#b91c1c" stroke-width="3" stroke-dasharray="2 4"' in excluded  # excluded: red, dotted

    outsider = web_login(app, staff("lawyer"))
    assert outsider.get(f"/persons/{ids['people'][0]}/family").status_code == 404
    assert outsider.get("/kinship").status_code == 200


def test_a_failed_claim_form_keeps_the_typed_values_and_names_the_field(app, staff, make_person):
    clerk = staff("clerk")
    person = make_person(clerk)
    client = web_login(app, clerk)
    page = client.get(f"/persons/{person['id']}/family").get_data(as_text=True)
    response = client.post(
        f"/persons/{person['id']}/family/claims",
        data={
            "csrf_token": csrf_token(page),
            "registry_number": "R1999-NOSUCH",
            "kind": "grandparent",
            "note": "Told by the neighbour",
        },
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert re.search(r'id="e-registry_number">[^<]*registry number', body)
    assert 'value="R1999-NOSUCH"' in body and "Told by the neighbour" in body
    assert '<option value="grandparent" selected>' in body
