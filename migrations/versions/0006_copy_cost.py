"""A version keeps the estimated cost of drawing its viewing copy, so a heavy file is drawn in its own
lane and small uploads are not queued behind it. Versions uploaded before have no estimate (NULL).

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("document_versions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("copy_cost", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("document_versions", schema=None) as batch_op:
        batch_op.drop_column("copy_cost")
