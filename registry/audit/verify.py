"""Re-walk the chain and check it against the signed checkpoints.

Reads rows with a plain DB-API cursor in keyset batches inside one read-only
snapshot: a million events must verify in seconds (the ORM would spend most of
that building objects), and rows and chain head must be seen at one instant
while the application keeps writing. An untouched batch is checked with list
operations; a large log is split into spans checked by worker processes, one
per processor, and stitched together here.

The walk stops at the first break and names what happened there: an edited,
deleted, inserted or reordered event, a rewritten stretch that only a signed
checkpoint can reveal, or a tail cut off after the last checkpoint. Events that
no checkpoint covers although the registry signs within a witness interval (an
unwitnessed tail) are reported too, and so is what the store cannot show.
"""

from __future__ import annotations

import hashlib
import logging
import multiprocessing
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import chain
from typing import TYPE_CHECKING

from registry.audit.events import CHAIN_ID, GENESIS_HASH, Action, canonical_event, canonical_strings
from registry.db import utcnow
from registry.settings import Settings

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from sqlalchemy.engine import Engine

    from registry.audit.checkpoints import Checkpoint
    from storage import ObjectStore

BATCH = 20_000
PARALLEL_FROM = 200_000  # events; below this one process finishes before workers would have started
WORKERS = min(os.cpu_count() or 1, 8)
# The hashed time text, made by the database: 'YYYY-MM-DDTHH:MM:SS.ffffffZ' in UTC. SQLite keeps
# the text SQLAlchemy wrote, 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC); any other text fails the hash.
_TIME = {
    "postgresql": "to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')",
    "sqlite": "replace(at, ' ', 'T') || 'Z'",
}
_FIELDS = (
    "actor_id, actor_name, action, outcome, target_type, target_id, person_ids, ip, user_agent, "
    "request_id, reason, details, prev_hash, hash"
)
SEQ, PERSONS, PREV, HASH, LINKED = 0, 8, 14, 15, 16  # positions in a row
log = logging.getLogger("registry.audit")


@dataclass
class VerifyReport:
    events: int = 0
    checkpoints: int = 0
    last_seq: int = 0
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what this verification cannot rule out, and why

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class _Position:
    """Where the walk stands: the next sequence number, and the hashes of the two events before it."""

    expected: int = 1
    previous: str = GENESIS_HASH
    earlier: str | None = None


def verify_log(
    engine: Engine, store: ObjectStore, public: Ed25519PublicKey, *, witness_seconds: int, now: datetime | None = None
) -> VerifyReport:
    """Everything `registry audit verify` checks: the checkpoints (every version where the store keeps
    them), the chain against them, and notes on what the store cannot show."""
    from registry.audit.checkpoints import read_checkpoints  # here: workers preload this module, not the store's

    checkpoints, problems = read_checkpoints(store, public)
    report = verify_chain(engine, checkpoints, now=now, witness_seconds=witness_seconds)
    report.problems[:0] = problems
    report.notes = [*_store_limits(store), *_unlockable_starts(engine)]
    return report


def _store_limits(store: ObjectStore) -> list[str]:
    if store.supports_lock():
        return []
    keeps_versions = getattr(store, "keeps_versions", None)
    if keeps_versions is not None and keeps_versions():
        return [
            "this bucket keeps versions but cannot lock them: a plain delete of a checkpoint shows (a delete "
            "marker), but a deleted version of the newest checkpoints cannot be detected (a deleted earlier "
            "one shows as a gap in the checkpoint chain)"
        ]
    return [
        "this store keeps no versions of objects and cannot lock them: deleted newest checkpoint files cannot "
        "be detected, and after them the events they covered could be rewritten unseen (a deleted earlier "
        "checkpoint shows as a gap in the checkpoint chain; all of them deleted, as an unwitnessed tail)"
    ]


def _unlockable_starts(engine: Engine) -> list[str]:
    """Production starts on a store that cannot lock, as the operator accepted: auditors must know."""
    with engine.connect() as conn:
        count, last = conn.exec_driver_sql(
            "SELECT count(*), max(seq) FROM audit_events WHERE action = "
            + ("?" if engine.dialect.name == "sqlite" else "%s"),
            (str(Action.UNLOCKABLE_STORE_ACCEPTED),),
        ).one()
    if not count:
        return []
    return [
        f"the registry started {count} time(s) in production on a store that cannot lock objects, as the "
        f"operator accepted (REGISTRY_ACCEPT_UNLOCKABLE_STORE; last: event {last}): checkpoints and originals "
        "there can be deleted"
    ]


def verify_chain(
    engine: Engine,
    checkpoints: Sequence[Checkpoint],
    *,
    workers: int | None = None,
    now: datetime | None = None,
    witness_seconds: int | None = None,
) -> VerifyReport:
    """Walk every event in order; stop at the first break and say what it is.

    ``witness_seconds``: the registry's witness interval, where the newest checkpoint does not state it.
    """
    report = VerifyReport(checkpoints=len(checkpoints))
    signed = {c.seq: c.hash for c in checkpoints}
    with _snapshot(engine) as cursor:
        at = _Position()
        cursor.execute("SELECT max(seq) FROM audit_events")
        last = cursor.fetchone()[0] or 0
        if (workers or WORKERS) > 1 and last >= PARALLEL_FROM:
            at = _checked_in_parallel(engine, cursor, last, signed, workers or WORKERS)
        batches = _batches(cursor, engine.dialect.name, after=at.expected - 1)
        for batch, linked in batches:
            if not _batch_intact(batch, linked, at.expected, at.previous, signed):
                report.problems.append(_first_break(chain([(batch, linked)], batches), at, signed, checkpoints))
                break
            at = _after(batch, at)
        report.events = report.last_seq = at.expected - 1
        if report.ok:
            cursor.execute(f"SELECT seq, hash FROM audit_chain_head WHERE id = {CHAIN_ID:d}")
            problem = _tail_problem(report.last_seq, at.previous, cursor.fetchone(), checkpoints)
            if problem:
                report.problems.append(problem)
        problem = _unwitnessed_tail(
            cursor,
            engine.dialect.name,
            last,
            checkpoints,
            now or utcnow(),
            witness_seconds or Settings.audit_witness_seconds,
        )
        if problem:
            report.problems.append(problem)
    return report


def _unwitnessed_tail(
    cursor, dialect: str, last: int, checkpoints: Sequence[Checkpoint], now: datetime, witness_seconds: int
) -> str | None:
    """Events after the newest checkpoint, signed more than two witness intervals ago.

    The running registry signs every event within one interval: newer checkpoints were deleted,
    or the registry could not write them (stopped before it signed, or the store was down).
    Without any checkpoint, the first event's time (the database's word) stands in for it.
    """
    newest = max(checkpoints, key=lambda c: c.seq, default=None)
    first = newest.seq + 1 if newest is not None else 1
    if last < first:
        return None
    interval = (newest.witness_seconds if newest is not None else None) or witness_seconds
    if newest is not None:
        since, what = newest.signed_at(), f"the newest checkpoint (event {newest.seq}) was signed at {newest.at}"
    else:
        cursor.execute(f"SELECT {_TIME[dialect]} FROM audit_events ORDER BY seq LIMIT 1")
        written = cursor.fetchone()[0]
        since = datetime.strptime(written, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
        what = f"there is no signed checkpoint, and event {first} was written at {written}"
    if now - since <= timedelta(seconds=2 * interval):
        return None
    return (
        f"unwitnessed tail: no signed checkpoint covers events {first} to {last}, and {what}, more than two "
        f"witness intervals ({2 * interval} s) ago: newer checkpoints were deleted, or the registry could not "
        "write them (see its log); these events may have been rewritten"
    )


def _after(batch: list[tuple], at: _Position) -> _Position:
    return _Position(at.expected + len(batch), batch[-1][HASH], batch[-2][HASH] if len(batch) > 1 else at.previous)


@dataclass(frozen=True)
class _Span:
    """What a worker found between two sequence numbers: intact or not, and the hashes at its ends."""

    first: int
    last: int
    intact: bool
    first_previous: str = ""
    end: _Position | None = None


def _checked_in_parallel(engine: Engine, cursor, last: int, signed: dict[int, str], workers: int) -> _Position:
    """Spans checked side by side, then stitched: where the sequential walk must go on from.

    That is after the last event when every span holds and follows the one before;
    otherwise the start of the first span that does not, so that the walk finds and
    names the first break exactly as it would have alone.
    """
    snapshot = None
    if engine.dialect.name == "postgresql":
        cursor.execute("SELECT pg_export_snapshot()")
        snapshot = cursor.fetchone()[0]
    url = engine.url.render_as_string(hide_password=False)
    bounds = [(1 + last * i // workers, last * (i + 1) // workers) for i in range(workers)]
    try:
        with ProcessPoolExecutor(workers, mp_context=_worker_context()) as pool:
            spans = list(
                pool.map(
                    _check_span,
                    *zip(
                        *[
                            (url, first, end, {s: h for s, h in signed.items() if first <= s <= end}, snapshot)
                            for first, end in bounds
                        ],
                        strict=False,
                    ),
                )
            )
    except (BrokenProcessPool, OSError):
        log.warning("audit verify could not start worker processes; checking in one process")
        return _Position()
    at = _Position()
    for span in spans:
        if not span.intact or span.first_previous != at.previous or span.end is None:
            return at
        at = span.end
    return at


def _worker_context() -> multiprocessing.context.BaseContext:
    """Workers forked from a clean server that has loaded only this module: nothing of the
    application (open connections, threads) is inherited, and nothing is imported twice."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(
        [__name__, "registry.db", "sqlalchemy.dialects.sqlite", "sqlalchemy.dialects.postgresql"]
    )
    return context


def _check_span(url: str, first: int, last: int, signed: dict[int, str], snapshot: str | None) -> _Span:
    """In a worker process: are events ``first`` to ``last`` complete and intact among themselves?"""
    from registry.db import make_engine  # here: the application does not need it to import this module

    engine = make_engine(url)
    try:
        with _snapshot(engine, snapshot) as cursor:
            at: _Position | None = None
            start = ""
            for batch, linked in _batches(cursor, engine.dialect.name, after=first - 1, until=last):
                if at is None:
                    start = batch[0][PREV]
                    at = _Position(first, start)
                if not _batch_intact(batch, linked, at.expected, at.previous, signed):
                    return _Span(first, last, False)
                at = _after(batch, at)
            return _Span(first, last, at is not None and at.expected == last + 1, start, at)
    finally:
        engine.dispose()


@contextmanager
def _snapshot(engine: Engine, imported: str | None = None) -> Iterator:
    """A read-only transaction that sees one instant of the log (REPEATABLE READ; SQLite WAL read).

    ``imported``: a PostgreSQL snapshot exported by the main walk, shared by its workers.
    """
    raw = engine.raw_connection()
    try:
        raw.rollback()  # whatever a pool ping began: the snapshot must start with the next statement
        cursor = raw.cursor()
        if engine.dialect.name == "postgresql":
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            if imported:
                cursor.execute(f"SET TRANSACTION SNAPSHOT '{imported.replace(chr(39), '')}'")
        else:
            cursor.execute("BEGIN")
        yield cursor
        cursor.close()
    finally:
        raw.rollback()
        raw.close()


def _batches(
    cursor, dialect: str, *, after: int = 0, until: int | None = None
) -> Iterator[tuple[list[tuple], dict[int, str]]]:
    """Events after ``after`` (up to ``until``) in order, a batch at a time, with each event's
    person links from the access-report index."""
    mark = "?" if dialect == "sqlite" else "%s"
    bound = "" if until is None else f"AND seq <= {until:d} "
    events = (
        f"SELECT seq, {_TIME[dialect]}, {_FIELDS} FROM audit_events WHERE seq > {mark} {bound}"
        f"ORDER BY seq LIMIT {BATCH:d}"
    )
    links = f"SELECT seq, person_id FROM audit_event_persons WHERE seq >= {mark} AND seq <= {mark}"
    while True:
        cursor.execute(events, (after,))
        batch = cursor.fetchall()
        if not batch:
            return
        cursor.execute(links, (batch[0][SEQ], batch[-1][SEQ]))
        yield batch, _linked_persons(cursor.fetchall())
        after = batch[-1][SEQ]


def _linked_persons(pairs: list[tuple[int, str]]) -> dict[int, str]:
    """The person_ids text each event would have, rebuilt from the index (canonical JSON)."""
    grouped: dict[int, list[str]] = {}
    for seq, person_id in pairs:
        grouped.setdefault(seq, []).append(person_id)
    return {seq: canonical_strings(sorted(ids)) for seq, ids in grouped.items()}


def _batch_intact(
    batch: list[tuple], linked: dict[int, str], expected: int, previous: str, signed: dict[int, str]
) -> bool:
    """The whole batch at once, in list operations: the common case, a log nobody touched."""
    first, count = expected, len(batch)
    if batch[0][SEQ] != first or batch[-1][SEQ] != first + count - 1:  # ordered, unique: no gap iff ends match
        return False
    hashes = [row[HASH] for row in batch]
    if [row[PREV] for row in batch] != [previous, *hashes[:-1]]:
        return False
    if [linked.get(row[SEQ], "[]") for row in batch] != [row[PERSONS] for row in batch]:
        return False
    if any(hashes[seq - first] != digest for seq, digest in signed.items() if first <= seq < first + count):
        return False
    sha256 = hashlib.sha256
    try:
        return [sha256(canonical_event(row)).hexdigest() for row in batch] == hashes
    except (TypeError, ValueError, UnicodeError):  # a value of the wrong type planted in the table
        return False


def _first_break(
    batches: Iterator[tuple[list[tuple], dict[int, str]]],
    at: _Position,
    signed: dict[int, str],
    checkpoints: Sequence[Checkpoint],
) -> str:
    """Walk row by row from a batch that failed, to the first event that is wrong, and explain it."""
    expected, previous, earlier = at.expected, at.previous, at.earlier
    rows = ((*row, linked.get(row[SEQ], "[]")) for batch, linked in batches for row in batch)
    for row in rows:
        seq = row[SEQ]
        if (
            seq == expected
            and row[PREV] == previous
            and _intact(row)
            and row[LINKED] == row[PERSONS]
            and signed.get(seq, row[HASH]) == row[HASH]
        ):
            expected, previous, earlier = seq + 1, row[HASH], previous
            continue
        return _explain(row, next(rows, None), expected, previous, earlier, checkpoints)
    raise AssertionError("a batch failed but none of its events did")


def _intact(row: tuple) -> bool:
    try:
        return hashlib.sha256(canonical_event(row)).hexdigest() == row[HASH]
    except (TypeError, ValueError, UnicodeError):  # a value of the wrong type planted in the table
        return False


def _renumbered(row: tuple) -> bool:
    """The row hashes as the event after it: it was moved down one place."""
    return _intact((row[SEQ] + 1, *row[1:]))


def _explain(
    row: tuple,
    following: tuple | None,
    expected: int,
    previous: str,
    earlier: str | None,
    checkpoints: Sequence[Checkpoint],
) -> str:
    """Name the first break: what was done to the log just before or at ``row``."""
    seq = row[SEQ]
    if seq > expected:
        missing = f"event {expected} is" if seq == expected + 1 else f"events {expected} to {seq - 1} are"
        return f"{missing} missing: the log jumps from event {expected - 1} to event {seq} (deleted)"
    intact, linked = _intact(row), row[PREV] == previous
    if following is not None and following[PREV] == previous and (linked or row[PREV] == following[HASH]):
        if linked:
            return f"event {seq} was inserted: event {seq + 1} follows event {seq - 1} directly"
        return f"events {seq} and {seq + 1} are in the wrong order: they were swapped (reordered)"
    if linked and intact and row[LINKED] != row[PERSONS]:
        return (
            f"the access-report index of event {seq} was edited: it links persons {row[LINKED]} "
            f"but the event names {row[PERSONS]}"
        )
    if linked and intact:
        before = max((c.seq for c in checkpoints if c.seq < seq), default=0)
        return (
            f"event {seq} differs from the signed checkpoint at event {seq}: the log between events "
            f"{before + 1} and {seq} was rewritten and its hashes recomputed"
        )
    if linked:
        return f"event {seq} was edited: its contents no longer match its hash"
    if earlier is not None and row[PREV] == earlier:
        return f"event {seq - 1} was inserted: event {seq} follows event {seq - 2} directly"
    if _renumbered(row):
        return (
            f"an event before event {seq} was deleted: event {seq} was event {seq + 1} and "
            "the events after the deleted one were renumbered"
        )
    if intact:
        return f"event {seq - 1} was rewritten and its hash recomputed: event {seq} still names its original hash"
    return (
        f"event {seq} does not follow event {seq - 1} and does not match its own hash (edited, inserted or reordered)"
    )


def _tail_problem(last_seq: int, last_hash: str, head: tuple | None, checkpoints: Sequence[Checkpoint]) -> str | None:
    newest = max(checkpoints, key=lambda c: c.seq, default=None)
    if newest is not None and newest.seq > last_seq:
        return (
            f"the log ends at event {last_seq} but a signed checkpoint vouches for event {newest.seq}: "
            f"events after {last_seq} were cut off"
        )
    if head is None:
        return None if last_seq == 0 else "the chain head record is missing (deleted)"
    head_seq, head_hash = head
    if head_seq > last_seq:
        return (
            f"the log ends at event {last_seq} but the chain head says event {head_seq}: "
            f"events after {last_seq} were cut off"
        )
    if head_seq < last_seq:
        return (
            f"events {head_seq + 1} to {last_seq} were appended behind the chain head's back "
            f"(the head says event {head_seq}): inserted"
        )
    if head_hash != last_hash:
        return f"event {last_seq} does not match the chain head: the last event was rewritten"
    return None
