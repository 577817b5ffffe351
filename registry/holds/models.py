"""Legal holds (a person, a case or a document kept from disposal until lifted) and disposals under the
retention schedule (proposed by one member of staff, approved by another, the record signed)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.accounts.models import User
from registry.db import Base, UTCDateTime, created_at_column, uuid_pk


class HoldTarget(StrEnum):
    PERSON = "person"
    CASE = "case"
    DOCUMENT = "document"


class LegalHold(Base):
    """One hold on one target; lifting keeps the row (who, when, why) for auditors and the history."""

    __tablename__ = "legal_holds"
    __table_args__ = (sa.Index("ix_legal_holds_target", "target_type", "target_id"),)

    id: Mapped[str] = uuid_pk()
    target_type: Mapped[str] = mapped_column(sa.String(16), nullable=False)
    target_id: Mapped[str] = mapped_column(sa.String(36), nullable=False)
    reason: Mapped[str] = mapped_column(sa.String(1000), nullable=False)
    placed_by_id: Mapped[str] = mapped_column(sa.ForeignKey("users.id"), nullable=False)
    placed_at: Mapped[datetime] = created_at_column()
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    lifted_by_id: Mapped[str | None] = mapped_column(sa.ForeignKey("users.id"))
    lift_reason: Mapped[str] = mapped_column(sa.String(1000), nullable=False, default="")

    placed_by: Mapped[User] = relationship(foreign_keys=[placed_by_id], lazy="joined")
    lifted_by: Mapped[User | None] = relationship(foreign_keys=[lifted_by_id], lazy="joined")

    @property
    def active(self) -> bool:
        return self.lifted_at is None


class DisposalStatus(StrEnum):
    PROPOSED = "proposed"
    APPROVED = "approved"
    REJECTED = "rejected"


class Disposal(Base):
    """A proposal to dispose of the files of documents past their retention period, and its decision.

    ``record`` is the canonical JSON the audit key signed at approval (``signature``); the same record and
    signature are in the access log's approval event, which is what counts.
    """

    __tablename__ = "disposals"

    id: Mapped[str] = uuid_pk()
    status: Mapped[str] = mapped_column(sa.String(16), nullable=False, default=DisposalStatus.PROPOSED)
    proposed_by_id: Mapped[str] = mapped_column(sa.ForeignKey("users.id"), nullable=False)
    proposed_at: Mapped[datetime] = created_at_column()
    decided_by_id: Mapped[str | None] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decision_reason: Mapped[str] = mapped_column(sa.String(1000), nullable=False, default="")
    record: Mapped[str | None] = mapped_column(sa.Text)
    signature: Mapped[str | None] = mapped_column(sa.String(200))

    proposed_by: Mapped[User] = relationship(foreign_keys=[proposed_by_id], lazy="joined")
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id], lazy="joined")
    items: Mapped[list[DisposalItem]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="DisposalItem.newest_upload"
    )


class DisposalItem(Base):
    """One document of a proposal, as it was due when proposed; at approval, disposed or kept (and why)."""

    __tablename__ = "disposal_items"

    disposal_id: Mapped[str] = mapped_column(sa.ForeignKey("disposals.id", ondelete="CASCADE"), primary_key=True)
    document_id: Mapped[str] = mapped_column(sa.ForeignKey("documents.id"), primary_key=True, index=True)
    kind: Mapped[str] = mapped_column(sa.String(32), nullable=False)
    newest_upload: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    years: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    # "" while proposed; "disposed" or "kept" once approved.
    outcome: Mapped[str] = mapped_column(sa.String(16), nullable=False, default="")
    kept_because: Mapped[str] = mapped_column(sa.String(300), nullable=False, default="")
