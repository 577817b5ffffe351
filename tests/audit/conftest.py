"""Access-log fixtures: events written the way services write them, the real CLI, and a tamperer
with the powers of a database owner (triggers and foreign keys switched off)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result

from registry.audit.events import Action
from registry.audit.service import record
from registry.cli import main
from tests.audit.support import Clerk


@pytest.fixture
def write_events(runtime) -> Callable[..., list[int]]:
    """Append ``count`` person views, one committed transaction each; return their sequence numbers."""

    def write(count: int, who: Clerk | None = None, person_id: str = "p-1") -> list[int]:
        who = who or Clerk()
        seqs = []
        with runtime.sessions() as db:
            for i in range(count):
                seqs.append(
                    record(
                        db,
                        who,
                        Action.PERSON_VIEWED,
                        target_type="person",
                        target_id=person_id,
                        person_ids=[person_id],
                        details={"n": i},
                    )
                )
                db.commit()
        return seqs

    return write


@pytest.fixture
def cli(settings) -> Callable[..., Result]:
    """``registry ...`` through click, configured only by REGISTRY_* variables for this test's instance."""
    env = {
        "REGISTRY_DATABASE_URL": settings.database_url,
        "REGISTRY_STORAGE_URL": settings.storage_url,
        "REGISTRY_INSTANCE_PATH": settings.instance_path,
        "REGISTRY_AUDIT_SIGNING_KEY_FILE": settings.audit_signing_key_file,
        "REGISTRY_MASTER_KEY_FILE": settings.master_key_file,
        "REGISTRY_CONFIG": None,
    }

    def run(*args: str) -> Result:
        return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)

    return run


@pytest.fixture
def tamper(runtime) -> Callable[..., None]:
    """Run SQL as a database owner would: append-only triggers and foreign keys off, then commit.

    Each statement is SQL text, (SQL text, parameters) with :name parameters, or a Core statement.
    """

    def run(*statements: str | tuple[str, dict[str, Any]] | sa.Executable) -> None:
        postgres = runtime.engine.dialect.name == "postgresql"
        with runtime.engine.connect() as conn:
            raw = conn.connection.dbapi_connection
            if not postgres:
                raw.execute("PRAGMA foreign_keys = OFF")  # only outside a transaction
            try:
                if postgres:
                    conn.exec_driver_sql("SET LOCAL session_replication_role = replica")  # superuser only
                for statement in statements:
                    if isinstance(statement, sa.Executable):
                        conn.execute(statement)
                    else:
                        sql, params = (statement, {}) if isinstance(statement, str) else statement
                        conn.execute(sa.text(sql), params)
                conn.commit()
            finally:
                if not postgres:
                    raw.execute("PRAGMA foreign_keys = ON")

    return run
