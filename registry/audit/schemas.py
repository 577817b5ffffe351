"""What an access-log event looks like to a client (the event list and a person's access report)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pydantic import Field

from registry.api.schema import Reply
from registry.audit.events import Outcome
from registry.audit.models import AuditEvent


class EventOut(Reply):
    seq: int = Field(description="the event's place in the hash chain")
    at: datetime
    actor_id: str | None
    actor: str = Field(description="the staff member's name when the event was written")
    action: str = Field(
        description="what was done: one of registry.audit.events.Action (an old event may carry a retired code)",
        examples=["person.viewed"],
    )
    outcome: Outcome
    target_type: str
    target_id: str
    person_ids: list[str]
    ip: str
    user_agent: str
    request_id: str
    reason: str = Field(description="the stated reason of an emergency access")
    details: dict[str, Any] = Field(description="field names and counts; never personal values")
    hash: str

    @classmethod
    def of(cls, event: AuditEvent) -> EventOut:
        return cls(
            seq=event.seq,
            at=event.at,
            actor_id=event.actor_id,
            actor=event.actor_name,
            action=event.action,
            outcome=Outcome(event.outcome),
            target_type=event.target_type,
            target_id=event.target_id,
            person_ids=json.loads(event.person_ids),
            ip=event.ip,
            user_agent=event.user_agent,
            request_id=event.request_id,
            reason=event.reason,
            details=json.loads(event.details),
            hash=event.hash,
        )


class EventPage(Reply):
    """One page of the access log."""

    events: list[EventOut]
    total: int
    page: int
    per_page: int
    pages: int


class AccessReport(Reply):
    """Every event that touched one person."""

    person_id: str
    events: list[EventOut]
