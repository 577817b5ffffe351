"""Document restoration requests: the clerk's workflow from a missing paper to a handed-over one."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.db import Base, UTCDateTime, created_at_column, utcnow, uuid_pk


class WantedDocument(StrEnum):
    BIRTH_RECORD = "birth_record"
    IDENTITY_DOCUMENT = "identity_document"
    PASSPORT = "passport"


class RestorationReason(StrEnum):
    BORN_ABROAD = "born_abroad"
    LOST = "lost"
    CONFISCATED = "confiscated"
    NEVER_ISSUED = "never_issued"


class RestorationStatus(StrEnum):
    OPENED = "opened"
    EVIDENCE_COLLECTED = "evidence_collected"
    SUBMITTED = "submitted"
    ISSUED = "issued"
    HANDED_OVER = "handed_over"
    REJECTED = "rejected"


FINISHED = frozenset({RestorationStatus.HANDED_OVER, RestorationStatus.REJECTED})


class RestorationRequest(Base):
    __tablename__ = "restoration_requests"
    __table_args__ = (sa.Index("ix_restoration_requests_clerk_status", "assigned_clerk_id", "status"),)

    id: Mapped[str] = uuid_pk()
    person_id: Mapped[str] = mapped_column(sa.ForeignKey("persons.id"), nullable=False, index=True)
    document_wanted: Mapped[str] = mapped_column(sa.String(24), nullable=False)
    reason: Mapped[str] = mapped_column(sa.String(24), nullable=False)
    status: Mapped[str] = mapped_column(sa.String(24), nullable=False, default=RestorationStatus.OPENED)
    assigned_clerk_id: Mapped[str] = mapped_column(sa.ForeignKey("users.id"), nullable=False)
    due_date: Mapped[date] = mapped_column(sa.Date, nullable=False, index=True)
    notes: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    issued_document_id: Mapped[str | None] = mapped_column(sa.ForeignKey("documents.id"))
    opened_by_id: Mapped[str] = mapped_column(sa.ForeignKey("users.id"), nullable=False)
    opened_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False)

    # A child's birth record: what the mother chose to be written, with her consent.
    mother_id: Mapped[str | None] = mapped_column(sa.ForeignKey("persons.id"))
    chosen_family_name: Mapped[str] = mapped_column(sa.String(200), nullable=False, default="")
    chosen_given_name: Mapped[str] = mapped_column(sa.String(200), nullable=False, default="")
    chosen_patronymic: Mapped[str] = mapped_column(sa.String(200), nullable=False, default="")
    chosen_place_of_birth: Mapped[str] = mapped_column(sa.String(300), nullable=False, default="")
    consent_recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    consent_recorded_by_id: Mapped[str | None] = mapped_column(sa.ForeignKey("users.id"))
    # Kept apart from the choice and shown only to roles that register persons.
    actual_place_of_birth: Mapped[str] = mapped_column(sa.String(300), nullable=False, default="")

    events: Mapped[list[RestorationEvent]] = relationship(
        order_by="RestorationEvent.id", lazy="selectin", cascade="all, delete-orphan"
    )
    evidence: Mapped[list[RestorationEvidence]] = relationship(
        order_by="RestorationEvidence.attached_at", lazy="selectin", cascade="all, delete-orphan"
    )

    @property
    def person_ids(self) -> list[str]:
        return [p for p in (self.person_id, self.mother_id) if p]

    @property
    def has_mother_choices(self) -> bool:
        return self.consent_recorded_at is not None


class RestorationEvidence(Base):
    __tablename__ = "restoration_evidence"

    request_id: Mapped[str] = mapped_column(
        sa.ForeignKey("restoration_requests.id", ondelete="CASCADE"), primary_key=True
    )
    document_id: Mapped[str] = mapped_column(sa.ForeignKey("documents.id"), primary_key=True, index=True)
    attached_by_id: Mapped[str] = mapped_column(sa.ForeignKey("users.id"), nullable=False)
    attached_at: Mapped[datetime] = created_at_column()


class RestorationEvent(Base):
    """One step of a request's history."""

    __tablename__ = "restoration_events"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[str] = mapped_column(
        sa.ForeignKey("restoration_requests.id", ondelete="CASCADE"), nullable=False, index=True
    )
    at: Mapped[datetime] = created_at_column()
    actor_id: Mapped[str | None] = mapped_column(sa.ForeignKey("users.id"))
    actor_name: Mapped[str] = mapped_column(sa.String(64), nullable=False, default="")
    from_status: Mapped[str] = mapped_column(sa.String(24), nullable=False, default="")
    to_status: Mapped[str] = mapped_column(sa.String(24), nullable=False)
    document_id: Mapped[str | None] = mapped_column(sa.ForeignKey("documents.id"))
    note: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
