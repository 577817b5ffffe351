"""Reading the log: filtered event lists, a person's access report and its exports,
a user's recent activity and the anomalies an auditor should look at first.

Reading the log is itself logged: an auditor's look is an access too.
"""
from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from registry.audit import anomalies, pdf
from registry.audit.events import Action
from registry.audit.models import AuditEvent, AuditEventPerson
from registry.audit.service import AuditSubject, record
from registry.db import utcnow
from registry.errors import ServiceUnavailable
from registry.i18n import _


MAX_PAGE = 10_000_000  # deeper than any log; a larger number must not overflow the database's offset


@dataclass(frozen=True)
class EventFilter:
    actor: str = ""
    actor_id: str = ""
    person_id: str = ""
    action: str = ""
    outcome: str = ""
    since: datetime | None = None
    until: datetime | None = None


def find_events(db: Session, who: AuditSubject, flt: EventFilter, *, page: int = 1,
                per_page: int = 50) -> tuple[list[AuditEvent], int]:
    """One page of the events that match, newest first, and how many match in all."""
    page = min(max(page, 1), MAX_PAGE)
    query = sa.select(AuditEvent)
    if flt.actor:
        query = query.where(AuditEvent.actor_name == flt.actor)
    if flt.actor_id:
        query = query.where(AuditEvent.actor_id == flt.actor_id)
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


@dataclass(frozen=True)
class Anomalies:
    unusual_volume: list[anomalies.ReadingDay]
    after_hours: list[AuditEvent]
    probing: list[anomalies.Probing]


def find_anomalies(db: Session, who: AuditSubject, *, days: int = 7, now: datetime | None = None) -> Anomalies:
    """Users who read far more persons than usual, reads after hours, and users who named persons that do not
    exist (or that they may not see) to break glass or to add to a case, over the last ``days`` local days."""
    today = anomalies.local_time(now or utcnow()).date()
    since = anomalies.local_day_start(today - timedelta(days=days - 1))
    found = Anomalies(anomalies.unusual_volume(db, today=today, days=days),
                      anomalies.after_hours_reads(db, since=since), anomalies.probing(db, since=since))
    record(db, who, Action.AUDIT_READ, target_type="anomalies", details={"days": days})
    return found


@dataclass(frozen=True)
class Activity:
    user_id: str
    username: str
    events: list[AuditEvent]
    days: list[anomalies.ReadingDay]


def user_activity(db: Session, who: AuditSubject, user_id: str, *, days: int = 14, limit: int = 200,
                  now: datetime | None = None) -> Activity:
    """One staff member's newest events and persons read per day against their usual."""
    events = list(db.scalars(sa.select(AuditEvent).where(AuditEvent.actor_id == user_id)
                             .order_by(AuditEvent.seq.desc()).limit(limit)))
    today = anomalies.local_time(now or utcnow()).date()
    reading = anomalies.reading_days(db, today=today, days=days, actor_id=user_id)
    record(db, who, Action.AUDIT_READ, target_type="user", target_id=user_id, details={"days": days})
    return Activity(user_id, events[0].actor_name if events else "", events, reading)


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


def access_report_pdf(person_id: str, events: list[AuditEvent], who: AuditSubject) -> bytes:
    """The report as a printable, searchable PDF; the export itself was logged by ``access_report``."""
    columns = [pdf.Column("#", 40), pdf.Column(str(_("When (UTC)")), 92), pdf.Column(str(_("Who")), 74),
               pdf.Column(str(_("Action")), 112), pdf.Column(str(_("Outcome")), 46),
               pdf.Column(str(_("Target")), 150), pdf.Column(str(_("Address")), 70),
               pdf.Column(str(_("Reason")), 186)]
    rows = [[str(e.seq), e.at.strftime("%Y-%m-%d %H:%M:%S"), e.actor_name, e.action, e.outcome,
             f"{e.target_type} {e.target_id}".strip(), e.ip, e.reason] for e in events]
    notes = [str(_("Who saw or changed this person's data, when, how and why.")),
             str(_("Made %(when)s UTC by %(who)s; %(count)d events. The log's integrity is checked with "
                   "`registry audit verify`.", when=utcnow().strftime("%Y-%m-%d %H:%M"), who=who.username,
                   count=len(events)))]
    try:
        return pdf.table_pdf(str(_("Access report for person %(id)s", id=person_id)), notes, columns, rows)
    except pdf.FontMissing:
        raise ServiceUnavailable(str(_("PDF exports need a font that is not installed on the server; "
                                       "ask the administrator. The CSV export works."))) from None


CHANGE_ACTIONS = (Action.PERSON_CREATED, Action.PERSON_UPDATED, Action.DOCUMENT_UPLOADED, Action.DOCUMENT_VERSION_ADDED,
                  Action.DOCUMENT_LINKED, Action.RELATIONSHIP_CLAIMED, Action.RELATIONSHIP_CHANGED,
                  Action.EVIDENCE_ATTACHED, Action.RESTORATION_OPENED, Action.RESTORATION_CHANGED)


def changes_of_person(db: Session, person_id: str, limit: int = 100) -> list[AuditEvent]:
    """What was done to a person's file, by whom and when: the history on the person's page.

    Only changes, never who looked: reads stay for auditors.
    """
    return list(db.scalars(
        sa.select(AuditEvent).join(AuditEventPerson, AuditEventPerson.seq == AuditEvent.seq)
        .where(AuditEventPerson.person_id == person_id, AuditEvent.outcome == "allowed",
               AuditEvent.action.in_([a.value for a in CHANGE_ACTIONS]))
        .order_by(AuditEvent.seq.desc()).limit(limit)))
