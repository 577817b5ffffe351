"""JSON routes for the access log."""

from __future__ import annotations

from flask import jsonify

from registry.accounts.permissions import Permission
from registry.api.blueprint import api
from registry.api.util import page_args
from registry.audit import reports
from registry.audit.views import event_query
from registry.runtime import db
from registry.web.policy import current_actor, requires


@api.get("/audit/events")
@requires(Permission.AUDIT_READ)
def audit_events():
    """Events, newest first; filters: actor, actor_id, person_id (an id or a registry number), action, outcome,
    since, until (ISO; a date alone means the whole day); order ``sort`` (at, actor, action; ``-`` first for
    descending)."""
    page, per_page = page_args(default_size=50, max_size=500)
    chosen, wanted = event_query(page=page, per_page=per_page)
    found = reports.find_events(db(), current_actor(), chosen, wanted)
    return jsonify(
        events=[reports.event_json(e) for e in found.items],
        total=found.total,
        page=found.page,
        per_page=found.per_page,
        pages=found.pages,
    )


@api.get("/persons/<person_id>/access-report")
@requires(Permission.ACCESS_REPORT)
def person_access_report(person_id: str):
    """Who saw or changed this person's data, when, how and why."""
    found = reports.access_report(db(), current_actor(), person_id)
    return jsonify(person_id=person_id, events=[reports.event_json(e) for e in found])
