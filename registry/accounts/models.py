"""Staff members, their roles (and the proposals that grant them), set-up links, sessions, API tokens
and NDA signatures."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.accounts.permissions import Permission, Role, permissions_for
from registry.db import Base, UTCDateTime, created_at_column, utcnow, uuid_pk


class User(Base):
    __tablename__ = "users"

    id: Mapped[str] = uuid_pk()
    username: Mapped[str] = mapped_column(sa.String(64), unique=True, nullable=False)
    full_name: Mapped[str] = mapped_column(sa.String(200), nullable=False, default="")
    password_hash: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    is_active: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=True)
    totp_secret: Mapped[str | None] = mapped_column(sa.String(255))
    totp_last_step: Mapped[int | None] = mapped_column(sa.BigInteger)
    locale: Mapped[str | None] = mapped_column(sa.String(8))
    # Other ways the person writes their full name (one a line: Cyrillic, Latin...), set by an administrator:
    # any of them, or full_name, signs the undertaking.
    other_spellings: Mapped[str] = mapped_column(sa.Text, nullable=False, default="", server_default="")
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    created_at: Mapped[datetime] = created_at_column()

    role_grants: Mapped[list[RoleGrant]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def roles(self) -> frozenset[Role]:
        return frozenset(Role(g.role) for g in self.role_grants)

    @property
    def permissions(self) -> frozenset[Permission]:
        return permissions_for(self.roles)

    @property
    def has_totp(self) -> bool:
        return self.totp_secret is not None

    @property
    def spellings(self) -> list[str]:
        """Every registered way of writing the person's full name, the main one first."""
        lines = [" ".join(line.split()) for line in [self.full_name, *self.other_spellings.splitlines()]]
        return list(dict.fromkeys(line for line in lines if line))


class RoleGrant(Base):
    __tablename__ = "role_grants"
    __table_args__ = (sa.UniqueConstraint("user_id", "role"),)

    id: Mapped[str] = uuid_pk()
    user_id: Mapped[str] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    role: Mapped[str] = mapped_column(sa.String(16), nullable=False)
    granted_at: Mapped[datetime] = created_at_column()
    user: Mapped[User] = relationship(back_populates="role_grants")


class RoleChangeStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class RoleChangeRequest(Base):
    """Roles one administrator proposed for an account: granted only when another administrator
    approves (never the proposer, never the account itself). Kept after the decision, for auditors."""

    __tablename__ = "role_change_requests"

    id: Mapped[str] = uuid_pk()
    user_id: Mapped[str] = mapped_column(sa.ForeignKey("users.id"), nullable=False, index=True)
    roles: Mapped[str] = mapped_column(sa.String(100), nullable=False)  # the roles to add, comma-separated
    reason: Mapped[str] = mapped_column(sa.String(500), nullable=False)
    proposed_by_id: Mapped[str] = mapped_column(sa.ForeignKey("users.id"), nullable=False)
    proposed_at: Mapped[datetime] = created_at_column()
    status: Mapped[str] = mapped_column(sa.String(16), nullable=False, default=RoleChangeStatus.PENDING)
    decided_by_id: Mapped[str | None] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="joined")
    proposed_by: Mapped[User] = relationship(foreign_keys=[proposed_by_id], lazy="joined")
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id], lazy="joined")

    @property
    def proposed_roles(self) -> frozenset[Role]:
        return frozenset(Role(r) for r in self.roles.split(",") if r)


class AccountSetupLink(Base):
    """A one-time link with which a new staff member chooses their own password.

    Only the token's hash is kept; the administrator sees the link once, to hand it over.
    """

    __tablename__ = "account_setup_links"

    id: Mapped[str] = uuid_pk()
    user_id: Mapped[str] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True, nullable=False)
    issued_by_id: Mapped[str | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = created_at_column()
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # replaced by a newer link
    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="joined")


class StaffSession(Base):
    """A server-side login session: revoking the row ends the session at once."""

    __tablename__ = "staff_sessions"

    id: Mapped[str] = uuid_pk()
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True, nullable=False)
    user_id: Mapped[str] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    created_at: Mapped[datetime] = created_at_column()
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    mfa_passed: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    ip: Mapped[str] = mapped_column(sa.String(64), nullable=False, default="")
    user: Mapped[User] = relationship(lazy="joined")


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[str] = uuid_pk()
    user_id: Mapped[str] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    name: Mapped[str] = mapped_column(sa.String(100), nullable=False, default="")
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True, nullable=False)
    prefix: Mapped[str] = mapped_column(sa.String(12), nullable=False)
    created_at: Mapped[datetime] = created_at_column()
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    user: Mapped[User] = relationship(lazy="joined")


class LoginAttempt(Base):
    """Failed and successful logins, the basis of per-account and per-address throttling."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        sa.Index("ix_login_attempts_username_at", "username", "at"),
        sa.Index("ix_login_attempts_ip_at", "ip", "at"),
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    ip: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    succeeded: Mapped[bool] = mapped_column(sa.Boolean, nullable=False)


class NdaVersion(Base):
    __tablename__ = "nda_versions"

    id: Mapped[str] = uuid_pk()
    version: Mapped[int] = mapped_column(sa.Integer, unique=True, nullable=False)
    title: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    text: Mapped[str] = mapped_column(sa.Text, nullable=False)
    text_sha256: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    effective_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    published_by_id: Mapped[str | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = created_at_column()
    translations: Mapped[list[NdaTranslation]] = relationship(lazy="selectin", order_by="NdaTranslation.language")


class NdaTranslation(Base):
    """The same undertaking in another language (the version's own title and text are the English).

    Each language's text has its own hash: a signature binds the text the signer read, in the language they read it.
    """

    __tablename__ = "nda_translations"
    __table_args__ = (sa.UniqueConstraint("nda_version_id", "language"),)

    id: Mapped[str] = uuid_pk()
    nda_version_id: Mapped[str] = mapped_column(sa.ForeignKey("nda_versions.id", ondelete="CASCADE"), nullable=False)
    language: Mapped[str] = mapped_column(sa.String(8), nullable=False)
    title: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    text: Mapped[str] = mapped_column(sa.Text, nullable=False)
    text_sha256: Mapped[str] = mapped_column(sa.String(64), nullable=False)


class NdaAcknowledgement(Base):
    __tablename__ = "nda_acknowledgements"
    __table_args__ = (sa.UniqueConstraint("user_id", "nda_version_id"),)

    id: Mapped[str] = uuid_pk()
    user_id: Mapped[str] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    nda_version_id: Mapped[str] = mapped_column(sa.ForeignKey("nda_versions.id"), nullable=False)
    text_sha256: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    language: Mapped[str] = mapped_column(sa.String(8), nullable=False, default="en", server_default="en")
    typed_full_name: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    ip: Mapped[str] = mapped_column(sa.String(64), nullable=False, default="")
    user_agent: Mapped[str] = mapped_column(sa.String(400), nullable=False, default="")
    nda_version: Mapped[NdaVersion] = relationship(lazy="joined")
    user: Mapped[User] = relationship()


class FormDraft(Base):
    """What a staff member had typed into a form when their session ended, kept for them to finish.

    Sealed with the application's key (bound to the user and the page), kept an hour at most, deleted when
    the form is shown again. Passwords, codes and CSRF tokens are never kept.
    """

    __tablename__ = "form_drafts"
    __table_args__ = (sa.UniqueConstraint("user_id", "path"),)

    id: Mapped[str] = uuid_pk()
    user_id: Mapped[str] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    path: Mapped[str] = mapped_column(sa.String(300), nullable=False)
    sealed: Mapped[str] = mapped_column(sa.Text, nullable=False)
    created_at: Mapped[datetime] = created_at_column()
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, index=True)
