"""Reading the log: filtered event lists, a person's access report and its exports,
a user's recent activity and the anomalies an auditor should look at first.

Reading the log is itself logged: an auditor's look is an access too.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from registry.audit import anomalies, pdf
from registry.audit.events import Action, Outcome
from registry.audit.models import AuditEvent, AuditEventPerson
from registry.audit.service import AuditSubject, record
from registry.db import utcnow
from registry.errors import ServiceUnavailable
from registry.i18n import _
from registry.persons.models import Person
from registry.web import listing


@dataclass(frozen=True)
class EventFilter:
    actor: str = ""
    actor_id: str = ""
    person_id: str = ""
    action: str = ""
    outcome: str = ""
    since: datetime | None = None
    until: datetime | None = None


# The event list: who, whom, what, how it ended and when as filters; newest first unless asked otherwise.
EVENT_LIST = listing.ListSpec(
    sorts=("at", "actor", "action"),
    default_sort="-at",
    default_size=50,
    max_size=500,
    filters={
        "actor": None,
        "actor_id": None,
        "person_id": None,
        "action": tuple(Action),
        "outcome": tuple(Outcome),
        "since": None,
        "until": None,
    },
)
_EVENT_ORDERS = {"at": [AuditEvent.seq], "actor": [AuditEvent.actor_name], "action": [AuditEvent.action]}


def find_events(
    db: Session, who: AuditSubject, flt: EventFilter, wanted: listing.ListQuery
) -> listing.ListPage[AuditEvent]:
    """One page of the events that match, in the order asked for, and how many match in all."""
    query = sa.select(AuditEvent)
    if flt.actor:
        query = query.where(AuditEvent.actor_name == flt.actor)
    if flt.actor_id:
        query = query.where(AuditEvent.actor_id == flt.actor_id)
    if flt.person_id:
        query = query.join(AuditEventPerson, AuditEventPerson.seq == AuditEvent.seq).where(
            AuditEventPerson.person_id == flt.person_id
        )
    if flt.action:
        query = query.where(AuditEvent.action == flt.action)
    if flt.outcome:
        query = query.where(AuditEvent.outcome == flt.outcome)
    if flt.since:
        query = query.where(AuditEvent.at >= flt.since)
    if flt.until:
        query = query.where(AuditEvent.at < flt.until)
    found = listing.page_of(db, listing.ordered(query, wanted, _EVENT_ORDERS, AuditEvent.seq.desc()), wanted)
    record(
        db,
        who,
        Action.AUDIT_READ,
        target_type="audit",
        person_ids=[flt.person_id] if flt.person_id else [],
        details={
            **{k: str(v) for k, v in flt.__dict__.items() if v},
            **({"sort": wanted.sort} if wanted.sort != EVENT_LIST.default_sort else {}),
        },
    )
    return found


def merged_into(db: Session, person_id: str) -> list[str]:
    """The person and every record merged into it (and into those): one person's events are under all these ids.

    The log itself is never rewritten when records are merged (its events are chained); it is read through
    the pointer instead. A merge undone takes its record's events back with it.
    """
    found, frontier = [person_id], [person_id]
    while frontier:
        frontier = [
            i for i in db.scalars(sa.select(Person.id).where(Person.merged_into_id.in_(frontier))) if i not in found
        ]
        found.extend(frontier)
    return found


def _events_of(person_ids: list[str]) -> sa.Select:
    return sa.select(AuditEvent).where(
        AuditEvent.seq.in_(sa.select(AuditEventPerson.seq).where(AuditEventPerson.person_id.in_(person_ids)))
    )


def events_naming(db: Session, person_id: str) -> list[AuditEvent]:
    """Every event of the log that names this person (or a record merged into it), oldest first: what an access
    report and a person's export are made of."""
    return list(db.scalars(_events_of(merged_into(db, person_id)).order_by(AuditEvent.seq)))


def access_report(db: Session, who: AuditSubject, person_id: str, *, export: str = "") -> list[AuditEvent]:
    """Who saw or changed this person's data, when, how and why (also under records merged into it)."""
    events = events_naming(db, person_id)
    record(
        db,
        who,
        Action.ACCESS_REPORT_EXPORTED if export else Action.ACCESS_REPORT_READ,
        target_type="person",
        target_id=person_id,
        person_ids=[person_id],
        details={"format": export or "page"},
    )
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
    found = Anomalies(
        anomalies.unusual_volume(db, today=today, days=days),
        anomalies.after_hours_reads(db, since=since),
        anomalies.probing(db, since=since),
    )
    record(db, who, Action.AUDIT_READ, target_type="anomalies", details={"days": days})
    return found


@dataclass(frozen=True)
class Activity:
    user_id: str
    username: str
    events: list[AuditEvent]
    days: list[anomalies.ReadingDay]


def user_activity(
    db: Session, who: AuditSubject, user_id: str, *, days: int = 14, limit: int = 200, now: datetime | None = None
) -> Activity:
    """One staff member's newest events and persons read per day against their usual."""
    events = list(
        db.scalars(
            sa.select(AuditEvent).where(AuditEvent.actor_id == user_id).order_by(AuditEvent.seq.desc()).limit(limit)
        )
    )
    today = anomalies.local_time(now or utcnow()).date()
    reading = anomalies.reading_days(db, today=today, days=days, actor_id=user_id)
    record(db, who, Action.AUDIT_READ, target_type="user", target_id=user_id, details={"days": days})
    return Activity(user_id, events[0].actor_name if events else "", events, reading)


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

# The words for a stored code in the reader's language (``registry.web.labels.label``): exports are read by
# people, in Russian or Kazakh as often as in English, so no action or outcome is left as a code.
Words = Callable[[Any, str], str]


def as_stored(code: Any, _group: str) -> str:
    """The code itself: for a caller with no reader to translate for (a script, a test of the CSV format)."""
    return "" if code is None else str(code)


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text  # no formula runs in a spreadsheet


def _headings() -> list[str]:
    return [
        str(_("#")),
        str(_("When (UTC)")),
        str(_("Who")),
        str(_("Action")),
        str(_("Outcome")),
        str(_("Target")),
        str(_("Address")),
        str(_("Reason")),
    ]


def _row(e: AuditEvent, words: Words, numbers: dict[str, str]) -> list[str]:
    """An event as the report shows it; the report's own person by registry number, other targets by id."""
    target = numbers.get(e.target_id, e.target_id) if e.target_type == "person" else e.target_id
    return [
        str(e.seq),
        e.at.strftime("%Y-%m-%d %H:%M:%S"),
        e.actor_name,
        words(e.action, "action"),
        words(e.outcome, "outcome"),
        f"{words(e.target_type, 'target')} {target}".strip(),
        e.ip,
        e.reason,
    ]


def events_csv(events: list[AuditEvent], words: Words = as_stored, numbers: dict[str, str] | None = None) -> str:
    """The report's table, then the stored codes, so that a spreadsheet can still filter by them."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*_headings(), str(_("Action code")), str(_("Target id"))])
    for e in events:
        writer.writerow([_cell(v) for v in (*_row(e, words, numbers or {}), e.action, e.target_id)])
    return out.getvalue()


def access_report_pdf(
    person_id: str, events: list[AuditEvent], who: AuditSubject, words: Words, numbers: dict[str, str]
) -> bytes:
    """The report as a printable, searchable PDF; the export itself was logged by ``access_report``."""
    widths = (40, 92, 74, 150, 52, 140, 70, 152)
    columns = [pdf.Column(heading, width) for heading, width in zip(_headings(), widths, strict=True)]
    number = numbers.get(person_id)
    title = (
        _("Access report for %(number)s (person id %(id)s)", number=number, id=person_id)
        if number
        else _("Access report for person %(id)s", id=person_id)
    )
    notes = [
        str(_("Who saw or changed this person's data, when, how and why.")),
        str(
            _(
                "Made %(when)s UTC by %(who)s; %(count)d events. The log's integrity is checked with "
                "`registry audit verify`.",
                when=utcnow().strftime("%Y-%m-%d %H:%M"),
                who=who.username,
                count=len(events),
            )
        ),
    ]
    try:
        return pdf.table_pdf(str(title), notes, columns, [_row(e, words, numbers) for e in events])
    except pdf.FontMissing:
        raise ServiceUnavailable(
            str(
                _(
                    "PDF exports need a font that is not installed on the server; "
                    "ask the administrator. The CSV export works."
                )
            )
        ) from None


CHANGE_ACTIONS = (
    Action.PERSON_CREATED,
    Action.PERSON_UPDATED,
    Action.DOCUMENT_UPLOADED,
    Action.DOCUMENT_VERSION_ADDED,
    Action.DOCUMENT_LINKED,
    Action.RELATIONSHIP_CLAIMED,
    Action.RELATIONSHIP_CHANGED,
    Action.EVIDENCE_ATTACHED,
    Action.RESTORATION_OPENED,
    Action.RESTORATION_CHANGED,
    Action.PERSON_NOT_SAME,
    Action.PERSON_MERGE_PROPOSED,
    Action.PERSON_MERGE_REJECTED,
    Action.PERSON_MERGED,
    Action.PERSON_MERGE_UNDONE,
)


def changes_of_person(db: Session, person_id: str, limit: int = 100) -> list[AuditEvent]:
    """What was done to a person's file, by whom and when: the history on the person's page.

    Only changes, never who looked: reads stay for auditors. Records merged into this one bring their history.
    """
    return list(
        db.scalars(
            _events_of(merged_into(db, person_id))
            .where(AuditEvent.outcome == "allowed", AuditEvent.action.in_([a.value for a in CHANGE_ACTIONS]))
            .order_by(AuditEvent.seq.desc())
            .limit(limit)
        )
    )
