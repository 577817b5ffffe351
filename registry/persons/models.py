"""Persons and their names in every script they were written in."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.db import Base, UTCDateTime, created_at_column, utcnow, uuid_pk


class Sex(StrEnum):
    FEMALE = "female"
    MALE = "male"
    UNKNOWN = "unknown"


class DatePrecision(StrEnum):
    EXACT = "exact"
    MONTH = "month"
    YEAR = "year"
    ESTIMATED = "estimated"
    UNKNOWN = "unknown"


class Category(StrEnum):
    CHILD = "child"
    ORPHAN = "orphan"
    WOMAN = "woman"
    MAN = "man"


class PersonStatus(StrEnum):
    IDENTIFIED_ABROAD = "identified_abroad"
    CONSENTED_TO_RETURN = "consented_to_return"
    RETURNED = "returned"
    IN_REHABILITATION = "in_rehabilitation"
    RESETTLED = "resettled"
    REFUSED_TO_RETURN = "refused_to_return"


class NameKind(StrEnum):
    BIRTH = "birth"
    RECORDED_ABROAD = "recorded_abroad"
    CHOSEN_BY_MOTHER = "chosen_by_mother"
    OFFICIAL = "official"
    ALIAS = "alias"


class Script(StrEnum):
    CYRILLIC = "cyrillic"
    LATIN = "latin"
    ARABIC = "arabic"


class Person(Base):
    __tablename__ = "persons"

    id: Mapped[str] = uuid_pk()
    registry_number: Mapped[str] = mapped_column(sa.String(32), unique=True, nullable=False)
    sex: Mapped[str] = mapped_column(sa.String(8), nullable=False, default=Sex.UNKNOWN)
    birth_date: Mapped[date | None] = mapped_column(sa.Date)
    birth_date_precision: Mapped[str] = mapped_column(sa.String(16), nullable=False, default=DatePrecision.UNKNOWN)
    place_of_birth_recorded: Mapped[str] = mapped_column(sa.String(300), nullable=False, default="")
    place_of_birth_designation: Mapped[str] = mapped_column(sa.String(300), nullable=False, default="")
    citizenship: Mapped[str] = mapped_column(sa.String(64), nullable=False, default="")
    categories: Mapped[str] = mapped_column(sa.String(100), nullable=False, default="")
    status: Mapped[str] = mapped_column(sa.String(32), nullable=False, default=PersonStatus.IDENTIFIED_ABROAD)
    return_operation: Mapped[str] = mapped_column(sa.String(100), nullable=False, default="")
    return_stage: Mapped[str] = mapped_column(sa.String(100), nullable=False, default="")
    centre_or_region: Mapped[str] = mapped_column(sa.String(200), nullable=False, default="")
    restricted_notes: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False)
    revision: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=1)
    # Set when a clerk found this record to be the same person as another: the survivor it was merged into
    # (registry.matching.merge). The record stays; its page leads to the survivor, and an undo clears this.
    # No foreign key, so that SQLite adds and drops the column in place (migration 0011); persons are never deleted.
    merged_into_id: Mapped[str | None] = mapped_column(sa.String(36), index=True)

    names: Mapped[list[PersonName]] = relationship(
        back_populates="person", cascade="all, delete-orphan", lazy="selectin", order_by="PersonName.position"
    )

    __mapper_args__ = {"version_id_col": revision}

    @property
    def category_list(self) -> list[str]:
        return [c for c in self.categories.split() if c]

    @property
    def official_name(self) -> PersonName | None:
        return next((n for n in self.names if n.is_official), self.names[0] if self.names else None)


class PersonName(Base):
    __tablename__ = "person_names"

    id: Mapped[str] = uuid_pk()
    person_id: Mapped[str] = mapped_column(sa.ForeignKey("persons.id", ondelete="CASCADE"), nullable=False, index=True)
    position: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    kind: Mapped[str] = mapped_column(sa.String(24), nullable=False, default=NameKind.OFFICIAL)
    script: Mapped[str] = mapped_column(sa.String(16), nullable=False, default=Script.CYRILLIC)
    family_name: Mapped[str] = mapped_column(sa.String(200), nullable=False, default="")
    given_name: Mapped[str] = mapped_column(sa.String(200), nullable=False, default="")
    patronymic: Mapped[str] = mapped_column(sa.String(200), nullable=False, default="")
    is_official: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    person: Mapped[Person] = relationship(back_populates="names")

    @property
    def full(self) -> str:
        return " ".join(p for p in (self.family_name, self.given_name, self.patronymic) if p)


class NameSearchKey(Base):
    """Precomputed search keys (Latin word forms and phonetic skeletons): search is index lookups."""

    __tablename__ = "name_search_keys"
    __table_args__ = (sa.Index("ix_name_search_keys_key", "key", "person_id"),)

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    person_id: Mapped[str] = mapped_column(sa.ForeignKey("persons.id", ondelete="CASCADE"), nullable=False, index=True)
    # "l:" + Latin word form, or "p:" + phonetic key: one index serves prefix and equality lookups.
    # Binary collation on PostgreSQL: a prefix must be a contiguous index range, whatever the locale.
    key: Mapped[str] = mapped_column(
        sa.String(120).with_variant(sa.String(120, collation="C"), "postgresql"), nullable=False
    )
