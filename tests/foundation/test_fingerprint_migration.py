"""Migration 0009: plain SHA-256 columns become fingerprints, marked as plain until `keys refingerprint`."""

from __future__ import annotations

import hashlib

import pytest
import sqlalchemy as sa
from alembic import command

from registry.db import make_engine
from registry.migrate import alembic_config

REVISION = "0009"
SHA256 = hashlib.sha256(b"birth record").hexdigest()


def _migrate(engine, step, revision: str) -> None:
    with engine.begin() as connection:
        config = alembic_config(engine)
        config.attributes["connection"] = connection
        step(config, revision)


def _insert_object(conn, key: str, **hash_column: str) -> None:
    ((column, value),) = hash_column.items()
    conn.execute(
        sa.text(
            f"INSERT INTO stored_objects (id, key, size, {column}, key_id, wrapped_key, content_type, "
            f"created_at) VALUES (:id, :key, 12, :value, 'mk-1', 'w', 'image/png', CURRENT_TIMESTAMP)"
        ),
        {"id": key[-36:], "key": key, "value": value},
    )


@pytest.fixture
def engine(database_url):
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def test_a_plain_hash_becomes_a_plain_fingerprint_and_a_keyed_one_cannot_go_back(engine):
    _migrate(engine, command.downgrade, "0008")
    with engine.begin() as conn:
        _insert_object(conn, "objects/00000000-0000-0000-0000-000000000001", sha256=SHA256)

    _migrate(engine, command.upgrade, REVISION)

    with engine.begin() as conn:
        assert conn.scalar(sa.text("SELECT fingerprint FROM stored_objects")) == f"sha256:{SHA256}"
        _insert_object(conn, "objects/00000000-0000-0000-0000-000000000002", fingerprint="hmac-sha256:mk-1:" + "a" * 64)
    with pytest.raises(RuntimeError, match="keyed fingerprints"):
        _migrate(engine, command.downgrade, "0008")

    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM stored_objects WHERE fingerprint LIKE 'hmac-sha256:%'"))
    _migrate(engine, command.downgrade, "0008")
    with engine.connect() as conn:
        assert conn.scalar(sa.text("SELECT sha256 FROM stored_objects")) == SHA256
