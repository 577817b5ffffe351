"""What an auditor reads: a person's access report (page, API, CSV, PDF), filters, emergency accesses,
a user's recent activity and the anomalies highlighted for them."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, time, timedelta

import pypdfium2 as pdfium
import pytest
import sqlalchemy as sa

from registry.audit import anomalies, service
from registry.audit.anomalies import LOCAL_TIME_ZONE, local_time, outside_working_hours
from registry.audit.events import Action
from registry.audit.models import AuditEvent
from registry.audit.service import record
from registry.audit.verify import verify_chain
from registry.db import utcnow
from tests.audit.support import Clerk
from tests.web.browser import signed_in

REASON = '=HYPERLINK("http://evil.example") срочно: суд завтра утром'


@pytest.fixture
def scene(staff, make_person, api):
    """A clerk registers and views a person; a lawyer outside the person's cases breaks the glass."""
    clerk, lawyer, auditor = staff("clerk"), staff("lawyer"), staff("auditor")
    person = make_person(clerk)
    assert api(clerk).get(f"/persons/{person['id']}").status_code == 200
    assert api(lawyer).post(f"/persons/{person['id']}/emergency-access", json={"reason": REASON}).status_code == 201
    assert api(lawyer).get(f"/persons/{person['id']}").status_code == 200
    return {"clerk": clerk, "lawyer": lawyer, "auditor": auditor, "person": person}


def last_event(runtime) -> AuditEvent:
    with runtime.sessions() as db:
        return db.scalar(sa.select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1))


def test_the_access_report_api_says_who_saw_the_person_when_and_why(scene, api, runtime):
    person_id = scene["person"]["id"]
    response = api(scene["auditor"]).get(f"/persons/{person_id}/access-report")
    assert response.status_code == 200
    seen = [(e["actor"], e["action"], e["reason"]) for e in response.get_json()["events"]]
    assert seen == [
        (scene["clerk"].username, "person.created", ""),
        (scene["clerk"].username, "person.viewed", ""),
        (scene["lawyer"].username, "access.emergency", REASON),
        (scene["lawyer"].username, "person.viewed", REASON),
    ]
    read = last_event(runtime)
    assert (read.action, read.actor_name, read.target_id) == (
        "audit.access_report",
        scene["auditor"].username,
        person_id,
    )


def test_the_access_report_page_and_its_csv_export(scene, app, runtime):
    browser = signed_in(app, scene["auditor"].username)
    person_id = scene["person"]["id"]
    page = browser.get(f"/audit/persons/{person_id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert scene["lawyer"].username in html and "срочно: суд завтра утром" in html

    number = scene["person"]["registry_number"]
    export = browser.get(f"/audit/persons/{person_id}?format=csv")
    assert export.status_code == 200 and export.mimetype == "text/csv"
    assert export.headers["Content-Disposition"] == f"attachment; filename=access-report-{number}.csv"
    rows = list(csv.DictReader(io.StringIO(export.get_data(as_text=True))))
    assert [(r["Action"], r["Outcome"]) for r in rows] == [
        ("registered a person", "allowed"),
        ("viewed a person's record", "allowed"),
        ("emergency access", "allowed"),
        ("viewed a person's record", "allowed"),
        ("read an access report", "allowed"),
    ]  # the auditor's look too
    assert [r["Action code"] for r in rows] == [
        "person.created",
        "person.viewed",
        "access.emergency",
        "person.viewed",
        "audit.access_report",
    ]  # still there to filter by
    assert rows[0]["Target"] == f"person {number}" and rows[0]["Target id"] == person_id
    assert rows[3]["Reason"] == "'" + REASON  # a spreadsheet shows the text, it does not run a formula
    exported = last_event(runtime)
    assert (exported.action, exported.details) == ("audit.access_report_exported", '{"format":"csv"}')


def test_the_access_report_pdf_is_searchable_text_over_several_pages_and_its_export_is_logged(
    scene, app, runtime, write_events
):
    person_id = scene["person"]["id"]
    write_events(90, Clerk(username="reader7"), person_id=person_id)
    export = signed_in(app, scene["auditor"].username).get(f"/audit/persons/{person_id}?format=pdf")
    assert export.status_code == 200 and export.mimetype == "application/pdf"
    number = scene["person"]["registry_number"]
    assert export.headers["Content-Disposition"].endswith(f"access-report-{number}.pdf")
    document = pdfium.PdfDocument(export.get_data())
    pages = [document[i].get_textpage().get_text_range() for i in range(len(document))]
    assert len(pages) >= 2 and pages[0].count("1 / ") == 1 and f"{len(pages)} / {len(pages)}" in pages[-1]
    text = " ".join(" ".join(p.split()) for p in pages)
    assert f"Access report for {number} (person id {person_id})" in text
    assert scene["lawyer"].username in text and "срочно: суд завтра утром" in text
    assert text.count("reader7") == 90 and "94 events" in text
    exported = last_event(runtime)
    assert (exported.action, exported.details, exported.person_ids) == (
        "audit.access_report_exported",
        '{"format":"pdf"}',
        f'["{person_id}"]',
    )


def test_the_event_list_filters_by_actor_person_action_outcome_and_days(scene, api, staff):
    outsider = staff("caseworker")
    assert api(outsider).get(f"/persons/{scene['person']['id']}").status_code == 404  # a denied look
    auditor = api(scene["auditor"])

    def found(**filters) -> list[tuple[str, str]]:
        query = "&".join(f"{k}={v}" for k, v in filters.items())
        response = auditor.get(f"/audit/events?{query}&per_page=500")
        assert response.status_code == 200
        return [(e["actor"], e["action"]) for e in response.get_json()["events"]]

    lawyer, person_id = scene["lawyer"].username, scene["person"]["id"]
    assert set(found(actor=lawyer)) >= {(lawyer, "access.emergency"), (lawyer, "person.viewed")}
    assert {a for a, _ in found(actor=lawyer)} == {lawyer}
    assert found(person_id=person_id, action="person.viewed", outcome="allowed") == [
        (lawyer, "person.viewed"),
        (scene["clerk"].username, "person.viewed"),
    ]
    assert found(outcome="denied", person_id=person_id) == [(outsider.username, "person.viewed")]
    today = utcnow().date()
    assert (lawyer, "access.emergency") in found(since=today.isoformat(), until=today.isoformat())  # whole day
    assert found(since=(today + timedelta(days=1)).isoformat(), actor=lawyer) == []
    assert found(until=(today - timedelta(days=1)).isoformat(), actor=lawyer) == []


def test_the_emergency_access_list_shows_the_reason_and_its_reading_is_logged(scene, app, runtime):
    page = signed_in(app, scene["auditor"].username).get("/audit/emergency")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert scene["lawyer"].username in html and "срочно: суд завтра утром" in html
    read = last_event(runtime)
    assert (read.action, read.target_type, read.person_ids) == (
        "audit.read",
        "emergency_access",
        f'["{scene["person"]["id"]}"]',
    )


# ---------------------------------------------------------------- planted history


@pytest.fixture
def plant(runtime, monkeypatch):
    """Write events as if they had happened at given local times (the log's clock is set back)."""

    def write(who: Clerk, when: datetime, persons: list[str], action: Action = Action.PERSON_SEARCHED) -> None:
        monkeypatch.setattr(service, "utcnow", lambda: when.astimezone(LOCAL_TIME_ZONE))
        with runtime.sessions() as db:
            record(db, who, action, target_type="person", person_ids=persons)
            db.commit()
        monkeypatch.setattr(service, "utcnow", utcnow)

    return write


def at_local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), LOCAL_TIME_ZONE)


STEADY = Clerk(username="steady", user_id="u-steady")
BUSY = Clerk(username="busy", user_id="u-busy")
NEWCOMER = Clerk(username="newcomer", user_id="u-newcomer")
QUIET = Clerk(username="quiet", user_id="u-quiet")


@pytest.fixture
def history(plant) -> date:
    """Four users' reads over five weeks up to today (local): returns today."""
    today = local_time(utcnow()).date()
    for back in (9, 10, 12, 15, 20):  # the weeks before: each user's usual
        day = today - timedelta(days=back)
        plant(STEADY, at_local(day, 10), [f"s{day}-{i}" for i in range(5)])
        plant(BUSY, at_local(day, 11), [f"b{day}-{i}" for i in range(12)])
    plant(STEADY, at_local(today, 9), [f"today-{i}" for i in range(25)])
    plant(STEADY, at_local(today, 9, 30), [f"today-{i}" for i in range(15, 40)])  # 40 different persons in all
    plant(BUSY, at_local(today, 9), [f"busy-{i}" for i in range(30)])  # 30: below 3 x 12
    plant(NEWCOMER, at_local(today, 9), [f"new-{i}" for i in range(25)])  # no usual yet: above the floor of 20
    plant(QUIET, at_local(today, 9), [f"quiet-{i}" for i in range(15)])
    plant(STEADY, at_local(today - timedelta(days=1), 2, 30), ["night-1"], Action.PERSON_VIEWED)
    plant(BUSY, at_local(today - timedelta(days=1), 20, 0), ["late-1"], Action.PERSON_VIEWED)
    plant(BUSY, at_local(today - timedelta(days=1), 19, 59), ["evening-1"], Action.PERSON_VIEWED)
    return today


def test_a_user_reading_far_more_persons_than_usual_is_flagged(history, db):
    flagged = {(d.actor_name, d.persons, d.usual) for d in anomalies.unusual_volume(db, today=history)}
    assert flagged == {("steady", 40, 5), ("newcomer", 25, None)}
    busy_today = [d for d in anomalies.reading_days(db, today=history, actor_id="u-busy") if d.day == history]
    assert [(d.persons, d.usual, d.threshold, d.unusual) for d in busy_today] == [(30, 12, 36, False)]


@pytest.mark.parametrize(
    ("hour", "minute", "outside"), [(7, 59, True), (8, 0, False), (19, 59, False), (20, 0, True), (2, 30, True)]
)
def test_working_hours_are_local_and_end_at_eight_in_the_evening(hour, minute, outside):
    assert outside_working_hours(at_local(date(2025, 3, 12), hour, minute)) is outside


def test_the_anomalies_page_highlights_both_patterns(history, staff, app, runtime):
    auditor = staff("auditor")
    page = signed_in(app, auditor.username).get("/audit/anomalies")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    unusual = html[html.index("Far more persons read than usual") : html.index("Reads outside working hours")]
    assert "steady" in unusual and "<mark>40</mark>" in unusual and "newcomer" in unusual
    assert "busy" not in unusual and "quiet" not in unusual
    late = html[html.index("Reads outside working hours") :]
    assert late.count("after-hours") == 2 and "02:30 local" in late and "20:00 local" in late
    assert "19:59" not in late
    read = last_event(runtime)
    assert (read.action, read.target_type, read.actor_name) == ("audit.read", "anomalies", auditor.username)
    assert verify_chain(runtime.engine, []).ok  # planted history is still one valid chain


def test_a_users_recent_activity_page_shows_their_days_and_marks_late_reads(history, staff, app, runtime):
    auditor = staff("auditor")
    page = signed_in(app, auditor.username).get("/audit/users/u-steady")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "steady" in html and "far more than usual" in html and "busy" not in html
    assert html.count("after-hours") == 1 and "02:30 local" in html
    read = last_event(runtime)
    assert (read.action, read.target_type, read.target_id) == ("audit.read", "user", "u-steady")


def test_a_huge_page_number_shows_an_empty_page(scene, api, app):
    huge = "page=99999999999999999999"
    page = signed_in(app, scene["auditor"].username).get(f"/audit?{huge}")
    assert page.status_code == 200 and "No events." in page.get_data(as_text=True)
    listed = api(scene["auditor"]).get(f"/audit/events?{huge}")
    assert listed.status_code == 200 and listed.get_json()["events"] == []
