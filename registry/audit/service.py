"""Writing events. Every service calls ``record``; this module calls no service.

An event is added to the caller's transaction, so it commits or rolls back with
the change it describes. The chain head row is locked first (``FOR UPDATE`` on
PostgreSQL; SQLite already holds its write lock from ``BEGIN IMMEDIATE``), and
only then is the previous hash read: concurrent writers cannot fork the chain
or leave a gap in the sequence.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.orm import Session

from registry.audit.events import (
    CHAIN_ID,
    EVENT_FIELDS,
    GENESIS_HASH,
    READ_ACTIONS,
    Action,
    Outcome,
    canonical_event,
    canonical_strings,
    canonical_text,
    clean,
    clean_details,
    event_hash,
    format_time,
)
from registry.audit.models import AuditChainHead, AuditEvent, AuditEventPerson
from registry.db import utcnow
from registry.errors import AuditUnavailable
from registry.i18n import _

log = logging.getLogger("registry.audit")
UNAVAILABLE = _("The access log cannot be written; nothing was done. Try again later.")

# Built once: each is compiled once and then only executed with new parameters.
_HEAD = AuditChainHead.__table__
_LOCK_HEAD = sa.select(_HEAD.c.seq, _HEAD.c.hash).where(_HEAD.c.id == CHAIN_ID).with_for_update()
_MOVE_HEAD = (
    sa.update(_HEAD).where(_HEAD.c.id == CHAIN_ID).values(seq=sa.bindparam("new_seq"), hash=sa.bindparam("new_hash"))
)
_ADD_EVENT = sa.insert(AuditEvent.__table__)
_ADD_LINK = sa.insert(AuditEventPerson.__table__)
# PostgreSQL: event, person links and head in one round trip (the links are checked against the
# event at the end of the statement, when it exists).
_COLUMNS = [c.name for c in AuditEvent.__table__.columns]
_APPEND_IN_ONE = sa.text(
    f"WITH event AS (INSERT INTO audit_events ({', '.join(_COLUMNS)}) "
    f"VALUES ({', '.join(':' + c for c in _COLUMNS)})), "
    "links AS (INSERT INTO audit_event_persons (seq, person_id) SELECT :seq, unnest(CAST(:persons AS text[]))) "
    f"UPDATE audit_chain_head SET seq = :seq, hash = :hash WHERE id = {CHAIN_ID:d}"
).bindparams(sa.bindparam("at", type_=AuditEvent.__table__.c.at.type))


class AuditSubject(Protocol):
    """Who acts and from where; the accounts package's Actor satisfies it."""

    @property
    def user_id(self) -> str | None: ...
    @property
    def username(self) -> str: ...
    @property
    def ip(self) -> str: ...
    @property
    def user_agent(self) -> str: ...
    @property
    def request_id(self) -> str: ...


@dataclass(frozen=True)
class SystemSubject:
    """Command-line and start-up work: no staff member, no address."""

    username: str = "system"
    user_id: str | None = None
    ip: str = ""
    user_agent: str = "registry-cli"
    request_id: str = ""


SYSTEM = SystemSubject()


def ensure_chain_head(db: Session) -> None:
    if db.get(AuditChainHead, CHAIN_ID) is None:
        db.add(AuditChainHead(id=CHAIN_ID, seq=0, hash=GENESIS_HASH))
        db.flush()


def _locked_head(db: Session) -> tuple[int, str]:
    """The chain head's sequence and hash, read under its lock (Core: never a stale ORM copy)."""
    head = db.connection().execute(_LOCK_HEAD).first()
    if head is None:
        ensure_chain_head(db)
        return _locked_head(db)
    return head.seq, head.hash


def record(
    db: Session,
    who: AuditSubject,
    action: Action | str,
    *,
    outcome: Outcome | str = Outcome.ALLOWED,
    target_type: str = "",
    target_id: str | None = "",
    person_ids: Iterable[str] = (),
    reason: str = "",
    details: dict[str, Any] | None = None,
) -> int:
    """Append one event to the chain inside the caller's transaction; returns its sequence number.

    Prepared Core statements on the session's connection, not the ORM (on PostgreSQL
    two round trips): every request that shows personal data pays for this. The
    caller's pending changes are flushed first, so every transaction locks its own
    rows before the chain head (one lock order: no deadlock between writers) and
    holds the head no longer than it must.
    """
    person_ids = tuple(person_ids)
    db.flush()
    if action in READ_ACTIONS and outcome == Outcome.ALLOWED:
        # A refused request rolls back; what its page still showed is logged again (``replay_reads``).
        db.info.setdefault("audit_reads", []).append(
            dict(
                who=who,
                action=action,
                target_type=target_type,
                target_id=target_id,
                person_ids=person_ids,
                reason=reason,
                details=details,
            )
        )
    try:
        return _append(db, who, action, outcome, target_type, target_id, person_ids, reason, details)
    except SQLAlchemyError as exc:
        log.error("the access log refused an event (%s): %s", action, exc.orig if isinstance(exc, DBAPIError) else exc)
        raise AuditUnavailable(str(UNAVAILABLE)) from exc


def _append(
    db: Session,
    who: AuditSubject,
    action: Action | str,
    outcome: Outcome | str,
    target_type: str,
    target_id: str | None,
    person_ids: tuple[str, ...],
    reason: str,
    details: dict[str, Any] | None,
) -> int:
    last_seq, last_hash = _locked_head(db)
    persons = sorted({clean(p, 36) for p in person_ids if p})
    at = utcnow()
    event = {
        "seq": last_seq + 1,
        "at": at,
        "actor_id": who.user_id,
        "actor_name": clean(who.username, 64),
        "action": clean(action, 64),
        "outcome": clean(outcome, 16),
        "target_type": clean(target_type, 32),
        "target_id": clean(target_id, 64),
        "person_ids": canonical_strings(persons),
        "ip": clean(who.ip, 64),
        "user_agent": clean(who.user_agent, 400),
        "request_id": clean(who.request_id, 64),
        "reason": clean(reason, 1000),
        "details": canonical_text(clean_details(details)),
        "prev_hash": last_hash,
    }
    hashed = [event["seq"], format_time(at), *(event[name] for name in EVENT_FIELDS[2:])]
    event["hash"] = event_hash(canonical_event(hashed))
    connection = db.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(_APPEND_IN_ONE, {**event, "persons": persons})
    else:
        connection.execute(_ADD_EVENT, event)
        if persons:
            connection.execute(_ADD_LINK, [{"seq": event["seq"], "person_id": p} for p in persons])
        connection.execute(_MOVE_HEAD, {"new_seq": event["seq"], "new_hash": event["hash"]})
    db.info.setdefault("audit_seqs", []).append(event["seq"])
    return event["seq"]


def take_reads(db: Session) -> list[dict[str, Any]]:
    """The reads recorded in the session's transaction so far, forgotten by the session."""
    return db.info.pop("audit_reads", [])


def replay_reads(db: Session, reads: list[dict[str, Any]]) -> None:
    """Log again, in a new transaction, reads whose transaction was rolled back but whose data was shown."""
    for read in reads:
        record(
            db,
            read["who"],
            read["action"],
            target_type=read["target_type"],
            target_id=read["target_id"],
            person_ids=read["person_ids"],
            reason=read["reason"],
            details=read["details"],
        )
