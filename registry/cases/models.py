"""Cases (matters): the need-to-know boundary between lawyers/caseworkers and persons."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.db import Base, UTCDateTime, created_at_column, uuid_pk


class Case(Base):
    __tablename__ = "cases"

    id: Mapped[str] = uuid_pk()
    reference: Mapped[str] = mapped_column(sa.String(64), unique=True, nullable=False)
    title: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    court_case_number: Mapped[str] = mapped_column(sa.String(100), nullable=False, default="")
    is_open: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=True)
    created_at: Mapped[datetime] = created_at_column()
    members: Mapped[list[CaseMember]] = relationship(cascade="all, delete-orphan", lazy="selectin")
    persons: Mapped[list[CasePerson]] = relationship(cascade="all, delete-orphan", lazy="selectin")


class CaseMember(Base):
    __tablename__ = "case_members"

    case_id: Mapped[str] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[str] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)
    added_at: Mapped[datetime] = created_at_column()


class CasePerson(Base):
    __tablename__ = "case_persons"

    case_id: Mapped[str] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    person_id: Mapped[str] = mapped_column(
        sa.ForeignKey("persons.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    added_at: Mapped[datetime] = created_at_column()


class EmergencyAccess(Base):
    """Break-glass: one person opened outside the actor's cases, for a stated reason, for a while."""

    __tablename__ = "emergency_access"
    __table_args__ = (sa.Index("ix_emergency_access_user_person", "user_id", "person_id"),)

    id: Mapped[str] = uuid_pk()
    user_id: Mapped[str] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    person_id: Mapped[str] = mapped_column(sa.ForeignKey("persons.id", ondelete="CASCADE"), nullable=False)
    reason: Mapped[str] = mapped_column(sa.String(1000), nullable=False)
    granted_at: Mapped[datetime] = created_at_column()
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
