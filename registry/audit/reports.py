"""Reading the log: filtered event lists, a person's access report, exports.

Reading the log is itself logged: an auditor's look is an access too.
"""
from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from registry.audit.events import Action
from registry.audit.models import AuditEvent, AuditEventPerson
from registry.audit.service import AuditSubject, record


@dataclass(frozen=True)
class EventFilter:
    actor: str = ""
    person_id: str = ""
    action: str = ""
    outcome: str = ""
    since: datetime | None = None
    until: datetime | None = None


def find_events(db: Session, who: AuditSubject, flt: EventFilter, *, page: int = 1,
                per_page: int = 50) -> tuple[list[AuditEvent], int]:
    query = sa.select(AuditEvent)
    if flt.actor:
        query = query.where(AuditEvent.actor_name == flt.actor)
    if flt.person_id:
        query = query.join(AuditEventPerson, AuditEventPerson.seq == AuditEvent.seq).where(
            AuditEventPerson.person_id == flt.person_id)
    if flt.action:
        query = query.where(AuditEvent.action == flt.action)
    if flt.outcome:
        query = query.where(AuditEvent.outcome == flt.outcome)
    if flt.since:
        query = query.where(AuditEvent.at >= flt.since)
    if flt.until:
        query = query.where(AuditEvent.at < flt.until)
    total = db.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0
    events = list(db.scalars(query.order_by(AuditEvent.seq.desc()).offset((page - 1) * per_page).limit(per_page)))
    record(db, who, Action.AUDIT_READ, target_type="audit", person_ids=[flt.person_id] if flt.person_id else [],
           details={k: str(v) for k, v in flt.__dict__.items() if v})
    return events, total


def access_report(db: Session, who: AuditSubject, person_id: str, *, export: str = "") -> list[AuditEvent]:
    """Who saw or changed this person's data, when, how and why."""
    events = list(db.scalars(
        sa.select(AuditEvent).join(AuditEventPerson, AuditEventPerson.seq == AuditEvent.seq)
        .where(AuditEventPerson.person_id == person_id).order_by(AuditEvent.seq)))
    record(db, who, Action.ACCESS_REPORT_EXPORTED if export else Action.ACCESS_REPORT_READ, target_type="person",
           target_id=person_id, person_ids=[person_id], details={"format": export or "page"})
    return events


def event_json(event: AuditEvent) -> dict[str, Any]:
    return {"seq": event.seq, "at": event.at.isoformat(), "actor_id": event.actor_id, "actor": event.actor_name,
            "action": event.action, "outcome": event.outcome, "target_type": event.target_type,
            "target_id": event.target_id, "person_ids": json.loads(event.person_ids), "ip": event.ip,
            "user_agent": event.user_agent, "request_id": event.request_id, "reason": event.reason,
            "details": json.loads(event.details), "hash": event.hash}


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text  # no formula runs in a spreadsheet


def events_csv(events: list[AuditEvent]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["seq", "at", "actor", "action", "outcome", "target_type", "target_id", "ip", "reason"])
    for e in events:
        writer.writerow([_cell(v) for v in (e.seq, e.at.isoformat(), e.actor_name, e.action, e.outcome,
                                            e.target_type, e.target_id, e.ip, e.reason)])
    return out.getvalue()
