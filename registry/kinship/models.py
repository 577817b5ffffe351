"""Relationship claims between persons, their history and evidence, and the structured
contents of genomic results and court rulings (attached to their documents)."""

from __future__ import annotations

import json
from datetime import date, datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.db import Base, UTCDateTime, created_at_column, utcnow, uuid_pk


class RelationshipKind(StrEnum):
    """What the relative is to the person: ``relative`` is the ``kind`` of ``person``."""

    BIOLOGICAL_MOTHER = "biological_mother"
    BIOLOGICAL_FATHER = "biological_father"
    SIBLING = "sibling"
    HALF_SIBLING = "half_sibling"
    GRANDPARENT = "grandparent"
    AUNT_UNCLE = "aunt_uncle"
    GUARDIAN = "guardian"  # legal, not biological: no genomic step


class RelationshipStatus(StrEnum):
    CLAIMED = "claimed"
    TESTING = "testing"
    GENETICALLY_SUPPORTED = "genetically_supported"
    COURT_ESTABLISHED = "court_established"
    EXCLUDED = "excluded"
    WITHDRAWN = "withdrawn"


class GenomicMethod(StrEnum):
    AUTOSOMAL_STR = "autosomal_str"
    Y_STR = "y_str"
    MTDNA = "mtdna"


class Conclusion(StrEnum):
    INCLUSION = "inclusion"
    EXCLUSION = "exclusion"
    INCONCLUSIVE = "inconclusive"


class CostCoveredBy(StrEnum):
    STATE = "state"
    PRIVATE = "private"


class AppealStatus(StrEnum):
    OPEN = "open"  # the appeal period is running
    APPEALED = "appealed"
    FINAL = "final"
    OVERTURNED = "overturned"


class Relationship(Base):
    __tablename__ = "relationships"
    __table_args__ = (sa.Index("ix_relationships_status_kind", "status", "kind"),)

    id: Mapped[str] = uuid_pk()
    kind: Mapped[str] = mapped_column(sa.String(24), nullable=False)
    person_id: Mapped[str] = mapped_column(sa.ForeignKey("persons.id"), nullable=False, index=True)
    relative_id: Mapped[str] = mapped_column(sa.ForeignKey("persons.id"), nullable=False, index=True)
    status: Mapped[str] = mapped_column(sa.String(32), nullable=False, default=RelationshipStatus.CLAIMED)
    note: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    claimed_by_id: Mapped[str] = mapped_column(sa.ForeignKey("users.id"), nullable=False)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False)

    events: Mapped[list[RelationshipEvent]] = relationship(
        back_populates="relationship", order_by="RelationshipEvent.id", lazy="selectin", cascade="all, delete-orphan"
    )
    evidence: Mapped[list[RelationshipEvidence]] = relationship(
        order_by="RelationshipEvidence.attached_at", lazy="selectin", cascade="all, delete-orphan"
    )

    @property
    def person_ids(self) -> list[str]:
        return [self.person_id, self.relative_id]


class RelationshipEvent(Base):
    """One step of a claim's history: who moved it, when, from what to what, on which evidence."""

    __tablename__ = "relationship_events"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    relationship_id: Mapped[str] = mapped_column(
        sa.ForeignKey("relationships.id", ondelete="CASCADE"), nullable=False, index=True
    )
    at: Mapped[datetime] = created_at_column()
    actor_id: Mapped[str | None] = mapped_column(sa.ForeignKey("users.id"))
    actor_name: Mapped[str] = mapped_column(sa.String(64), nullable=False, default="")
    from_status: Mapped[str] = mapped_column(sa.String(32), nullable=False, default="")
    to_status: Mapped[str] = mapped_column(sa.String(32), nullable=False)
    document_id: Mapped[str | None] = mapped_column(sa.ForeignKey("documents.id"))
    note: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")

    relationship: Mapped[Relationship] = relationship(back_populates="events")


class RelationshipEvidence(Base):
    __tablename__ = "relationship_evidence"

    relationship_id: Mapped[str] = mapped_column(
        sa.ForeignKey("relationships.id", ondelete="CASCADE"), primary_key=True
    )
    document_id: Mapped[str] = mapped_column(sa.ForeignKey("documents.id"), primary_key=True, index=True)
    attached_by_id: Mapped[str] = mapped_column(sa.ForeignKey("users.id"), nullable=False)
    attached_at: Mapped[datetime] = created_at_column()
    note: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")


class GenomicResult(Base):
    """The laboratory's findings, typed from the genomic_test_result document they belong to."""

    __tablename__ = "genomic_results"

    document_id: Mapped[str] = mapped_column(sa.ForeignKey("documents.id"), primary_key=True)
    laboratory: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    accreditation: Mapped[str] = mapped_column(sa.String(200), nullable=False, default="")
    # ISO/IEC 17025 accreditation and the day it expires: results used in court may require a valid one.
    accredited_iso17025: Mapped[bool] = mapped_column(
        sa.Boolean, nullable=False, default=False, server_default=sa.false()
    )
    accredited_until: Mapped[date | None] = mapped_column(sa.Date)
    reported_on: Mapped[date | None] = mapped_column(sa.Date)  # the laboratory's report; None: not recorded
    method: Mapped[str] = mapped_column(sa.String(16), nullable=False)
    loci_tested: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    # Loci where the persons' types are inconsistent with the relationship (lineage methods: differing markers).
    inconsistent_loci: Mapped[int | None] = mapped_column(sa.Integer)
    combined_relationship_index: Mapped[float | None] = mapped_column(sa.Float)
    probability_of_relatedness: Mapped[float | None] = mapped_column(sa.Float)  # percent, 0 to 100
    conclusion: Mapped[str] = mapped_column(sa.String(16), nullable=False)
    collected_by: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    collected_on: Mapped[date] = mapped_column(sa.Date, nullable=False)
    collected_where: Mapped[str] = mapped_column(sa.String(300), nullable=False)
    seal_numbers: Mapped[str] = mapped_column(sa.Text, nullable=False, default="[]")  # JSON list
    # The persons whose samples were typed (a duo or a trio), JSON list of ids; None: recorded before this was
    # asked, read as the persons the document names.
    tested_person_ids: Mapped[str | None] = mapped_column(sa.Text)
    # Each donor's identity document checked at collection: JSON list of {person_id, document_type,
    # document_number}; who checked them, and who witnessed the collection.
    identity_checks: Mapped[str] = mapped_column(sa.Text, nullable=False, default="[]", server_default="[]")
    identity_checked_by: Mapped[str] = mapped_column(sa.String(200), nullable=False, default="", server_default="")
    witness: Mapped[str] = mapped_column(sa.String(200), nullable=False, default="", server_default="")
    custody_notes: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    cost_minor: Mapped[int | None] = mapped_column(sa.BigInteger)  # in hundredths of the currency
    cost_currency: Mapped[str] = mapped_column(sa.String(3), nullable=False, default="KZT")
    cost_covered_by: Mapped[str] = mapped_column(sa.String(8), nullable=False, default=CostCoveredBy.STATE)
    recorded_by_id: Mapped[str] = mapped_column(sa.ForeignKey("users.id"), nullable=False)
    recorded_at: Mapped[datetime] = created_at_column()

    @property
    def seal_list(self) -> list[str]:
        return json.loads(self.seal_numbers)

    @property
    def tested(self) -> list[str] | None:
        return json.loads(self.tested_person_ids) if self.tested_person_ids else None

    @property
    def identity_list(self) -> list[dict[str, str]]:
        return json.loads(self.identity_checks)

    @property
    def lineage_only(self) -> bool:
        """Y-STR and mtDNA show a shared line, never which relative."""
        return self.method in (GenomicMethod.Y_STR, GenomicMethod.MTDNA)

    def accredited_on_report(self) -> bool:
        """ISO/IEC 17025 accreditation valid on the report's day (the collection day when none is recorded)."""
        day = self.reported_on or self.collected_on
        return self.accredited_iso17025 and self.accredited_until is not None and self.accredited_until >= day


class CourtRuling(Base):
    __tablename__ = "court_rulings"

    document_id: Mapped[str] = mapped_column(sa.ForeignKey("documents.id"), primary_key=True)
    court: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    case_number: Mapped[str] = mapped_column(sa.String(100), nullable=False)
    ruling_date: Mapped[date] = mapped_column(sa.Date, nullable=False)
    decision: Mapped[str] = mapped_column(sa.Text, nullable=False)
    appeal_status: Mapped[str] = mapped_column(sa.String(16), nullable=False, default=AppealStatus.OPEN)
    recorded_by_id: Mapped[str] = mapped_column(sa.ForeignKey("users.id"), nullable=False)
    recorded_at: Mapped[datetime] = created_at_column()

    established: Mapped[list[CourtRulingRelationship]] = relationship(cascade="all, delete-orphan", lazy="selectin")

    @property
    def relationship_ids(self) -> list[str]:
        return [link.relationship_id for link in self.established]


class CourtRulingRelationship(Base):
    """A relationship that a ruling establishes."""

    __tablename__ = "court_ruling_relationships"

    document_id: Mapped[str] = mapped_column(
        sa.ForeignKey("court_rulings.document_id", ondelete="CASCADE"), primary_key=True
    )
    relationship_id: Mapped[str] = mapped_column(sa.ForeignKey("relationships.id"), primary_key=True, index=True)
