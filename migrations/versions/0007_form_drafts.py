"""Forms and languages: what a staff member typed when their session ended is kept for them (form_drafts,
sealed, an hour at most); each undertaking version is published in several languages (nda_translations, one
hash per text) and a signature records the language signed; an account may carry other spellings of its
owner's full name (users.other_spellings), any of which signs.

Existing signatures were all made on the English text: they get language 'en'.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

import registry.db

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "form_drafts",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("path", sa.String(length=300), nullable=False),
        sa.Column("sealed", sa.Text(), nullable=False),
        sa.Column("created_at", registry.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", registry.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_form_drafts_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_form_drafts")),
        sa.UniqueConstraint("user_id", "path", name=op.f("uq_form_drafts_user_id")),
    )
    op.create_index(op.f("ix_form_drafts_expires_at"), "form_drafts", ["expires_at"], unique=False)
    op.create_table(
        "nda_translations",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("nda_version_id", sa.String(length=36), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("text_sha256", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["nda_version_id"],
            ["nda_versions.id"],
            name=op.f("fk_nda_translations_nda_version_id_nda_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nda_translations")),
        sa.UniqueConstraint("nda_version_id", "language", name=op.f("uq_nda_translations_nda_version_id")),
    )
    with op.batch_alter_table("nda_acknowledgements", schema=None) as batch_op:
        batch_op.add_column(sa.Column("language", sa.String(length=8), server_default="en", nullable=False))
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("other_spellings", sa.Text(), server_default="", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("other_spellings")
    with op.batch_alter_table("nda_acknowledgements", schema=None) as batch_op:
        batch_op.drop_column("language")
    op.drop_table("nda_translations")
    op.drop_index(op.f("ix_form_drafts_expires_at"), table_name="form_drafts")
    op.drop_table("form_drafts")
