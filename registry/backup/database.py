"""The database in one snapshot, by its own tools, and back.

SQLite: the online backup API copies every page at one instant while the registry
keeps running. PostgreSQL: ``pg_dump`` (custom format) of a snapshot exported by a
transaction that stays open while it runs; that same transaction reads the stored
objects and the access log's head, so a backup copies exactly the objects its dump
names, and checkpoints no later than its last event. A restore loads the dump with
the same tools (the backup API, ``pg_restore``), then migrates to this release.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from registry.audit.events import CHAIN_ID

SQLITE, POSTGRESQL = "sqlite", "postgresql"
FORMATS = {SQLITE: "sqlite3-database", POSTGRESQL: "pg_dump-custom"}
# Rows that make a deployment "not empty": a restore never mixes two registries.
CONTENT_TABLES = ("persons", "documents", "audit_events")


class DatabaseToolError(RuntimeError):
    """pg_dump or pg_restore failed or is missing; the message says which and why."""


@dataclass(frozen=True)
class Snapshot:
    """A dump file (plaintext: kept in a private folder and deleted after use) and what it names."""

    kind: str
    path: Path
    object_keys: tuple[str, ...]
    audit_seq: int
    audit_hash: str
    schema_revision: str


def kind_of(engine: Engine) -> str:
    return SQLITE if engine.dialect.name == "sqlite" else POSTGRESQL


@contextmanager
def dumped(engine: Engine, workdir: Path) -> Iterator[Snapshot]:
    """Dump the database into ``workdir`` at one instant; the file is removed when the block ends."""
    path = workdir / ("database.sqlite3" if kind_of(engine) == SQLITE else "database.pgdump")
    try:
        yield _dump_sqlite(engine, path) if kind_of(engine) == SQLITE else _dump_postgresql(engine, path)
    finally:
        path.unlink(missing_ok=True)


def _named(cursor) -> tuple[tuple[str, ...], int, str, str]:
    """What the snapshot names: stored object keys, the chain head, the schema revision."""
    # Objects an approved disposal deleted are not copied: a backup made after a disposal holds its record, not
    # its files (older backups still hold them until they are rotated out).
    cursor.execute("SELECT key FROM stored_objects WHERE disposed_at IS NULL ORDER BY key")
    keys = tuple(row[0] for row in cursor.fetchall())
    cursor.execute(f"SELECT seq, hash FROM audit_chain_head WHERE id = {CHAIN_ID:d}")
    head = cursor.fetchone() or (0, "")
    cursor.execute("SELECT version_num FROM alembic_version")
    revision = cursor.fetchone()
    return keys, int(head[0]), str(head[1]), str(revision[0]) if revision else ""


def _dump_sqlite(engine: Engine, path: Path) -> Snapshot:
    source = sqlite3.connect(str(_sqlite_path(engine)))
    target = sqlite3.connect(str(path))
    try:
        source.backup(target)  # all pages in one step: one consistent instant
        cursor = target.cursor()
        named = _named(cursor)
        cursor.close()
    finally:
        source.close()
        target.close()
    os.chmod(path, 0o600)
    return Snapshot(SQLITE, path, *named)


def _dump_postgresql(engine: Engine, path: Path) -> Snapshot:
    raw = engine.raw_connection()
    try:
        raw.rollback()  # the snapshot must begin with the next statement
        cursor = raw.cursor()
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        cursor.execute("SELECT pg_export_snapshot()")
        snapshot = cursor.fetchone()[0]
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.close(fd)
        _run_tool(engine, ["pg_dump", "--format=custom", f"--snapshot={snapshot}", f"--file={path}"])
        named = _named(cursor)  # the same snapshot the dump saw
        cursor.close()
    finally:
        raw.rollback()
        raw.close()
    return Snapshot(POSTGRESQL, path, *named)


def holds_content(engine: Engine) -> dict[str, int]:
    """Rows of persons, documents and access-log events already in the database (tables may not exist yet)."""
    found: dict[str, int] = {}
    existing = set(sa.inspect(engine).get_table_names())
    with engine.connect() as connection:
        for table in CONTENT_TABLES:
            if table in existing:
                count = connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()
                if count:
                    found[table] = int(count)
    return found


def load(engine: Engine, kind: str, path: Path) -> None:
    """Replace the (empty) database with the dump at ``path``."""
    if kind != kind_of(engine):
        raise DatabaseToolError(
            f"the backup holds a {kind} database and this deployment uses {kind_of(engine)}: "
            "restore into a deployment of the same kind"
        )
    engine.dispose()
    if kind == SQLITE:
        source = sqlite3.connect(str(path))
        target = sqlite3.connect(str(_sqlite_path(engine)))
        try:
            source.backup(target)
        finally:
            source.close()
            target.close()
        return
    # --clean drops the empty tables a migration may have made; ownership and grants are the deployer's
    # (config/postgres-app-role.sql is applied again after a restore, as after an upgrade).
    _run_tool(
        engine,
        [
            "pg_restore",
            "--clean",
            "--if-exists",
            "--no-owner",
            "--no-privileges",
            "--single-transaction",
            "--exit-on-error",
            str(path),
        ],
    )


def _sqlite_path(engine: Engine) -> Path:
    database = engine.url.database
    if not database or database == ":memory:":
        raise DatabaseToolError("an in-memory SQLite database cannot be backed up or restored")
    return Path(database)


def _run_tool(engine: Engine, command: list[str]) -> None:
    """Run a PostgreSQL client tool on the engine's database; the password travels in the environment."""
    tool = command[0]
    if shutil.which(tool) is None:
        raise DatabaseToolError(
            f"{tool} is not installed: install the PostgreSQL client (Debian: postgresql-client) "
            "of the server's major version or newer"
        )
    url = engine.url
    environment = dict(os.environ)
    if url.password:
        environment["PGPASSWORD"] = str(url.password)
    target = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    arguments = [tool, f"--dbname={target}", *command[1:]]
    done = subprocess.run(arguments, env=environment, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    if done.returncode != 0:
        raise DatabaseToolError(f"{tool} failed (exit {done.returncode}): {done.stderr.strip()[-2000:]}")
