"""Genomic results carry what the evidence policy weighs: inconsistent loci, the persons tested (a duo or a
trio), the donors' identity checks, the collection's witness, and the laboratory's ISO/IEC 17025
accreditation with its expiry and the report date.

Results recorded before have none of these: their inconsistent loci, tested persons, expiry and report date
are NULL (tested persons read as the persons the document names), the accreditation flag false, the identity
checks an empty list and the names empty.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("genomic_results", schema=None) as batch_op:
        batch_op.add_column(sa.Column("accredited_iso17025", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column("accredited_until", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("reported_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("inconsistent_loci", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("tested_person_ids", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("identity_checks", sa.Text(), server_default="[]", nullable=False))
        batch_op.add_column(sa.Column("identity_checked_by", sa.String(length=200), server_default="", nullable=False))
        batch_op.add_column(sa.Column("witness", sa.String(length=200), server_default="", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("genomic_results", schema=None) as batch_op:
        batch_op.drop_column("witness")
        batch_op.drop_column("identity_checked_by")
        batch_op.drop_column("identity_checks")
        batch_op.drop_column("tested_person_ids")
        batch_op.drop_column("inconsistent_loci")
        batch_op.drop_column("reported_on")
        batch_op.drop_column("accredited_until")
        batch_op.drop_column("accredited_iso17025")
