"""JSON routes for the access log."""

from __future__ import annotations

from registry.accounts.permissions import Permission
from registry.api.blueprint import api
from registry.api.schema import operation
from registry.api.util import page_args
from registry.audit import reports
from registry.audit.schemas import AccessReport, EventOut, EventPage
from registry.audit.views import event_query
from registry.runtime import db
from registry.web.policy import current_actor, requires


@api.get("/audit/events")
@requires(Permission.AUDIT_READ)
@operation(reply=EventPage)
def audit_events() -> EventPage:
    """Events, newest first; filters: actor, actor_id, person_id (an id or a registry number), action, outcome,
    since, until (ISO; a date alone means the whole day); order ``sort`` (at, actor, action; ``-`` first for
    descending)."""
    page, per_page = page_args(default_size=50, max_size=500)
    chosen, wanted = event_query(page=page, per_page=per_page)
    found = reports.find_events(db(), current_actor(), chosen, wanted)
    return EventPage(
        events=[EventOut.of(e) for e in found.items],
        total=found.total,
        page=found.page,
        per_page=found.per_page,
        pages=found.pages,
    )


@api.get("/persons/<person_id>/access-report")
@requires(Permission.ACCESS_REPORT)
@operation(reply=AccessReport)
def person_access_report(person_id: str) -> AccessReport:
    """Who saw or changed this person's data, when, how and why."""
    found = reports.access_report(db(), current_actor(), person_id)
    return AccessReport(person_id=person_id, events=[EventOut.of(e) for e in found])
