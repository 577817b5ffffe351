"""Possible same person: blocking keys per person (person_match_keys), the pairs offered for review and their
decisions (person_match_pairs), merges with what each moved (person_merges), and the pointer from a merged record
to its survivor (persons.merged_into_id). Existing persons get their keys here.

Revision ID: 0011
Revises: 0010 (0010 once the legal-hold migration lands)
"""

from datetime import date

import sqlalchemy as sa
from alembic import op

import registry.db

revision = "0011"
# 0010 (legal holds) is written elsewhere: set to '0010' when both are merged.
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "person_match_keys",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("person_id", sa.String(length=36), nullable=False),
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_person_match_keys_person_id_persons"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person_match_keys")),
    )
    with op.batch_alter_table("person_match_keys", schema=None) as batch_op:
        batch_op.create_index("ix_person_match_keys_key", ["key", "person_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_person_match_keys_person_id"), ["person_id"], unique=False)

    op.create_table(
        "person_match_pairs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("person_a_id", sa.String(length=36), nullable=False),
        sa.Column("person_b_id", sa.String(length=36), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("probability", sa.Float(), nullable=False),
        sa.Column("found_at", registry.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_at", registry.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decided_by_id", sa.String(length=36), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["decided_by_id"], ["users.id"], name=op.f("fk_person_match_pairs_decided_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["person_a_id"], ["persons.id"], name=op.f("fk_person_match_pairs_person_a_id_persons")
        ),
        sa.ForeignKeyConstraint(
            ["person_b_id"], ["persons.id"], name=op.f("fk_person_match_pairs_person_b_id_persons")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person_match_pairs")),
        sa.UniqueConstraint("person_a_id", "person_b_id", name=op.f("uq_person_match_pairs_person_a_id")),
    )
    with op.batch_alter_table("person_match_pairs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_person_match_pairs_person_b_id"), ["person_b_id"], unique=False)
        batch_op.create_index("ix_person_match_pairs_status", ["status", "probability"], unique=False)

    op.create_table(
        "person_merges",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("survivor_id", sa.String(length=36), nullable=False),
        sa.Column("merged_id", sa.String(length=36), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("merged_by_id", sa.String(length=36), nullable=True),
        sa.Column("merged_at", registry.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("moved", sa.Text(), nullable=False),
        sa.Column("undone_at", registry.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("undone_by_id", sa.String(length=36), nullable=True),
        sa.Column("undo_reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["merged_by_id"], ["users.id"], name=op.f("fk_person_merges_merged_by_id_users")),
        sa.ForeignKeyConstraint(["merged_id"], ["persons.id"], name=op.f("fk_person_merges_merged_id_persons")),
        sa.ForeignKeyConstraint(["survivor_id"], ["persons.id"], name=op.f("fk_person_merges_survivor_id_persons")),
        sa.ForeignKeyConstraint(["undone_by_id"], ["users.id"], name=op.f("fk_person_merges_undone_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person_merges")),
    )
    with op.batch_alter_table("person_merges", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_person_merges_merged_id"), ["merged_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_person_merges_survivor_id"), ["survivor_id"], unique=False)

    # Added in place, never by a batch copy of the table: on SQLite dropping the old persons table would cascade
    # to every name, search key and case link. For the same reason the column has no foreign key (SQLite cannot
    # drop such a column in place); the merge code only ever points it at an existing person.
    op.add_column("persons", sa.Column("merged_into_id", sa.String(length=36), nullable=True))
    op.create_index(op.f("ix_persons_merged_into_id"), "persons", ["merged_into_id"], unique=False)
    _key_existing_persons()


def _key_existing_persons() -> None:
    """Every registered person gets the blocking keys a new registration would (registry.matching.keys)."""
    from registry.matching.keys import match_keys

    bind = op.get_bind()
    names: dict[str, list[tuple[str, str, str]]] = {}
    for person_id, family, given, patronymic in bind.execute(
        sa.text("SELECT person_id, family_name, given_name, patronymic FROM person_names")
    ):
        names.setdefault(person_id, []).append((family, given, patronymic))
    keys = sa.table("person_match_keys", sa.column("person_id", sa.String), sa.column("key", sa.String))
    rows = []
    for person_id, born, precision in bind.execute(sa.text("SELECT id, birth_date, birth_date_precision FROM persons")):
        if isinstance(born, str):
            born = date.fromisoformat(born)
        rows.extend({"person_id": person_id, "key": k} for k in match_keys(names.get(person_id, []), born, precision))
    if rows:
        op.bulk_insert(keys, rows)


def downgrade() -> None:
    op.drop_index(op.f("ix_persons_merged_into_id"), table_name="persons")
    op.execute("ALTER TABLE persons DROP COLUMN merged_into_id")  # in place (see upgrade)

    with op.batch_alter_table("person_merges", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_person_merges_survivor_id"))
        batch_op.drop_index(batch_op.f("ix_person_merges_merged_id"))

    op.drop_table("person_merges")
    with op.batch_alter_table("person_match_pairs", schema=None) as batch_op:
        batch_op.drop_index("ix_person_match_pairs_status")
        batch_op.drop_index(batch_op.f("ix_person_match_pairs_person_b_id"))

    op.drop_table("person_match_pairs")
    with op.batch_alter_table("person_match_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_person_match_keys_person_id"))
        batch_op.drop_index("ix_person_match_keys_key")

    op.drop_table("person_match_keys")
