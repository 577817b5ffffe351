"""Auditor pages: the event list with filters, emergency accesses, a person's access report."""
from __future__ import annotations

from datetime import datetime, timezone

from flask import Blueprint, Response, request

from registry.accounts.permissions import Permission
from registry.audit import reports
from registry.cases import service as cases
from registry.runtime import db
from registry.web.forms import render_form
from registry.web.policy import current_actor, requires

bp = Blueprint("audit", __name__, template_folder="templates")


def _day(value: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(value).replace(tzinfo=timezone.utc) if value else None
    except ValueError:
        return None


def event_filter() -> reports.EventFilter:
    args = request.args
    return reports.EventFilter(actor=args.get("actor", "")[:64], person_id=args.get("person_id", "")[:36],
                               action=args.get("action", "")[:64], outcome=args.get("outcome", "")[:16],
                               since=_day(args.get("since")), until=_day(args.get("until")))


@bp.get("/audit")
@requires(Permission.AUDIT_READ)
def events():
    page = max(1, request.args.get("page", 1, type=int) or 1)
    found, total = reports.find_events(db(), current_actor(), event_filter(), page=page)
    return render_form("audit/events.html", events=found, total=total, page=page, values=request.args)


@bp.get("/audit/emergency")
@requires(Permission.AUDIT_READ)
def emergency():
    return render_form("audit/emergency.html", grants=cases.list_emergency_access(db()))


@bp.get("/audit/persons/<person_id>")
@requires(Permission.ACCESS_REPORT)
def access_report(person_id: str):
    export = request.args.get("format", "")
    found = reports.access_report(db(), current_actor(), person_id, export="csv" if export == "csv" else "")
    if export == "csv":
        return Response(reports.events_csv(found), mimetype="text/csv",
                        headers={"Content-Disposition": f"attachment; filename=access-report-{person_id}.csv"})
    return render_form("audit/report.html", events=found, person_id=person_id)
