"""Auditor pages: the event list with filters, emergency accesses, a person's access report
(page, CSV, PDF), a user's recent activity and the anomalies to look at first; and, for all staff,
the registry's public audit signing key that courts pin to verify evidence bundles."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from flask import Blueprint, Response, redirect, request, url_for
from flask.typing import ResponseReturnValue

from registry.accounts import service as accounts
from registry.accounts.permissions import Permission
from registry.audit import anomalies, reports
from registry.audit.checkpoints import published_key
from registry.audit.events import Action, Outcome
from registry.audit.models import AuditEvent
from registry.audit.service import record
from registry.cases import service as cases
from registry.errors import ValidationFailed, validation
from registry.i18n import _
from registry.persons import service as persons
from registry.runtime import current_runtime, db
from registry.web import listing
from registry.web.forms import render_form
from registry.web.labels import label
from registry.web.policy import current_actor, requires, signed_in

bp = Blueprint("audit", __name__, template_folder="templates")
EXPORTS = {"csv": "text/csv", "pdf": "application/pdf"}


@bp.context_processor
def _highlighting() -> dict:
    """Templates mark reads after working hours wherever events are listed."""
    return {
        "after_hours": anomalies.is_after_hours_read,
        "local_time": anomalies.local_time,
        "working_hours": anomalies.WORKING_HOURS,
    }


def _moment(value: str, field_name: str, *, end: bool = False) -> datetime | None:
    """A date (whole day; ``end`` includes it) or a date and time, in UTC; anything else is refused."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise validation(**{field_name: str(_("Give a date as YYYY-MM-DD."))}) from None
    if end and len(value) == 10:
        try:
            moment += timedelta(days=1)
        except OverflowError:  # 9999-12-31: no later bound exists
            return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def person_id_of(typed: str, field_name: str) -> str:
    """The person an auditor means: by registry number (what they are given) or by id (what the log stores).

    Auditors may read any person's access report, so an unknown number is simply said to be unknown.
    """
    number = persons.as_registry_number(typed)
    if number is None:
        return typed.strip()[:36]
    try:
        return persons.person_by_number(db(), number).id
    except ValidationFailed:
        raise validation(**{field_name: str(_("No person has this registry number."))}) from None


def event_query(
    *, page: int | None = None, per_page: int | None = None
) -> tuple[reports.EventFilter, listing.ListQuery]:
    """The filters, order and page of the event list and of its API; the person may be given by registry number."""
    wanted = listing.read(request.args, reports.EVENT_LIST, page=page, per_page=per_page)
    chosen = reports.EventFilter(
        actor=wanted.get("actor")[:64],
        actor_id=wanted.get("actor_id")[:36],
        person_id=person_id_of(wanted.get("person_id"), "person_id"),
        action=wanted.get("action"),
        outcome=wanted.get("outcome"),
        since=_moment(wanted.get("since"), "since"),
        until=_moment(wanted.get("until"), "until", end=True),
    )
    return chosen, wanted


@dataclass
class References:
    """What the persons and staff accounts an event list names are called, so that each can be a link:
    persons by registry number (to their access report), accounts by user name (to their activity)."""

    numbers: dict[str, str] = field(default_factory=dict)
    usernames: dict[str, str] = field(default_factory=dict)
    named: dict[int, list[str]] = field(default_factory=dict)  # event seq -> the persons it names


def references(events: Iterable[AuditEvent], person_ids: Iterable[str] = ()) -> References:
    listed = list(events)
    named = {e.seq: json.loads(e.person_ids) for e in listed}
    people = {p for ids in named.values() for p in ids} | set(person_ids)
    people |= {e.target_id for e in listed if e.target_type == "person"}
    users = {e.target_id for e in listed if e.target_type == "user"}
    usernames = {u.id: u.username for u in accounts.list_users(db()) if u.id in users} if users else {}
    return References(persons.registry_numbers(db(), people), usernames, named)


SORTS = (("-at", _("Newest first")), ("at", _("Oldest first")), ("actor", _("Staff member")), ("action", _("Action")))


def _events_page(
    found: listing.ListPage[AuditEvent] | None, error: ValidationFailed | None = None
) -> ResponseReturnValue:
    actions = sorted(((code.value, label(code, "action")) for code in Action), key=lambda choice: choice[1])
    outcomes = [(code.value, label(code, "outcome")) for code in Outcome]
    events = found.items if found else []
    return render_form(
        "audit/events.html",
        error,
        result=found,
        events=events,
        values=request.args,
        refs=references(events),
        actions=actions,
        outcomes=outcomes,
        sorts=SORTS,
        sort_default=reports.EVENT_LIST.default_sort,
    )


@bp.get("/audit")
@requires(Permission.AUDIT_READ)
def events() -> ResponseReturnValue:
    try:
        chosen, wanted = event_query()
    except ValidationFailed as error:
        return _events_page(None, error)
    return _events_page(reports.find_events(db(), current_actor(), chosen, wanted))


@bp.get("/audit/emergency")
@requires(Permission.AUDIT_READ)
def emergency() -> ResponseReturnValue:
    grants = cases.list_emergency_access(db())
    record(
        db(),
        current_actor(),
        Action.AUDIT_READ,
        target_type="emergency_access",
        person_ids=[grant.person_id for grant, _user in grants],
    )
    return render_form(
        "audit/emergency.html", grants=grants, refs=references((), [grant.person_id for grant, _user in grants])
    )


@bp.get("/audit/anomalies")
@requires(Permission.AUDIT_READ)
def anomaly_list() -> ResponseReturnValue:
    found = reports.find_anomalies(db(), current_actor())
    return render_form(
        "audit/anomalies.html",
        found=found,
        factor=anomalies.VOLUME_FACTOR,
        floor=anomalies.VOLUME_FLOOR,
        refs=references(found.after_hours),
    )


@bp.get("/audit/users/<user_id>")
@requires(Permission.AUDIT_READ)
def user_activity(user_id: str) -> ResponseReturnValue:
    activity = reports.user_activity(db(), current_actor(), user_id[:36])
    return render_form("audit/activity.html", activity=activity, refs=references(activity.events))


@bp.get("/audit/persons")
@requires(Permission.ACCESS_REPORT)
def find_report() -> ResponseReturnValue:
    """A person's access report by registry number: the form, or the report itself once a person is named."""
    typed = request.args.get("person", "")
    if not typed.strip():
        return render_form("audit/find_report.html", values=request.args)
    try:
        person_id = person_id_of(typed, "person")
    except ValidationFailed as error:
        return render_form("audit/find_report.html", error, values=request.args)
    return redirect(url_for("audit.access_report", person_id=person_id))


@bp.get("/audit/persons/<person_id>")
@requires(Permission.ACCESS_REPORT)
def access_report(person_id: str) -> ResponseReturnValue:
    export = request.args.get("format", "")
    export = export if export in EXPORTS else ""
    found = reports.access_report(db(), current_actor(), person_id, export=export)
    if not export:
        return render_form("audit/report.html", events=found, person_id=person_id, refs=references(found, [person_id]))
    numbers = persons.registry_numbers(db(), [person_id])  # the others an event names stay out of the export
    body = (
        reports.events_csv(found, label, numbers)
        if export == "csv"
        else reports.access_report_pdf(person_id, found, current_actor(), label, numbers)
    )
    filename = f"access-report-{re.sub(r'[^A-Za-z0-9-]', '_', numbers.get(person_id, person_id))[:40]}.{export}"
    return Response(body, mimetype=EXPORTS[export], headers={"Content-Disposition": f"attachment; filename={filename}"})


@bp.get("/audit/signing-key")
@signed_in
def signing_key() -> ResponseReturnValue:
    """The public key and its fingerprint, to hand to a court (``?format=pem`` downloads the key): no personal data."""
    key = published_key(current_runtime().audit_key.public_key())
    if request.args.get("format") == "pem":
        return Response(
            key.pem,
            mimetype="application/x-pem-file",
            headers={"Content-Disposition": "attachment; filename=registry-audit-key.pem"},
        )
    return render_form("audit/signing_key.html", key=key)
