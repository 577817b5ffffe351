"""Walk the URL map: every GET route that reads personal data writes exactly the access-log events
the tables below say, for a caller inside the case and then, at the same URL, for a lawyer outside it.

A new personal-data route fails ``test_every_personal_data_read_is_in_the_table`` until someone
writes down which events it must produce; a removed route fails it until its row goes. A route
known to log wrongly is an xfail naming the function, on the half of its case that is wrong.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import pytest

from registry.accounts.permissions import ROLE_PERMISSIONS, Role
from registry.audit.events import Action
from tests.audit.route_world import (
    EMPLOYEES,
    Seen,
    World,
    build_world,
    events_after,
    guarded_reads,
    last_seq,
    unguarded_reads,
    url_parameters,
)
from tests.web.browser import quick_hashing  # noqa: F401 (fixture)

pytestmark = pytest.mark.usefixtures("quick_hashing")
A = Action


def allowed(action: Action, *persons: str) -> Seen:
    return action.value, "allowed", frozenset(persons)


def denied(action: Action, *persons: str) -> Seen:
    return action.value, "denied", frozenset(persons)


@dataclass(frozen=True)
class Visit:
    """Who calls the route, what it answers, and the events it must write (in any order)."""

    who: str
    events: tuple[Seen, ...]
    status: int = 200
    document: str = "birth_record"  # which document fills a document_id


# GET routes that need no permission, so show no personal data: not walked, listed here on purpose.
NOT_PERSONAL = {
    "static",
    "web.index",
    "web.healthz",
    "web.readyz",
    "accounts.login",
    "accounts.account_setup",  # public
    "api.openapi",
    "metrics",  # counts only, behind its own token
    "accounts.my_account",
    "accounts.enrol_two_factor",
    "accounts.nda",
    "api.me",
    "api.get_nda",  # own account
    "audit.signing_key",  # the registry's public signing key, published for courts
}

BOTH = ("child", "mother")
# The bundle reads every original it packs, each its own event, then records the export.
CLAIM_BUNDLE = (
    allowed(A.RELATIONSHIP_VIEWED, *BOTH),
    allowed(A.DOCUMENT_ORIGINAL_READ, *BOTH),  # genomic evidence
    allowed(A.BUNDLE_EXPORTED, *BOTH),
)
CHILD_BUNDLE = (
    allowed(A.RELATIONSHIP_VIEWED, *BOTH),
    allowed(A.DOCUMENT_ORIGINAL_READ, "child"),  # birth record
    allowed(A.DOCUMENT_ORIGINAL_READ, *BOTH),
    allowed(A.DOCUMENT_ORIGINAL_READ, *BOTH),  # result, ruling
    allowed(A.BUNDLE_EXPORTED, *BOTH),
)
# A person's export reads each document's original and its viewing copy, each its own event, then records itself.
CHILD_EXPORT = (
    allowed(A.RELATIONSHIP_VIEWED, *BOTH),
    allowed(A.DOCUMENT_ORIGINAL_READ, "child"),
    allowed(A.DOCUMENT_CONTENT_READ, "child"),  # birth record
    allowed(A.DOCUMENT_ORIGINAL_READ, *BOTH),
    allowed(A.DOCUMENT_CONTENT_READ, *BOTH),  # genomic result
    allowed(A.DOCUMENT_ORIGINAL_READ, *BOTH),
    allowed(A.DOCUMENT_CONTENT_READ, *BOTH),  # ruling
    allowed(A.PERSON_EXPORTED, *BOTH),
)

# A caller inside the boundary: what each personal-data read must write.
EXPECTED: dict[str, Visit] = {
    # JSON API
    "api.get_person": Visit("caseworker", (allowed(A.PERSON_VIEWED, "child"),)),
    "api.list_persons": Visit("caseworker", (allowed(A.PERSON_SEARCHED, *BOTH),)),
    "api.get_document": Visit("caseworker", (allowed(A.DOCUMENT_VIEWED, "child"),)),
    "api.document_content": Visit("lawyer", (allowed(A.DOCUMENT_CONTENT_READ, "child"),)),
    "api.document_original": Visit("lawyer", (allowed(A.DOCUMENT_ORIGINAL_READ, "child"),)),
    "api.get_genomic_result": Visit("lawyer", (allowed(A.DOCUMENT_VIEWED, *BOTH),), document="genomic"),
    "api.get_court_ruling": Visit("lawyer", (allowed(A.DOCUMENT_VIEWED, *BOTH),), document="ruling"),
    "api.get_relationship": Visit("caseworker", (allowed(A.RELATIONSHIP_VIEWED, *BOTH),)),
    "api.person_relationships": Visit("lawyer", (allowed(A.RELATIONSHIP_VIEWED, *BOTH),)),
    "api.kinship_lists": Visit("caseworker", (allowed(A.RELATIONSHIP_VIEWED, *BOTH),)),
    "api.relationship_bundle": Visit("lawyer", CLAIM_BUNDLE),
    "api.person_bundle": Visit("lawyer", CHILD_BUNDLE),
    "api.person_export": Visit("lawyer", CHILD_EXPORT),
    "api.get_restoration": Visit("lawyer", (allowed(A.RESTORATION_VIEWED, *BOTH),)),
    "api.list_restorations": Visit("caseworker", (allowed(A.RESTORATION_VIEWED, *BOTH),)),
    "api.list_cases": Visit("lawyer", ()),  # references, titles and opaque ids: no person's data
    "accounts.role_changes": Visit("auditor", ()),  # staff accounts and roles: no registered person's data
    "api.audit_events": Visit("auditor", (allowed(A.AUDIT_READ),)),
    "api.person_access_report": Visit("auditor", (allowed(A.ACCESS_REPORT_READ, "child"),)),
    # possible same person: the person asked about (mother and child are no candidates of each other)
    "api.person_matches": Visit("caseworker", (allowed(A.PERSON_SEARCHED, "child"),)),
    "api.match_queue": Visit("clerk", ()),  # no pair waits in this world: nobody is named
    # pages
    "persons.list_persons": Visit("lawyer", (allowed(A.PERSON_SEARCHED, *BOTH),)),
    "persons.show_person": Visit("caseworker", (allowed(A.PERSON_VIEWED, "child"),)),
    "persons.new_person": Visit("clerk", ()),  # an empty form
    "persons.edit_person": Visit("clerk", (allowed(A.PERSON_VIEWED, "child"),)),  # the form filled in
    "persons.export_person": Visit("lawyer", CHILD_EXPORT),
    "documents.list_documents": Visit("lawyer", (allowed(A.DOCUMENT_VIEWED, *BOTH),)),  # titles, by person
    "documents.upload": Visit("lawyer", (allowed(A.PERSON_VIEWED, "child"),)),  # the form names the person
    "documents.show_document": Visit("lawyer", (allowed(A.DOCUMENT_VIEWED, "child"),)),
    "documents.content": Visit("caseworker", (allowed(A.DOCUMENT_CONTENT_READ, "child"),)),
    "documents.original": Visit("lawyer", (allowed(A.DOCUMENT_ORIGINAL_READ, "child"),)),
    "kinship.overview": Visit("lawyer", (allowed(A.RELATIONSHIP_VIEWED, *BOTH),)),
    "kinship.family": Visit("caseworker", (allowed(A.RELATIONSHIP_VIEWED, *BOTH),)),
    "kinship.relationship": Visit("lawyer", (allowed(A.RELATIONSHIP_VIEWED, *BOTH),)),
    "kinship.genomic_result": Visit("lawyer", (allowed(A.DOCUMENT_VIEWED, *BOTH),), document="genomic"),
    # the ruling, then the claims of each person it names (to choose the ones it establishes)
    "kinship.court_ruling": Visit(
        "lawyer",
        (
            allowed(A.DOCUMENT_VIEWED, *BOTH),
            allowed(A.RELATIONSHIP_VIEWED, *BOTH),
            allowed(A.RELATIONSHIP_VIEWED, *BOTH),
        ),
        document="ruling",
    ),
    "kinship.relationship_bundle": Visit("lawyer", CLAIM_BUNDLE),
    "kinship.person_bundle": Visit("lawyer", CHILD_BUNDLE),
    "restoration.work_list": Visit("clerk", (allowed(A.RESTORATION_VIEWED, *BOTH),)),
    "restoration.show": Visit("clerk", (allowed(A.RESTORATION_VIEWED, *BOTH),)),
    "restoration.new_request": Visit("clerk", ()),  # a form listing the clerks
    "cases.list_cases": Visit("caseworker", ()),  # references, titles and counts
    "cases.show_case": Visit("lawyer", (allowed(A.PERSON_SEARCHED, *BOTH),)),
    "cases.emergency_access": Visit("lawyer", ()),  # the break-glass form shows nothing of the person
    "audit.events": Visit("auditor", (allowed(A.AUDIT_READ),)),
    "audit.emergency": Visit("auditor", (allowed(A.AUDIT_READ, "mother"),)),  # the on-call lawyer's grant
    "audit.anomaly_list": Visit("auditor", (allowed(A.AUDIT_READ),)),
    "audit.user_activity": Visit("auditor", (allowed(A.AUDIT_READ),)),
    "audit.access_report": Visit("auditor", (allowed(A.ACCESS_REPORT_READ, "child"),)),
    "audit.find_report": Visit("auditor", ()),  # the form asking for a registry number
    "matching.review_queue": Visit("clerk", ()),  # no pair waits in this world: nobody is named
    # work pages: what waits for each role, read through the same services as the full lists
    "web.clerk_work": Visit("clerk", (allowed(A.RESTORATION_VIEWED, *BOTH), allowed(A.PERSON_SEARCHED, *BOTH))),
    "web.case_work": Visit("lawyer", (allowed(A.RELATIONSHIP_VIEWED, *BOTH),)),
    "web.audit_work": Visit("auditor", (allowed(A.AUDIT_READ), allowed(A.AUDIT_READ, "mother"))),  # anomalies, grants
    "web.admin_work": Visit("admin", ()),  # staff accounts and role proposals only
    "accounts.admin_users": Visit("admin", ()),  # staff accounts only
    "accounts.admin_nda": Visit("admin", ()),  # undertaking versions and who signed them
    # legal holds (the world's clerk holds the child) and the retention schedule
    "api.list_legal_holds": Visit("lawyer", (allowed(A.LEGAL_HOLDS_READ, "child"),)),
    "holds.list_holds": Visit("lawyer", (allowed(A.LEGAL_HOLDS_READ, "child"),)),
    "holds.retention": Visit("clerk", ()),  # document ids, kinds and dates past their period: nobody's data
    "api.retention_due": Visit("clerk", ()),
    "api.list_disposals": Visit("clerk", ()),
}

NOT_FOUND = 404


def hidden(*events: Seen, document: str = "birth_record") -> Visit:
    """The outsider is answered as if the record did not exist."""
    return Visit("outsider", events, NOT_FOUND, document)


def answered(*events: Seen) -> Visit:
    return Visit("outsider", events)


GATE_REFUSAL = Visit("outsider", (denied(A.ACCESS_DENIED),), 403)

# The same URLs as a lawyer of no case: not found (logged as the read attempted, naming the persons asked
# for), lists that name nobody, and the gate's refusal of routes a lawyer's role may not call.
OUTSIDE: dict[str, Visit] = {
    "api.get_person": hidden(denied(A.PERSON_VIEWED, "child")),
    "api.get_document": hidden(denied(A.DOCUMENT_VIEWED, "child")),
    "api.document_content": hidden(denied(A.DOCUMENT_CONTENT_READ, "child")),
    "api.document_original": hidden(denied(A.DOCUMENT_ORIGINAL_READ, "child")),
    "api.get_genomic_result": hidden(denied(A.DOCUMENT_VIEWED, *BOTH), document="genomic"),
    "api.get_court_ruling": hidden(denied(A.DOCUMENT_VIEWED, *BOTH), document="ruling"),
    # A claim is refused at its first hidden person, the child.
    "api.get_relationship": hidden(denied(A.RELATIONSHIP_VIEWED, "child")),
    "api.person_relationships": hidden(denied(A.RELATIONSHIP_VIEWED, "child")),
    "api.relationship_bundle": hidden(denied(A.BUNDLE_EXPORTED, "child")),
    "api.person_bundle": hidden(denied(A.BUNDLE_EXPORTED, "child")),
    "api.person_export": hidden(denied(A.PERSON_EXPORTED, "child")),
    "api.get_restoration": hidden(denied(A.RESTORATION_VIEWED, "child")),
    "api.person_matches": hidden(denied(A.PERSON_SEARCHED, "child")),
    "persons.show_person": hidden(denied(A.PERSON_VIEWED, "child")),
    "persons.export_person": hidden(denied(A.PERSON_EXPORTED, "child")),
    "documents.upload": hidden(denied(A.PERSON_VIEWED, "child")),
    "documents.show_document": hidden(denied(A.DOCUMENT_VIEWED, "child")),
    "documents.content": hidden(denied(A.DOCUMENT_CONTENT_READ, "child")),
    "documents.original": hidden(denied(A.DOCUMENT_ORIGINAL_READ, "child")),
    "kinship.family": hidden(denied(A.RELATIONSHIP_VIEWED, "child")),
    "kinship.relationship": hidden(denied(A.RELATIONSHIP_VIEWED, "child")),
    "kinship.genomic_result": hidden(denied(A.DOCUMENT_VIEWED, *BOTH), document="genomic"),
    "kinship.court_ruling": hidden(denied(A.DOCUMENT_VIEWED, *BOTH), document="ruling"),
    "kinship.relationship_bundle": hidden(denied(A.BUNDLE_EXPORTED, "child")),
    "kinship.person_bundle": hidden(denied(A.BUNDLE_EXPORTED, "child")),
    "restoration.show": hidden(denied(A.RESTORATION_VIEWED, "child")),
    "cases.show_case": hidden(denied(A.ACCESS_DENIED)),  # the case, not its persons, was asked for
    # Break glass is for callers outside the case: the form answers them and reads nothing.
    "cases.emergency_access": answered(),
    # Lists answer with nobody in them, and their event names nobody.
    "api.list_persons": answered(allowed(A.PERSON_SEARCHED)),
    "api.kinship_lists": answered(allowed(A.RELATIONSHIP_VIEWED)),
    "api.list_restorations": answered(allowed(A.RESTORATION_VIEWED)),
    "api.list_cases": answered(),
    "persons.list_persons": answered(allowed(A.PERSON_SEARCHED)),
    "kinship.overview": answered(allowed(A.RELATIONSHIP_VIEWED)),
    "restoration.work_list": answered(allowed(A.RESTORATION_VIEWED)),
    "documents.list_documents": answered(allowed(A.DOCUMENT_VIEWED)),
    "cases.list_cases": answered(),
    "web.case_work": answered(allowed(A.RELATIONSHIP_VIEWED)),
    # the hold on the child is not listed to a lawyer outside the case, and the read names nobody
    "api.list_legal_holds": answered(allowed(A.LEGAL_HOLDS_READ)),
    "holds.list_holds": answered(allowed(A.LEGAL_HOLDS_READ)),
    "api.person_access_report": GATE_REFUSAL,
    "audit.access_report": GATE_REFUSAL,
    "audit.user_activity": GATE_REFUSAL,
    "persons.edit_person": GATE_REFUSAL,  # clerks change records
}


class InsideMismatch(AssertionError):
    """The caller inside the case was answered or logged otherwise than EXPECTED says."""


class OutsideMismatch(AssertionError):
    """The outsider was answered or logged otherwise than OUTSIDE says."""


# Known wrong logging: endpoint -> (the half that is wrong, where). Only that half may fail.
GAPS: dict[str, tuple[type[AssertionError], str]] = {}
# URL parameters that scope a route to persons: the outsider must be refused on every route that has one.
BOUNDARY = {"person_id", "document_id", "relationship_id", "request_id", "case_id"}


def walked() -> list:
    return [
        pytest.param(e, marks=pytest.mark.xfail(strict=True, raises=GAPS[e][0], reason=GAPS[e][1])) if e in GAPS else e
        for e in sorted(EXPECTED)
    ]


@pytest.fixture
def world(app, staff, api, make_person, make_copies) -> World:
    built = build_world(app, staff, api, make_person)
    make_copies()
    return built


def check(world: World, runtime, endpoint: str, expected: Visit, mismatch: type[AssertionError]) -> None:
    """One GET as ``expected.who``: its status, and the events that request alone wrote, all by the caller."""
    url = world.url(endpoint, expected.document)
    call = world.caller(expected.who, url)
    before = last_seq(runtime)
    response = call()
    events = events_after(runtime, before)
    seen = [world.seen(e) for e in events]
    if response.status_code != expected.status:
        raise mismatch(f"{expected.who} GET {url} answered {response.status_code}, not {expected.status}")
    if Counter(seen) != Counter(expected.events):
        raise mismatch(f"{expected.who} GET {url} wrote {seen}, not {list(expected.events)}")
    if {e.actor_id for e in events} - {world.staff[expected.who].id}:
        raise mismatch(f"{expected.who} GET {url} wrote events in someone else's name")


# ---------------------------------------------------------------- the tables follow the URL map


def test_every_personal_data_read_is_in_the_table(app):
    reads = set(guarded_reads(app))
    assert reads - set(EXPECTED) == set(), "personal-data GET routes with no expected events"
    assert set(EXPECTED) - reads == set(), "expected events for routes that no longer exist"


def test_the_reads_left_out_need_no_permission(app):
    assert unguarded_reads(app) == NOT_PERSONAL


def test_every_route_scoped_to_persons_or_open_to_a_lawyer_is_also_called_from_outside(app):
    lawyer = ROLE_PERMISSIONS[Role.LAWYER]
    reads = guarded_reads(app)
    scoped = {e for e in reads if url_parameters(app, e)}
    open_to_lawyer = {e for e, permission in reads.items() if permission in lawyer}
    assert set(OUTSIDE) == scoped | open_to_lawyer
    refused = {e for e, v in OUTSIDE.items() if v.status != 200}
    assert {e for e in reads if url_parameters(app, e) & BOUNDARY} - refused == {"cases.emergency_access"}


def test_each_caller_holds_the_routes_permission_and_the_outsider_calls_the_same_url(app):
    reads = guarded_reads(app)
    for endpoint, expected in EXPECTED.items():
        roles = EMPLOYEES[expected.who]
        assert any(reads.get(endpoint) in ROLE_PERMISSIONS[Role(r)] for r in roles), (endpoint, expected.who)
    for endpoint, outside in OUTSIDE.items():
        assert endpoint in EXPECTED and outside.document == EXPECTED[endpoint].document, endpoint  # same URL


# ---------------------------------------------------------------- the walk


@pytest.mark.parametrize("endpoint", walked())
def test_a_read_writes_its_events_inside_the_case_and_outside_it(world, runtime, endpoint):
    check(world, runtime, endpoint, EXPECTED[endpoint], InsideMismatch)
    if endpoint in OUTSIDE:
        check(world, runtime, endpoint, OUTSIDE[endpoint], OutsideMismatch)
