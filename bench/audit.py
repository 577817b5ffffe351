"""What the access log costs: person-view throughput with and without it, and verify time.

(a) GET /api/v1/persons/<id> through the Flask test client, in alternating rounds
    with the real ``registry.audit.service.record`` and with it replaced by a no-op
    (an unaudited baseline) in the same process; prints the time ratio
    audited / unaudited (target <= 1.3x). Run twice: with durable commits, as deployed
    (an audited read commits a write and waits for the disk; an unaudited one writes
    nothing), and with commits that do not wait for the disk, which shows the log's
    own work apart from the fsync.
(b) A chain of --events valid events (default 1,000,000) inserted with raw SQL
    (executemany on SQLite, COPY on PostgreSQL) and hashed with the real encoder,
    with a signed-style checkpoint every 1,000 events; then ``verify_chain`` is timed
    (target <= 10 s).
Both run on SQLite (a temporary file) and, with --pg-url (or REGISTRY_TEST_DATABASE_URL),
on a temporary PostgreSQL database that is dropped afterwards.

    .venv/bin/python bench/audit.py [--only view|verify] [--events 1000000] [--pg-url URL]
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from registry.accounts import service as accounts  # noqa: E402
from registry.accounts.actor import Actor  # noqa: E402
from registry.accounts.permissions import Role  # noqa: E402
from registry.app import create_app  # noqa: E402
from registry.audit import service as audit  # noqa: E402
from registry.audit import verify as verify_module  # noqa: E402
from registry.audit.checkpoints import Checkpoint  # noqa: E402
from registry.audit.events import GENESIS_HASH, canonical_event, canonical_text, event_hash, format_time  # noqa: E402
from registry.audit.verify import verify_chain  # noqa: E402
from registry.db import make_engine  # noqa: E402
from registry.migrate import upgrade  # noqa: E402
from registry.persons import service as persons  # noqa: E402
from registry.persons.models import Category, Sex  # noqa: E402
from registry.persons.schemas import NameIn, PersonCreate  # noqa: E402
from registry.settings import load_settings  # noqa: E402

VIEW_RATIO_TARGET = 1.3
VERIFY_TARGET_SECONDS = 10.0
COLUMNS = (
    "seq",
    "at",
    "actor_id",
    "actor_name",
    "action",
    "outcome",
    "target_type",
    "target_id",
    "person_ids",
    "ip",
    "user_agent",
    "request_id",
    "reason",
    "details",
    "prev_hash",
    "hash",
)
USER_AGENT = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0"


# ---------------------------------------------------------------- databases


@contextmanager
def database(kind: str, pg_url: str, folder: Path) -> Iterator[str]:
    """A freshly migrated database URL: a SQLite file, or a PostgreSQL database dropped afterwards."""
    if kind == "sqlite":
        url = f"sqlite:///{folder / f'bench-{uuid.uuid4().hex[:6]}.sqlite3'}"
    else:
        name = f"registry_bench_{uuid.uuid4().hex[:8]}"
        admin = sa.create_engine(sa.make_url(pg_url).set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        url = sa.make_url(pg_url).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    try:
        yield url
    finally:
        if kind == "postgresql":
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


# ---------------------------------------------------------------- (a) person-view throughput


def _no_record(*_args, **_kwargs) -> None:
    return None


@contextmanager
def unaudited() -> Iterator[int]:
    """``record`` replaced by a no-op in every module that imported it by name."""
    original = audit.record
    holders = [m for m in list(sys.modules.values()) if getattr(m, "record", None) is original]
    for module in holders:
        module.record = _no_record
    try:
        yield len(holders)
    finally:
        for module in holders:
            module.record = original


def _view_fixture(url: str, folder: Path):
    settings = load_settings(
        {},
        instance_path=str(folder / f"instance-{uuid.uuid4().hex[:6]}"),
        database_url=url,
        storage_url=(folder / "objects").as_uri(),
        testing=True,
    )
    app = create_app(settings)
    runtime = app.extensions["registry"]
    runtime.raw_store.ensure_container()
    with runtime.sessions() as db:
        audit.ensure_chain_head(db)
        nda = accounts.publish_nda(db, audit.SYSTEM, title="Undertaking", text="I keep what I see to myself.")
        clerk = accounts.create_user(
            db,
            audit.SYSTEM,
            username="clerk",
            full_name="Bench Clerk",
            password="correct horse battery staple 42",
            roles={Role.CLERK},
        )
        token = accounts.create_api_token(db, audit.SYSTEM, clerk, name="bench")
        accounts.acknowledge_nda(
            db, Actor(clerk), clerk, version=nda.version, text_sha256=nda.text_sha256, typed_full_name="Bench Clerk"
        )
        registration = PersonCreate(
            names=[NameIn(family_name="Абдирасулова", given_name="Айгерим")],
            sex=Sex.FEMALE,
            birth_date=date(2016, 3, 1),
            categories=[Category.CHILD],
        )
        person = persons.create_person(db, Actor(clerk), registration)
        db.commit()
        return app, token, person.id


def _timed_round(client, path: str, headers: dict[str, str], requests: int) -> float:
    started = time.perf_counter()
    for _ in range(requests):
        response = client.get(path, headers=headers)
        if response.status_code != 200:
            raise SystemExit(f"{path} answered {response.status_code}: {response.get_data(as_text=True)[:300]}")
    return time.perf_counter() - started


def _relax_durability(engine: sa.Engine) -> None:
    """Commits that do not wait for the disk: separates the log's own work from the cost of an fsync."""
    statement = "SET synchronous_commit = off" if engine.dialect.name == "postgresql" else "PRAGMA synchronous = OFF"

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:
        cursor = dbapi_conn.cursor()
        cursor.execute(statement)
        cursor.close()

    engine.dispose()


def bench_view(kind: str, url: str, folder: Path, requests: int, rounds: int, durable: bool) -> float:
    """Alternating rounds (A B B A ...) so that drift in a shared machine's load hits both sides alike."""
    app, token, person_id = _view_fixture(url, folder)
    runtime = app.extensions["registry"]
    if not durable:
        _relax_durability(runtime.engine)
    client = app.test_client()
    path, headers = f"/api/v1/persons/{person_id}", {"Authorization": f"Bearer {token}"}
    audited: list[float] = []
    bare: list[float] = []
    _timed_round(client, path, headers, 20)  # warm caches and pools
    for round_number in range(rounds):
        for logged in (True, False) if round_number % 2 == 0 else (False, True):
            if logged:
                audited.append(_timed_round(client, path, headers, requests))
            else:
                with unaudited() as replaced:
                    bare.append(_timed_round(client, path, headers, requests))
    with runtime.sessions() as db:
        logged_views = db.scalar(sa.text("SELECT count(*) FROM audit_events WHERE action = 'person.viewed'"))
    runtime.engine.dispose()
    ratio = statistics.median(a / b for a, b in zip(audited, bare, strict=False))
    label = "durable commits (as deployed)" if durable else "commits not waiting for the disk (log's own work)"
    print(
        f"[{kind}] person view, {label}: {rounds} paired rounds x {requests} requests, "
        f"record replaced in {replaced} modules"
    )
    print(f"    with the access log    {requests / statistics.median(audited):8.1f} requests/s (median round)")
    print(f"    without (no-op record) {requests / statistics.median(bare):8.1f} requests/s (median round)")
    print(
        f"    cost ratio {ratio:.3f}x, median of paired rounds (target <= {VIEW_RATIO_TARGET}x) "
        f"{'OK' if ratio <= VIEW_RATIO_TARGET else 'OVER TARGET'}; {logged_views} view events logged",
        flush=True,
    )
    return ratio


# ---------------------------------------------------------------- (b) verify a million events


def chain_rows(
    count: int, kind: str, checkpoints: list[Checkpoint], links: list[tuple[int, str]], every: int = 1000
) -> Iterator[tuple]:
    """``count`` valid events, hashed exactly as ``record`` hashes them; their person links go to ``links``."""
    actors = [(str(uuid.uuid4()), f"clerk{i}") for i in range(40)]
    people = [str(uuid.uuid4()) for _ in range(5000)]
    start = datetime(2025, 1, 6, 8, 0, tzinfo=UTC)
    previous = GENESIS_HASH
    for seq in range(1, count + 1):
        at = start + timedelta(microseconds=seq * 37_123)
        actor_id, actor_name = actors[seq % len(actors)]
        person = people[seq % len(people)]
        fields = (
            seq,
            format_time(at),
            actor_id,
            actor_name,
            "person.viewed",
            "allowed",
            "person",
            person,
            canonical_text([person]),
            f"192.0.2.{seq % 250}",
            USER_AGENT,
            uuid.UUID(int=seq).hex,
            "",
            canonical_text({"via": "web"}) if seq % 3 else "{}",
            previous,
        )
        digest = event_hash(canonical_event(fields))
        stored_at = at.strftime("%Y-%m-%d %H:%M:%S.%f") + ("+00" if kind == "postgresql" else "")
        yield (seq, stored_at, *fields[2:], digest)
        links.append((seq, person))
        if seq % every == 0:
            checkpoints.append(Checkpoint(seq, digest, format_time(at), "bench", ""))
        previous = digest


def insert_chain(kind: str, url: str, count: int) -> tuple[list[Checkpoint], float]:
    checkpoints: list[Checkpoint] = []
    links: list[tuple[int, str]] = []
    rows = chain_rows(count, kind, checkpoints, links)
    started = time.perf_counter()
    names = ", ".join(COLUMNS)
    if kind == "sqlite":
        conn = sqlite3.connect(sa.make_url(url).database)
        conn.execute("PRAGMA synchronous=OFF")
        with conn:
            conn.executemany(f"INSERT INTO audit_events ({names}) VALUES ({', '.join('?' * len(COLUMNS))})", rows)
            conn.executemany("INSERT INTO audit_event_persons (seq, person_id) VALUES (?, ?)", links)
            last = conn.execute("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1").fetchone()
            conn.execute("INSERT INTO audit_chain_head (id, seq, hash) VALUES (1, ?, ?)", last)
        conn.close()
    else:
        import psycopg

        plain_url = sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(plain_url) as conn:
            with conn.cursor() as cur:
                with cur.copy(f"COPY audit_events ({names}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
                with cur.copy("COPY audit_event_persons (seq, person_id) FROM STDIN") as copy:
                    for link in links:
                        copy.write_row(link)
                cur.execute(
                    "INSERT INTO audit_chain_head (id, seq, hash) "
                    "SELECT 1, seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1"
                )
            conn.commit()
            conn.autocommit = True
            conn.execute("VACUUM ANALYZE audit_events")
            conn.execute("VACUUM ANALYZE audit_event_persons")
    return checkpoints, time.perf_counter() - started


def bench_verify(kind: str, url: str, count: int, profile: bool) -> float:
    checkpoints, insert_seconds = insert_chain(kind, url, count)
    print(f"[{kind}] {count:,} events built, hashed and inserted in {insert_seconds:.1f} s", flush=True)
    engine = make_engine(url)
    timings = {}
    for label, workers in (("first run", None), ("second run", None), ("one process", 1)):
        profiler = cProfile.Profile() if profile and workers == 1 else None
        started, cpu = time.perf_counter(), time.process_time()
        if profiler:
            profiler.enable()
        report = verify_chain(engine, checkpoints, workers=workers)
        if profiler:
            profiler.disable()
        timings[label] = (time.perf_counter() - started, time.process_time() - cpu)
        if not report.ok or report.events != count:
            raise SystemExit(f"verify failed on a valid chain: {report.problems}")
        if profiler:
            pstats.Stats(profiler).sort_stats("tottime").print_stats(12)
    engine.dispose()
    worst = max(wall for wall, _cpu in timings.values())
    print(
        f"[{kind}] verify_chain over {count:,} events and {len(checkpoints)} checkpoints "
        f"({verify_module.WORKERS} worker processes from {verify_module.PARALLEL_FROM:,} events; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} processors):"
    )
    for label, (wall, cpu) in timings.items():
        print(f"    {label:<12} {wall:6.2f} s ({count / wall:,.0f} events/s; {cpu:.2f} s CPU in this process)")
    print(
        f"    target <= {VERIFY_TARGET_SECONDS:.0f} s: {'OK' if worst <= VERIFY_TARGET_SECONDS else 'OVER TARGET'}",
        flush=True,
    )
    return worst


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=("view", "verify"), help="Run one of the two benchmarks.")
    parser.add_argument("--requests", type=int, default=100, help="Requests per round (default 100).")
    parser.add_argument("--rounds", type=int, default=16, help="Rounds of each kind, alternating (default 16).")
    parser.add_argument("--events", type=int, default=1_000_000, help="Events to verify (default 1,000,000).")
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("REGISTRY_TEST_DATABASE_URL", ""),
        help="PostgreSQL server URL (postgresql+psycopg://...); a temporary database is made.",
    )
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only.")
    parser.add_argument("--profile", action="store_true", help="Print a cProfile of the one-process verify run.")
    args = parser.parse_args()
    kinds = ([] if args.no_sqlite else ["sqlite"]) + (["postgresql"] if args.pg_url else [])
    within_targets = True
    with tempfile.TemporaryDirectory(prefix="audit-bench-") as tmp:
        folder = Path(tmp)
        for kind in kinds:
            if args.only in (None, "view"):
                for durable in (True, False):
                    with database(kind, args.pg_url, folder) as url:
                        ratio = bench_view(kind, url, folder, args.requests, args.rounds, durable)
                    within_targets &= ratio <= VIEW_RATIO_TARGET or not durable
            if args.only in (None, "verify"):
                with database(kind, args.pg_url, folder) as url:
                    within_targets &= bench_verify(kind, url, args.events, args.profile) <= VERIFY_TARGET_SECONDS
    return 0 if within_targets else 1


if __name__ == "__main__":
    sys.exit(main())
