"""Who acts in these tests, and the writers of the concurrency tests (importable by child processes)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from registry.audit.events import CHAIN_ID, Action
from registry.audit.models import AuditChainHead
from registry.audit.service import record
from registry.db import make_engine, make_session_factory

ROLLED_BACK_EVERY = 7


@dataclass(frozen=True)
class Clerk:
    """A subject for ``record``: who acts and from where."""

    username: str = "clerk1"
    user_id: str | None = None
    ip: str = "192.0.2.44"
    user_agent: str = "pytest"
    request_id: str = "req"


def append_views(sessions: sessionmaker[Session], writer: str, count: int) -> None:
    """``count`` committed views from one session kept across transactions; every 7th attempt rolls back.

    Some transactions hold two events, so writers interleave at every possible point. The
    session keeps the chain head it read first (as a status page might), so a copy left in
    the identity map would be reused if ``record`` did not re-read the head under its lock.
    """
    with sessions() as db:
        seen_head = db.get(AuditChainHead, CHAIN_ID)
        done = attempt = 0
        while done < count:
            attempt += 1
            record(
                db,
                Clerk(username=writer),
                Action.PERSON_VIEWED,
                target_type="person",
                target_id=f"{writer}:{done}",
                person_ids=[writer],
            )
            if attempt % ROLLED_BACK_EVERY == 0:
                db.rollback()  # a failed request: its event must leave no gap
                continue
            done += 1
            if done % 5 == 0 and done < count:
                record(
                    db,
                    Clerk(username=writer),
                    Action.PERSON_VIEWED,
                    target_type="person",
                    target_id=f"{writer}:{done}",
                    person_ids=[writer],
                )
                done += 1
            db.commit()
    assert seen_head is not None


def append_from_process(url: str, writer: str, threads: int, count: int) -> None:
    """A worker process like a gunicorn worker: its own engine, several threads."""
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    with ThreadPoolExecutor(threads) as pool:
        for future in [pool.submit(append_views, sessions, f"{writer}.{t}", count) for t in range(threads)]:
            future.result()
    engine.dispose()
