"""Writing events. Every service calls ``record``; this module calls no service.

An event is added to the caller's transaction, so it commits or rolls back with
the change it describes. The chain head row is locked first (``FOR UPDATE`` on
PostgreSQL; SQLite already holds its write lock from ``BEGIN IMMEDIATE``), and
only then is the previous hash read: concurrent writers cannot fork the chain
or leave a gap in the sequence.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Iterable, Protocol

import sqlalchemy as sa
from sqlalchemy.orm import Session

from registry.audit.events import (
    CHAIN_ID, GENESIS_HASH, Action, Outcome, clean, clean_details, event_hash, event_payload, format_time,
)
from registry.audit.models import AuditChainHead, AuditEvent, AuditEventPerson
from registry.db import utcnow


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


def _lock_head(db: Session) -> AuditChainHead:
    head = db.execute(
        sa.select(AuditChainHead).where(AuditChainHead.id == CHAIN_ID).with_for_update()
    ).scalar_one_or_none()
    if head is None:
        ensure_chain_head(db)
        return _lock_head(db)
    db.refresh(head)
    return head


def record(db: Session, who: AuditSubject, action: Action | str, *, outcome: Outcome = Outcome.ALLOWED,
           target_type: str = "", target_id: str | None = "", person_ids: Iterable[str] = (),
           reason: str = "", details: dict[str, Any] | None = None) -> AuditEvent:
    """Append one event to the chain inside the caller's transaction."""
    head = _lock_head(db)
    persons = sorted({clean(p, 36) for p in person_ids if p})
    at = utcnow()
    payload = event_payload(
        seq=head.seq + 1, at=format_time(at), actor_id=who.user_id, actor_name=clean(who.username, 64),
        action=str(action), outcome=str(outcome), target_type=clean(target_type, 32),
        target_id=clean(target_id, 64), person_ids=persons, ip=clean(who.ip, 64),
        user_agent=clean(who.user_agent, 400), request_id=clean(who.request_id, 64),
        reason=clean(reason, 1000), details=clean_details(details), prev_hash=head.hash,
    )
    digest = event_hash(payload)
    event = AuditEvent(
        seq=payload["seq"], at=at, actor_id=payload["actor_id"], actor_name=payload["actor_name"],
        action=payload["action"], outcome=payload["outcome"], target_type=payload["target_type"],
        target_id=payload["target_id"], person_ids=json.dumps(persons), ip=payload["ip"],
        user_agent=payload["user_agent"], request_id=payload["request_id"], reason=payload["reason"],
        details=json.dumps(payload["details"], sort_keys=True, ensure_ascii=False),
        prev_hash=head.hash, hash=digest,
    )
    db.add(event)
    db.flush()
    db.add_all(AuditEventPerson(seq=event.seq, person_id=p) for p in persons)
    head.seq, head.hash = event.seq, digest
    db.flush()
    db.info.setdefault("audit_seqs", []).append(event.seq)
    return event
