"""Auditor pages: the event list with filters, emergency accesses, a person's access report
(page, CSV, PDF), a user's recent activity and the anomalies to look at first; and, for all staff,
the registry's public audit signing key that courts pin to verify evidence bundles."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from flask import Blueprint, Response, request, url_for

from registry.accounts.permissions import Permission
from registry.api.util import page_number
from registry.audit import anomalies, reports
from registry.audit.checkpoints import published_key
from registry.audit.events import Action
from registry.audit.service import record
from registry.cases import service as cases
from registry.runtime import current_runtime, db
from registry.web.forms import render_form
from registry.web.policy import current_actor, requires, signed_in

bp = Blueprint("audit", __name__, template_folder="templates")
EXPORTS = {"csv": "text/csv", "pdf": "application/pdf"}
PER_PAGE = 50


@bp.context_processor
def _highlighting() -> dict:
    """Templates mark reads after working hours wherever events are listed."""
    return {"after_hours": anomalies.is_after_hours_read, "local_time": anomalies.local_time,
            "working_hours": anomalies.WORKING_HOURS}


def _moment(value: str | None, *, end: bool = False) -> datetime | None:
    """A date (whole day; ``end`` includes it) or a date and time, in UTC; anything else is no bound."""
    try:
        moment = datetime.fromisoformat(value) if value else None
    except ValueError:
        return None
    if moment is None:
        return None
    if end and len(value or "") == 10:
        try:
            moment += timedelta(days=1)
        except OverflowError:  # 9999-12-31: no later bound exists
            return None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment


def event_filter() -> reports.EventFilter:
    args = request.args
    return reports.EventFilter(actor=args.get("actor", "")[:64], actor_id=args.get("actor_id", "")[:36],
                               person_id=args.get("person_id", "")[:36], action=args.get("action", "")[:64],
                               outcome=args.get("outcome", "")[:16], since=_moment(args.get("since")),
                               until=_moment(args.get("until"), end=True))


@bp.get("/audit")
@requires(Permission.AUDIT_READ)
def events():
    page = page_number(request.args.get("page"))
    found, total = reports.find_events(db(), current_actor(), event_filter(), page=page, per_page=PER_PAGE)
    return render_form("audit/events.html", events=found, total=total, page=page, values=request.args,
                       newer=_page_url(page - 1) if page > 1 else None,
                       older=_page_url(page + 1) if page * PER_PAGE < total else None)


def _page_url(page: int) -> str:
    return url_for("audit.events", **{**request.args.to_dict(), "page": page})


@bp.get("/audit/emergency")
@requires(Permission.AUDIT_READ)
def emergency():
    grants = cases.list_emergency_access(db())
    record(db(), current_actor(), Action.AUDIT_READ, target_type="emergency_access",
           person_ids=[grant.person_id for grant, _user in grants])
    return render_form("audit/emergency.html", grants=grants)


@bp.get("/audit/anomalies")
@requires(Permission.AUDIT_READ)
def anomaly_list():
    found = reports.find_anomalies(db(), current_actor())
    return render_form("audit/anomalies.html", found=found, factor=anomalies.VOLUME_FACTOR,
                       floor=anomalies.VOLUME_FLOOR)


@bp.get("/audit/users/<user_id>")
@requires(Permission.AUDIT_READ)
def user_activity(user_id: str):
    activity = reports.user_activity(db(), current_actor(), user_id[:36])
    return render_form("audit/activity.html", activity=activity)


@bp.get("/audit/persons/<person_id>")
@requires(Permission.ACCESS_REPORT)
def access_report(person_id: str):
    export = request.args.get("format", "")
    export = export if export in EXPORTS else ""
    found = reports.access_report(db(), current_actor(), person_id, export=export)
    if not export:
        return render_form("audit/report.html", events=found, person_id=person_id)
    body = (reports.events_csv(found) if export == "csv"
            else reports.access_report_pdf(person_id, found, current_actor()))
    filename = f"access-report-{re.sub(r'[^A-Za-z0-9-]', '_', person_id)[:40]}.{export}"
    return Response(body, mimetype=EXPORTS[export],
                    headers={"Content-Disposition": f"attachment; filename={filename}"})


@bp.get("/audit/signing-key")
@signed_in
def signing_key():
    """The public key and its fingerprint, to hand to a court (``?format=pem`` downloads the key): no personal data."""
    key = published_key(current_runtime().audit_key.public_key())
    if request.args.get("format") == "pem":
        return Response(key.pem, mimetype="application/x-pem-file",
                        headers={"Content-Disposition": "attachment; filename=registry-audit-key.pem"})
    return render_form("audit/signing_key.html", key=key)
