"""Legal holds and disposal under the retention schedule: legal_holds (a person, a case or a document kept from
disposal until lifted; lifted rows stay), disposals with their disposal_items (proposed by one member of staff,
approved or rejected by another, the signed record kept), document_versions.disposal_id (the disposal that took a
version's files) and stored_objects.disposed_at (the object's bytes were deleted on purpose).

No existing row changes: nothing is held and nothing disposed of. Downgrading is refused once a disposal was
approved: the record of which files were deleted, and why, must not be dropped.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

import registry.db

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "disposals",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("proposed_by_id", sa.String(length=36), nullable=False),
        sa.Column("proposed_at", registry.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_by_id", sa.String(length=36), nullable=True),
        sa.Column("decided_at", registry.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decision_reason", sa.String(length=1000), nullable=False),
        sa.Column("record", sa.Text(), nullable=True),
        sa.Column("signature", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(["decided_by_id"], ["users.id"], name=op.f("fk_disposals_decided_by_id_users")),
        sa.ForeignKeyConstraint(["proposed_by_id"], ["users.id"], name=op.f("fk_disposals_proposed_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disposals")),
    )
    op.create_table(
        "legal_holds",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("target_type", sa.String(length=16), nullable=False),
        sa.Column("target_id", sa.String(length=36), nullable=False),
        sa.Column("reason", sa.String(length=1000), nullable=False),
        sa.Column("placed_by_id", sa.String(length=36), nullable=False),
        sa.Column("placed_at", registry.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("lifted_at", registry.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("lifted_by_id", sa.String(length=36), nullable=True),
        sa.Column("lift_reason", sa.String(length=1000), nullable=False),
        sa.ForeignKeyConstraint(["lifted_by_id"], ["users.id"], name=op.f("fk_legal_holds_lifted_by_id_users")),
        sa.ForeignKeyConstraint(["placed_by_id"], ["users.id"], name=op.f("fk_legal_holds_placed_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_legal_holds")),
    )
    op.create_index("ix_legal_holds_target", "legal_holds", ["target_type", "target_id"], unique=False)
    op.create_table(
        "disposal_items",
        sa.Column("disposal_id", sa.String(length=36), nullable=False),
        sa.Column("document_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("newest_upload", registry.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("years", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("kept_because", sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(
            ["disposal_id"], ["disposals.id"], name=op.f("fk_disposal_items_disposal_id_disposals"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["document_id"], ["documents.id"], name=op.f("fk_disposal_items_document_id_documents")
        ),
        sa.PrimaryKeyConstraint("disposal_id", "document_id", name=op.f("pk_disposal_items")),
    )
    op.create_index(op.f("ix_disposal_items_document_id"), "disposal_items", ["document_id"], unique=False)
    with op.batch_alter_table("document_versions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("disposal_id", sa.String(length=36), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_document_versions_disposal_id_disposals"), "disposals", ["disposal_id"], ["id"]
        )
    with op.batch_alter_table("stored_objects", schema=None) as batch_op:
        batch_op.add_column(sa.Column("disposed_at", registry.db.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    approved = op.get_bind().scalar(sa.text("SELECT count(*) FROM disposals WHERE status = 'approved'"))
    if approved:
        raise RuntimeError(
            f"{approved} disposals were approved: their files are gone and their records would be "
            "dropped; this database cannot go back before revision 0010"
        )
    with op.batch_alter_table("stored_objects", schema=None) as batch_op:
        batch_op.drop_column("disposed_at")
    with op.batch_alter_table("document_versions", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_document_versions_disposal_id_disposals"), type_="foreignkey")
        batch_op.drop_column("disposal_id")
    op.drop_index(op.f("ix_disposal_items_document_id"), table_name="disposal_items")
    op.drop_table("disposal_items")
    op.drop_index("ix_legal_holds_target", table_name="legal_holds")
    op.drop_table("legal_holds")
    op.drop_table("disposals")
