"""Separation of duties: roles granted on the web wait for a second administrator
(role_change_requests), and new accounts are set up by their owner through a one-time
link (account_setup_links, only the token's hash kept).

Existing accounts keep the roles they have; no existing row changes.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

import registry.db

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "account_setup_links",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("issued_by_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", registry.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", registry.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", registry.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", registry.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["issued_by_id"], ["users.id"], name=op.f("fk_account_setup_links_issued_by_id_users")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_account_setup_links_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_setup_links")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_account_setup_links_token_hash")),
    )
    op.create_index(op.f("ix_account_setup_links_user_id"), "account_setup_links", ["user_id"], unique=False)
    op.create_table(
        "role_change_requests",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("roles", sa.String(length=100), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("proposed_by_id", sa.String(length=36), nullable=False),
        sa.Column("proposed_at", registry.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("decided_by_id", sa.String(length=36), nullable=True),
        sa.Column("decided_at", registry.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["decided_by_id"], ["users.id"], name=op.f("fk_role_change_requests_decided_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["proposed_by_id"], ["users.id"], name=op.f("fk_role_change_requests_proposed_by_id_users")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_role_change_requests_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_role_change_requests")),
    )
    op.create_index(op.f("ix_role_change_requests_user_id"), "role_change_requests", ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_role_change_requests_user_id"), table_name="role_change_requests")
    op.drop_table("role_change_requests")
    op.drop_index(op.f("ix_account_setup_links_user_id"), table_name="account_setup_links")
    op.drop_table("account_setup_links")
