"""A merge of two person records needs a second clerk: the pair keeps the proposal (who, when, which record
stays) until another clerk approves or rejects it, and a merge names the clerk who approved it.

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

import registry.db

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("person_match_pairs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("proposed_by_id", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("proposed_at", registry.db.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("survivor_id", sa.String(length=36), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_person_match_pairs_proposed_by_id_users"), "users", ["proposed_by_id"], ["id"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_person_match_pairs_survivor_id_persons"), "persons", ["survivor_id"], ["id"]
        )
    with op.batch_alter_table("person_merges", schema=None) as batch_op:
        batch_op.add_column(sa.Column("approved_by_id", sa.String(length=36), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_person_merges_approved_by_id_users"), "users", ["approved_by_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("person_merges", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_person_merges_approved_by_id_users"), type_="foreignkey")
        batch_op.drop_column("approved_by_id")
    with op.batch_alter_table("person_match_pairs", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_person_match_pairs_survivor_id_persons"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_person_match_pairs_proposed_by_id_users"), type_="foreignkey")
        batch_op.drop_column("survivor_id")
        batch_op.drop_column("proposed_at")
        batch_op.drop_column("proposed_by_id")
