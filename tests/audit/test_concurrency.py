"""Parallel writers, as several gunicorn workers with threads: one chain, no gap, no fork."""

from __future__ import annotations

import multiprocessing
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import sqlalchemy as sa

from registry.audit.models import AuditChainHead, AuditEvent
from registry.audit.verify import verify_chain
from tests.audit.support import append_from_process, append_views


def chain_state(runtime) -> tuple[list[int], Counter, AuditChainHead]:
    with runtime.sessions() as db:
        seqs = list(db.scalars(sa.select(AuditEvent.seq).order_by(AuditEvent.seq)))
        views = Counter(db.scalars(sa.select(AuditEvent.target_id).where(AuditEvent.action == "person.viewed")))
        return seqs, views, db.get(AuditChainHead, 1)


def assert_one_gapless_chain(runtime, writers: list[str], per_writer: int, before: int) -> None:
    seqs, views, head = chain_state(runtime)
    assert seqs == list(range(1, before + len(writers) * per_writer + 1))
    assert head.seq == seqs[-1]
    expected = {f"{w}:{i}" for w in writers for i in range(per_writer)}
    assert set(views) == expected and set(views.values()) == {1}  # each committed once, none lost
    report = verify_chain(runtime.engine, [])
    assert report.ok, report.problems
    assert report.events == len(seqs)


def test_threads_with_their_own_sessions_leave_one_gapless_chain(runtime):
    before = chain_state(runtime)[0][-1]
    writers = [f"thread{n}" for n in range(8)]
    with ThreadPoolExecutor(len(writers)) as pool:
        for future in [pool.submit(append_views, runtime.sessions, w, 60) for w in writers]:
            future.result()
    assert_one_gapless_chain(runtime, writers, 60, before)


def test_processes_with_threads_leave_one_gapless_chain(runtime, settings):
    before = chain_state(runtime)[0][-1]
    processes, threads, per_writer = 4, 2, 40
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(processes, mp_context=spawn) as pool:
        for future in [
            pool.submit(append_from_process, settings.database_url, f"proc{p}", threads, per_writer)
            for p in range(processes)
        ]:
            future.result()
    writers = [f"proc{p}.{t}" for p in range(processes) for t in range(threads)]
    assert_one_gapless_chain(runtime, writers, per_writer, before)
