"""Database engine, declarative base and the per-request session.

SQLite (embedded default) takes its write lock at BEGIN (``BEGIN IMMEDIATE``):
every request writes at least one access-log event, and the hash chain must
read the previous event after the lock is held, never before.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

log = logging.getLogger("registry")

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return str(uuid.uuid4())


class UTCDateTime(sa.types.TypeDecorator):
    """Timestamps stored as UTC and always returned timezone-aware (SQLite forgets the zone)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


def uuid_pk() -> Mapped[str]:
    return mapped_column(sa.String(36), primary_key=True, default=new_id)


def created_at_column() -> Mapped[datetime]:
    return mapped_column(UTCDateTime(), default=utcnow, nullable=False)


def rows_changed(db: Session, statement: sa.Executable) -> int:
    """How many rows an UPDATE or DELETE changed: a claim that must win exactly once checks it is 1."""
    result: sa.CursorResult[Any] = db.execute(statement)  # type: ignore[assignment]
    return result.rowcount


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        _configure_sqlite(engine)
        return engine
    return sa.create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None  # let us emit BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    factory = sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)
    event.listen(factory, "after_commit", _run_after_commit)
    event.listen(factory, "after_soft_rollback", _run_after_rollback)
    return factory


def on_commit(session: Session, action: Callable[[], None]) -> None:
    """Run ``action`` once the transaction commits (for example: lock a WORM object)."""
    session.info.setdefault("after_commit", []).append(action)


def on_rollback(session: Session, action: Callable[[], None]) -> None:
    """Run ``action`` if the transaction rolls back (for example: delete an object it stored)."""
    session.info.setdefault("after_rollback", []).append(action)


def _run(actions: list[Callable[[], None]]) -> None:
    for action in actions:
        try:
            action()
        except Exception:  # a cleanup must not hide the outcome; scrub finds what it missed
            log.exception("post-transaction action failed")


def _run_after_commit(session: Session) -> None:
    session.info.pop("after_rollback", None)
    _run(session.info.pop("after_commit", []))


def _run_after_rollback(session: Session, previous_transaction) -> None:
    if previous_transaction.parent is None:
        session.info.pop("after_commit", None)
        _run(session.info.pop("after_rollback", []))
