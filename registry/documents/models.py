"""Documents, their versions (never deleted), the persons they concern, and stored objects."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.accounts.models import User
from registry.db import Base, UTCDateTime, created_at_column, uuid_pk


class PersonRole(StrEnum):
    SUBJECT = "subject"
    MOTHER = "mother"
    FATHER = "father"
    CHILD = "child"
    ALLEGED_PARENT = "alleged_parent"
    APPLICANT = "applicant"


class ViewingStatus(StrEnum):
    """The viewing copy is made after the upload answers (rendering 30 scanned pages takes seconds)."""

    PENDING = "pending"
    READY = "ready"
    FAILED = "failed"


class StoredObject(Base):
    """One encrypted object in the store; the key names nothing about its contents."""

    __tablename__ = "stored_objects"

    id: Mapped[str] = uuid_pk()
    key: Mapped[str] = mapped_column(sa.String(200), unique=True, nullable=False)
    size: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    # A keyed hash of the plaintext (storage.fingerprint): finds duplicates and checks every read, but
    # nobody holding only the database or a backup can test a guessed document against it.
    fingerprint: Mapped[str] = mapped_column(sa.String(160), nullable=False, index=True)
    key_id: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    wrapped_key: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    content_type: Mapped[str] = mapped_column(sa.String(100), nullable=False)
    created_at: Mapped[datetime] = created_at_column()
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The bytes were deleted by an approved disposal (retention); the row stays, and nothing reads the object.
    disposed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Document(Base):
    __tablename__ = "documents"

    id: Mapped[str] = uuid_pk()
    kind: Mapped[str] = mapped_column(sa.String(32), nullable=False)
    title: Mapped[str] = mapped_column(sa.String(300), nullable=False)
    fields: Mapped[str] = mapped_column(sa.Text, nullable=False, default="{}")
    created_by_id: Mapped[str] = mapped_column(sa.ForeignKey("users.id"), nullable=False)
    created_at: Mapped[datetime] = created_at_column()

    versions: Mapped[list[DocumentVersion]] = relationship(
        back_populates="document", order_by="DocumentVersion.number", lazy="selectin"
    )
    persons: Mapped[list[DocumentPerson]] = relationship(cascade="all, delete-orphan", lazy="selectin")

    @property
    def current(self) -> DocumentVersion:
        return self.versions[-1]

    @property
    def person_ids(self) -> list[str]:
        return [link.person_id for link in self.persons]

    @property
    def disposed(self) -> bool:
        """Its files were disposed of under the retention schedule (every version at once)."""
        return any(version.disposed for version in self.versions)


class DocumentVersion(Base):
    __tablename__ = "document_versions"
    __table_args__ = (sa.UniqueConstraint("document_id", "number"),)

    id: Mapped[str] = uuid_pk()
    document_id: Mapped[str] = mapped_column(sa.ForeignKey("documents.id"), nullable=False, index=True)
    number: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    reason: Mapped[str] = mapped_column(sa.String(500), nullable=False, default="")
    filename: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    content_type: Mapped[str] = mapped_column(sa.String(100), nullable=False)
    size: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    original_id: Mapped[str] = mapped_column(sa.ForeignKey("stored_objects.id"), nullable=False)
    viewing_id: Mapped[str | None] = mapped_column(sa.ForeignKey("stored_objects.id"))
    viewing_status: Mapped[str] = mapped_column(
        sa.String(16), nullable=False, index=True, default=ViewingStatus.PENDING
    )
    # Why no copy could be made: {"reason": <inspection.REFUSALS key>, "params": {name: int}}.
    viewing_problem: Mapped[str | None] = mapped_column(sa.String(300))
    # Which worker is making the copy, and when the last attempt began: a claim older than the lease
    # is taken up again, and an attempt that failed is retried once a lease has passed.
    viewing_claim: Mapped[str | None] = mapped_column(sa.String(36))
    viewing_claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    pages: Mapped[int | None] = mapped_column(sa.Integer)
    # Estimated CPU milliseconds of drawing the viewing copy, measured when the upload was opened: heavy
    # copies are drawn in their own lane (documents.copies). None: uploaded before there was an estimate.
    copy_cost: Mapped[int | None] = mapped_column(sa.Integer)
    uploaded_by_id: Mapped[str] = mapped_column(sa.ForeignKey("users.id"), nullable=False)
    uploaded_at: Mapped[datetime] = created_at_column()
    # The approved disposal that deleted this version's files (its record, like every version, stays).
    disposal_id: Mapped[str | None] = mapped_column(sa.ForeignKey("disposals.id"))

    document: Mapped[Document] = relationship(back_populates="versions")
    original: Mapped[StoredObject] = relationship(foreign_keys=[original_id], lazy="joined")
    viewing: Mapped[StoredObject | None] = relationship(foreign_keys=[viewing_id], lazy="joined")
    uploaded_by: Mapped[User] = relationship(lazy="joined")

    @property
    def fingerprint(self) -> str:
        return self.original.fingerprint

    @property
    def disposed(self) -> bool:
        return self.disposal_id is not None


class DocumentPerson(Base):
    __tablename__ = "document_persons"

    document_id: Mapped[str] = mapped_column(sa.ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True)
    person_id: Mapped[str] = mapped_column(sa.ForeignKey("persons.id"), primary_key=True, index=True)
    role: Mapped[str] = mapped_column(sa.String(24), primary_key=True)


# A version names the disposal that took its files: that table belongs in every metadata that holds this one.
from registry.holds import models as _holds  # noqa: E402,F401
