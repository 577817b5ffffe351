"""Content fingerprints instead of plain SHA-256: stored_objects.fingerprint holds a keyed HMAC-SHA-256 of the
plaintext ("hmac-sha256:<master key id>:<hex>"), so that nobody holding only the database or a backup can
confirm a guessed document by hashing it; document_versions loses its copy of the hash (a version's
fingerprint is its original's).

Existing rows keep their plain hash, marked as such ("sha256:<hex>") and still checked on every read, until
`registry keys refingerprint` replaces it (`registry init` says how many remain). Downgrading is refused once
any keyed fingerprint exists: a plain hash cannot be recovered from it.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("stored_objects", schema=None) as batch_op:
        batch_op.add_column(sa.Column("fingerprint", sa.String(length=160), nullable=True))
    op.execute("UPDATE stored_objects SET fingerprint = 'sha256:' || sha256")
    with op.batch_alter_table("stored_objects", schema=None) as batch_op:
        batch_op.alter_column("fingerprint", existing_type=sa.String(length=160), nullable=False)
        batch_op.drop_index(batch_op.f("ix_stored_objects_sha256"))
        batch_op.drop_column("sha256")
        batch_op.create_index(batch_op.f("ix_stored_objects_fingerprint"), ["fingerprint"], unique=False)
    with op.batch_alter_table("document_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_document_versions_sha256"))
        batch_op.drop_column("sha256")


def downgrade() -> None:
    keyed = op.get_bind().scalar(sa.text("SELECT count(*) FROM stored_objects WHERE fingerprint NOT LIKE 'sha256:%'"))
    if keyed:
        raise RuntimeError(
            f"{keyed} objects have keyed fingerprints, from which no plain SHA-256 can be recovered: "
            "this database cannot go back before revision 0009"
        )
    with op.batch_alter_table("document_versions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sha256", sa.String(length=64), nullable=True))
    with op.batch_alter_table("stored_objects", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sha256", sa.String(length=64), nullable=True))
    op.execute("UPDATE stored_objects SET sha256 = substr(fingerprint, 8)")
    op.execute(
        "UPDATE document_versions SET sha256 = (SELECT sha256 FROM stored_objects "
        "WHERE stored_objects.id = document_versions.original_id)"
    )
    with op.batch_alter_table("stored_objects", schema=None) as batch_op:
        batch_op.alter_column("sha256", existing_type=sa.String(length=64), nullable=False)
        batch_op.drop_index(batch_op.f("ix_stored_objects_fingerprint"))
        batch_op.create_index(batch_op.f("ix_stored_objects_sha256"), ["sha256"], unique=False)
        batch_op.drop_column("fingerprint")
    with op.batch_alter_table("document_versions", schema=None) as batch_op:
        batch_op.alter_column("sha256", existing_type=sa.String(length=64), nullable=False)
        batch_op.create_index(batch_op.f("ix_document_versions_sha256"), ["sha256"], unique=False)
