"""No event stays unwitnessed: a database owner who cuts or rewrites the newest events, or deletes
checkpoints, is caught by `registry audit verify`; production refuses a store that cannot lock.

Time is driven through the witness clock, never by sleeping.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta

import pytest
import sqlalchemy as sa

from registry.app import create_app
from registry.audit.checkpoints import PREFIX, checkpoint_if_new, checkpoint_key, write_checkpoint
from registry.audit.events import Action
from registry.audit.models import AuditChainHead, AuditEvent
from registry.audit.verify import verify_chain, verify_log
from registry.db import utcnow
from registry.settings import SettingsError
from tests.audit.test_tamper import forged_hash

WITNESS = 60


class Clock:
    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self):
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock(runtime) -> Clock:
    runtime.witness.clock = clock = Clock()
    return clock


@pytest.fixture
def viewing(staff, make_person, api, runtime, clock):
    """A clerk viewing a person through the API, one request each: returns the head after the views."""
    clerk = staff("clerk")
    person = make_person(clerk)  # the process's first commit: signed, as none of its own is recent

    def view(times: int = 1) -> int:
        for _ in range(times):
            assert api(clerk).get(f"/persons/{person['id']}").status_code == 200
        return head(runtime)[0]

    return view


def head(runtime) -> tuple[int, str]:
    with runtime.sessions() as db:
        row = db.get(AuditChainHead, 1)
        return row.seq, row.hash


def event_hash(runtime, seq: int) -> str:
    with runtime.sessions() as db:
        return db.get(AuditEvent, seq).hash


def checkpoints(runtime) -> list[int]:
    return sorted(int(key.removeprefix(PREFIX).removesuffix(".json")) for key in runtime.raw_store.iter_keys(PREFIX))


def cut_after(tamper, runtime, keep: int) -> None:
    """Delete the events after ``keep`` and move the chain head back to it, as a database owner can."""
    tamper(
        f"DELETE FROM audit_event_persons WHERE seq > {keep}",
        f"DELETE FROM audit_events WHERE seq > {keep}",
        f"UPDATE audit_chain_head SET seq = {keep}, hash = '{event_hash(runtime, keep)}'",
    )


def verify_fails(cli) -> str:
    result = cli("audit", "verify")
    assert result.exit_code == 1, result.output
    return result.stderr


def test_events_after_a_quiet_interval_are_signed_at_commit_and_cannot_be_cut(viewing, runtime, clock, cli, tamper):
    before = viewing(2)
    clock.advance(WITNESS + 1)
    last = viewing(3)
    assert max(checkpoints(runtime)) > before  # the first commit after the interval signed the head
    cut_after(tamper, runtime, before)
    message = verify_fails(cli)
    assert f"the log ends at event {before} but a signed checkpoint vouches for event" in message
    assert f"events after {before} were cut off" in message
    assert last > before


def test_events_within_the_interval_are_signed_by_the_next_tick(viewing, runtime, clock, cli, tamper):
    before = viewing(1)
    last = viewing(3)
    assert max(checkpoints(runtime)) <= before  # within the interval: a commit does not sign
    assert checkpoint_if_new(runtime).seq == last  # the timer's tick, at most one interval later
    cut_after(tamper, runtime, before)
    assert f"a signed checkpoint vouches for event {last}" in verify_fails(cli)


def test_the_newest_event_edited_and_rehashed_is_caught(viewing, runtime, clock, cli, tamper):
    viewing(2)
    clock.advance(WITNESS + 1)
    last = viewing(1)
    assert last in checkpoints(runtime)
    with runtime.sessions() as db:
        digest = forged_hash(db.get(AuditEvent, last), reason="routine check")
    tamper(
        f"UPDATE audit_events SET reason = 'routine check', hash = '{digest}' WHERE seq = {last}",
        f"UPDATE audit_chain_head SET hash = '{digest}'",
    )
    assert f"event {last} differs from the signed checkpoint at event {last}" in verify_fails(cli)


def test_a_commit_within_the_interval_signs_nothing_more(viewing, runtime, clock):
    """A busy registry signs once per interval at commit, not at every request."""
    viewing(1)
    signed = checkpoints(runtime)
    viewing(5)
    assert checkpoints(runtime) == signed


def test_each_checkpoint_names_the_one_before_it(cli, write_events, runtime):
    written = []
    for _ in range(3):
        write_events(2)
        written.append(write_checkpoint(runtime.sessions, runtime.raw_store, runtime.audit_key))
    assert [(c.previous_seq, c.previous_hash) for c in written[1:]] == [(c.seq, c.hash) for c in written[:-1]]
    assert written[0].previous_seq == 0 and written[-1].witness_seconds == WITNESS


def test_a_deleted_middle_checkpoint_file_is_a_gap_in_the_chain(cli, write_events, runtime):
    for _ in range(3):
        write_events(2)
        assert cli("audit", "checkpoint").exit_code == 0
    assert cli("audit", "verify").exit_code == 0
    first, middle, newest = checkpoints(runtime)[-3:]
    runtime.raw_store.delete(checkpoint_key(middle))
    assert (
        f"gap in the checkpoint chain: the checkpoint at event {newest} follows one at event {middle}, "
        "which is missing (deleted)"
    ) in verify_fails(cli)


def test_verify_says_what_the_filesystem_store_cannot_show(cli, write_events, runtime):
    write_events(2)
    assert cli("audit", "checkpoint").exit_code == 0
    report = verify_log(runtime.engine, runtime.raw_store, runtime.audit_key.public_key(), witness_seconds=WITNESS)
    assert report.ok, report.problems
    assert any("deleted newest checkpoint files cannot be detected" in note for note in report.notes)


def test_a_newest_checkpoint_older_than_two_intervals_with_later_events_is_an_unwitnessed_tail(
    cli, write_events, runtime
):
    write_events(2)
    old = write_checkpoint(
        runtime.sessions,
        runtime.raw_store,
        runtime.audit_key,
        witness_seconds=WITNESS,
        now=utcnow() - timedelta(seconds=3 * WITNESS),
    )
    later = write_events(2)
    message = verify_fails(cli)
    assert (
        f"unwitnessed tail: no signed checkpoint covers events {old.seq + 1} to {later[-1]}, and the newest "
        f"checkpoint (event {old.seq}) was signed at {old.at}"
    ) in message


def test_a_recent_checkpoint_with_later_events_is_no_unwitnessed_tail(write_events, runtime, clock):
    write_events(2)
    newest = write_checkpoint(runtime.sessions, runtime.raw_store, runtime.audit_key, witness_seconds=WITNESS)
    write_events(2)
    loaded = verify_log(runtime.engine, runtime.raw_store, runtime.audit_key.public_key(), witness_seconds=WITNESS)
    assert loaded.ok, loaded.problems
    signed = newest.signed_at()
    assert verify_chain(runtime.engine, [newest], now=signed + timedelta(seconds=2 * WITNESS)).ok
    late = verify_chain(runtime.engine, [newest], now=signed + timedelta(seconds=2 * WITNESS + 1))
    assert [p for p in late.problems if p.startswith("unwitnessed tail")]


def test_every_checkpoint_file_deleted_leaves_an_unwitnessed_tail(write_events, runtime):
    first = write_events(2)
    with runtime.sessions() as db:
        written = db.get(AuditEvent, 1).at
    late = verify_chain(runtime.engine, [], now=written + timedelta(seconds=2 * WITNESS + 1), witness_seconds=WITNESS)
    assert f"unwitnessed tail: no signed checkpoint covers events 1 to {first[-1]}" in late.problems[0]


def test_a_stopping_server_signs_what_its_timer_had_not(settings, write_events, runtime):
    app = create_app(settings.with_overrides(audit_checkpoint_minutes=15))
    served = app.extensions["registry"]
    last = write_events(2)[-1]
    served.close()
    assert last in checkpoints(runtime)


# ---------------------------------------------------------------- production and stores that cannot lock


def production(settings, **changes):
    """Production settings over this test's SQLite or PostgreSQL (production's own database rule aside)."""
    return dataclasses.replace(settings, env="production", secret_key="s" * 40, **changes)


def test_production_refuses_to_start_on_a_store_that_cannot_lock(settings, runtime):
    with pytest.raises(
        SettingsError,
        match="production refuses a store that cannot lock objects.*REGISTRY_ACCEPT_UNLOCKABLE_STORE=true",
    ):
        create_app(production(settings, worm_selftest=True))
    with runtime.sessions() as db:
        assert not db.scalar(
            sa.select(sa.func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == Action.UNLOCKABLE_STORE_ACCEPTED)
        )


def test_production_starts_on_an_accepted_unlockable_store_and_logs_it(settings, runtime):
    for _ in range(2):
        accepted = create_app(production(settings, worm_selftest=True, accept_unlockable_store=True))
        accepted.extensions["registry"].close()
    with runtime.sessions() as db:
        logged = db.scalars(sa.select(AuditEvent).where(AuditEvent.action == Action.UNLOCKABLE_STORE_ACCEPTED)).all()
    assert len(logged) == 2 and all(json.loads(event.details)["worm"] == "unavailable" for event in logged)
    report = verify_log(runtime.engine, runtime.raw_store, runtime.audit_key.public_key(), witness_seconds=WITNESS)
    assert any("started 2 time(s) in production on a store that cannot lock objects" in n for n in report.notes)
