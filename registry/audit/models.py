"""The access log: an append-only hash chain of events."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from registry.db import Base, UTCDateTime


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (
        sa.Index("ix_audit_events_actor_at", "actor_id", "at"),
        sa.Index("ix_audit_events_action_at", "action", "at"),
        sa.Index("ix_audit_events_at", "at"),
    )

    seq: Mapped[int] = mapped_column(
        sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=False
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    actor_id: Mapped[str | None] = mapped_column(sa.String(36))
    actor_name: Mapped[str] = mapped_column(sa.String(64), nullable=False, default="")
    action: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    outcome: Mapped[str] = mapped_column(sa.String(16), nullable=False)
    target_type: Mapped[str] = mapped_column(sa.String(32), nullable=False, default="")
    target_id: Mapped[str] = mapped_column(sa.String(64), nullable=False, default="")
    person_ids: Mapped[str] = mapped_column(sa.Text, nullable=False, default="[]")
    ip: Mapped[str] = mapped_column(sa.String(64), nullable=False, default="")
    user_agent: Mapped[str] = mapped_column(sa.String(400), nullable=False, default="")
    request_id: Mapped[str] = mapped_column(sa.String(64), nullable=False, default="")
    reason: Mapped[str] = mapped_column(sa.String(1000), nullable=False, default="")
    details: Mapped[str] = mapped_column(sa.Text, nullable=False, default="{}")
    prev_hash: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    hash: Mapped[str] = mapped_column(sa.String(64), nullable=False)


class AuditEventPerson(Base):
    """Which persons an event touched: the index behind a person's access report."""

    __tablename__ = "audit_event_persons"

    seq: Mapped[int] = mapped_column(sa.ForeignKey("audit_events.seq"), primary_key=True)
    person_id: Mapped[str] = mapped_column(sa.String(36), primary_key=True, index=True)


class AuditChainHead(Base):
    """One row per chain: writers lock it, so sequence numbers have no gaps and hashes no forks."""

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    hash: Mapped[str] = mapped_column(sa.String(64), nullable=False)
