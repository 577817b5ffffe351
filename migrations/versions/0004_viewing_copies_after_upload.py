"""Viewing copies are made after the upload answers: a version records whether its copy is
pending, ready or failed (and why), and which worker holds the job.

Existing versions all have their copy, so they are `ready`.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

import registry.db

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("document_versions", schema=None) as batch_op:
        batch_op.alter_column("viewing_id", existing_type=sa.String(length=36), nullable=True)
        batch_op.add_column(sa.Column("viewing_status", sa.String(length=16), nullable=False, server_default="ready"))
        batch_op.add_column(sa.Column("viewing_problem", sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column("viewing_claim", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("viewing_claimed_at", registry.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_document_versions_viewing_status"), ["viewing_status"], unique=False)
    with op.batch_alter_table("document_versions", schema=None) as batch_op:
        batch_op.alter_column("viewing_status", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("document_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_document_versions_viewing_status"))
        batch_op.drop_column("viewing_claimed_at")
        batch_op.drop_column("viewing_claim")
        batch_op.drop_column("viewing_problem")
        batch_op.drop_column("viewing_status")
        batch_op.alter_column("viewing_id", existing_type=sa.String(length=36), nullable=False)
