"""Blocking keys, the pairs offered for review with their decisions, and merges (each one undoable)."""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.accounts.models import User
from registry.db import Base, UTCDateTime, created_at_column, uuid_pk


class PersonMatchKey(Base):
    """Blocking keys: a name part's sound with the birth year, two name parts' sounds together.

    Stored with the person (not an index kept in each server process) so that every process and a
    PostgreSQL replica see the same keys in the same transaction as the record they come from.
    """

    __tablename__ = "person_match_keys"
    __table_args__ = (sa.Index("ix_person_match_keys_key", "key", "person_id"),)

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    person_id: Mapped[str] = mapped_column(sa.ForeignKey("persons.id", ondelete="CASCADE"), nullable=False, index=True)
    key: Mapped[str] = mapped_column(sa.String(120), nullable=False)


class PairStatus(StrEnum):
    PENDING = "pending"
    PROPOSED = "merge_proposed"  # one clerk said "same person"; a second must approve before anything moves
    NOT_SAME = "not_same"
    SAME = "same"


class MatchPair(Base):
    """Two records that may be one person: waiting for review, or decided (a "not the same" never returns)."""

    __tablename__ = "person_match_pairs"
    __table_args__ = (
        sa.UniqueConstraint("person_a_id", "person_b_id"),
        sa.Index("ix_person_match_pairs_status", "status", "probability"),
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    person_a_id: Mapped[str] = mapped_column(sa.ForeignKey("persons.id"), nullable=False)  # the smaller id
    person_b_id: Mapped[str] = mapped_column(sa.ForeignKey("persons.id"), nullable=False, index=True)
    status: Mapped[str] = mapped_column(sa.String(16), nullable=False, default=PairStatus.PENDING)
    probability: Mapped[float] = mapped_column(sa.Float, nullable=False, default=0.0)
    found_at: Mapped[datetime] = created_at_column()
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_by_id: Mapped[str | None] = mapped_column(sa.ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    # A merge waiting for a second clerk: who proposed it, when, and which record would stay.
    proposed_by_id: Mapped[str | None] = mapped_column(sa.ForeignKey("users.id"))
    proposed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    survivor_id: Mapped[str | None] = mapped_column(sa.ForeignKey("persons.id"))
    proposed_by: Mapped[User | None] = relationship(foreign_keys=[proposed_by_id])


class PersonMerge(Base):
    """One record merged into another: what moved to the survivor, so that undoing puts exactly that back."""

    __tablename__ = "person_merges"

    id: Mapped[str] = uuid_pk()
    survivor_id: Mapped[str] = mapped_column(sa.ForeignKey("persons.id"), nullable=False, index=True)
    merged_id: Mapped[str] = mapped_column(sa.ForeignKey("persons.id"), nullable=False, index=True)
    reason: Mapped[str] = mapped_column(sa.Text, nullable=False)
    merged_by_id: Mapped[str | None] = mapped_column(sa.ForeignKey("users.id"))  # who proposed it
    approved_by_id: Mapped[str | None] = mapped_column(sa.ForeignKey("users.id"))  # the second clerk
    merged_at: Mapped[datetime] = created_at_column()
    moved: Mapped[str] = mapped_column(sa.Text, nullable=False, default="{}")  # JSON, see merge.MOVED
    undone_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    undone_by_id: Mapped[str | None] = mapped_column(sa.ForeignKey("users.id"))
    undo_reason: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")

    @property
    def moved_rows(self) -> dict:
        return json.loads(self.moved)
