"""Patterns an auditor should look at first: far more persons read than usual, reads after hours,
and asking for persons that do not exist (guessing ids to learn which do).

Neither proves misuse: they rank where to look. The thresholds are constants to
tune with experience; "local" is the time at the registry's offices.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from registry.audit.events import READ_ACTIONS, Action, Outcome
from registry.audit.models import AuditEvent, AuditEventPerson

LOCAL_TIME_ZONE = ZoneInfo("Asia/Almaty")
WORKING_HOURS = (time(8, 0), time(20, 0))  # local; a read at 20:00 or later, or before 08:00, is after hours
BASELINE_DAYS = 28  # a user's usual: the days before the ones examined
MIN_BASELINE_DAYS = 3  # days with reads before a user has a usual at all
VOLUME_FACTOR = 3.0  # unusual: more than three times the usual number of persons in a day...
VOLUME_FLOOR = 20  # ...and more than this many (a few extra persons is ordinary work)
# Requests that must say whether the person they name exists (break glass, add a person to a case):
# each refused one is logged under its action, so many of them show someone testing ids.
PROBING_ACTIONS = (Action.EMERGENCY_ACCESS, Action.CASE_PERSON_ADDED)


def local_time(at: datetime) -> datetime:
    return at.astimezone(LOCAL_TIME_ZONE)


def local_day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), LOCAL_TIME_ZONE)


def outside_working_hours(at: datetime) -> bool:
    start, end = WORKING_HOURS
    return not start <= local_time(at).time() < end


def is_after_hours_read(event: AuditEvent) -> bool:
    return event.action in READ_ACTIONS and event.outcome == Outcome.ALLOWED and outside_working_hours(event.at)


@dataclass(frozen=True)
class ReadingDay:
    """How many different persons one user read on one local day, against their usual."""

    actor_id: str
    actor_name: str
    day: date
    persons: int
    usual: float | None  # median persons per active day before; None until MIN_BASELINE_DAYS

    @property
    def threshold(self) -> float:
        return VOLUME_FLOOR if self.usual is None else max(VOLUME_FACTOR * self.usual, VOLUME_FLOOR)

    @property
    def unusual(self) -> bool:
        return self.persons > self.threshold


def reading_days(db: Session, *, today: date, days: int = 7, actor_id: str | None = None) -> list[ReadingDay]:
    """Per user and local day of the last ``days`` days up to ``today``: distinct persons read, and the usual.

    Counted in Python over the window's read events, so local days are the same
    on SQLite and PostgreSQL.
    """
    first = today - timedelta(days=days - 1)
    baseline_start = first - timedelta(days=BASELINE_DAYS)
    persons_by_day: dict[str, dict[date, set[str]]] = {}
    names: dict[str, str] = {}
    for user, name, at, person in db.execute(
        _reads(local_day_start(baseline_start), local_day_start(today + timedelta(days=1)), actor_id)
    ):
        names[user] = name
        persons_by_day.setdefault(user, {}).setdefault(local_time(at).date(), set()).add(person)
    found = []
    for user, by_day in persons_by_day.items():
        before = [len(p) for d, p in by_day.items() if d < first]
        usual = statistics.median(before) if len(before) >= MIN_BASELINE_DAYS else None
        found.extend(ReadingDay(user, names[user], d, len(p), usual) for d, p in by_day.items() if d >= first)
    return sorted(found, key=lambda r: (r.day, r.actor_name), reverse=True)


def _reads(since: datetime, until: datetime, actor_id: str | None) -> sa.Select:
    query = (
        sa.select(AuditEvent.actor_id, AuditEvent.actor_name, AuditEvent.at, AuditEventPerson.person_id)
        .join(AuditEventPerson, AuditEventPerson.seq == AuditEvent.seq)
        .where(
            AuditEvent.action.in_(sorted(READ_ACTIONS)),
            AuditEvent.outcome == Outcome.ALLOWED,
            AuditEvent.actor_id.is_not(None),
            AuditEvent.at >= since,
            AuditEvent.at < until,
        )
        .order_by(AuditEvent.seq)
    )
    return query.where(AuditEvent.actor_id == actor_id) if actor_id else query


def unusual_volume(db: Session, *, today: date, days: int = 7) -> list[ReadingDay]:
    return [r for r in reading_days(db, today=today, days=days) if r.unusual]


def after_hours_reads(
    db: Session, *, since: datetime, actor_id: str | None = None, limit: int = 200
) -> list[AuditEvent]:
    """The newest reads of personal data outside working hours since ``since``."""
    query = (
        sa.select(AuditEvent)
        .where(
            AuditEvent.action.in_(sorted(READ_ACTIONS)), AuditEvent.outcome == Outcome.ALLOWED, AuditEvent.at >= since
        )
        .order_by(AuditEvent.seq.desc())
    )
    if actor_id:
        query = query.where(AuditEvent.actor_id == actor_id)
    found: list[AuditEvent] = []
    with db.scalars(query.execution_options(yield_per=1000)) as events:
        for event in events:
            if outside_working_hours(event.at):
                found.append(event)
                if len(found) >= limit:
                    break
    return found


@dataclass(frozen=True)
class Probing:
    """One user's refused requests naming a person (one that does not exist, or any once over the limit)."""

    actor_id: str
    actor_name: str
    attempts: int
    last: datetime


def _refused(since: datetime) -> sa.Select:
    return sa.select(AuditEvent).where(
        AuditEvent.action.in_([str(a) for a in PROBING_ACTIONS]),
        AuditEvent.outcome == Outcome.DENIED,
        AuditEvent.at >= since,
        AuditEvent.actor_id.is_not(None),
    )


def refused_person_requests(db: Session, actor_id: str, *, since: datetime) -> int:
    """How many of one user's requests naming a person were refused since ``since`` (the cases' rate limit)."""
    query = _refused(since).where(AuditEvent.actor_id == actor_id)
    return db.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0


def probing(db: Session, *, since: datetime, limit: int = 200) -> list[Probing]:
    """Users whose requests naming a person were refused since ``since``, most refusals first."""
    refused = _refused(since).subquery()
    rows = db.execute(
        sa.select(refused.c.actor_id, sa.func.max(refused.c.actor_name), sa.func.count(), sa.func.max(refused.c.at))
        .group_by(refused.c.actor_id)
        .order_by(sa.func.count().desc(), refused.c.actor_id)
        .limit(limit)
    )
    return [Probing(actor_id, name, attempts, last) for actor_id, name, attempts, last in rows]
