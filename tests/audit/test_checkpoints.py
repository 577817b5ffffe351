"""Automatic checkpoints: every N events, at a commit once the witness interval has passed, and on the
timer every witness interval, the application signs the end of the chain, and verify uses them."""

from __future__ import annotations

import base64
import json
import threading
import time
from io import BytesIO

import pytest
import sqlalchemy as sa

from registry.app import create_app
from registry.audit.checkpoints import (
    CHECKPOINT_CONTEXT,
    PREFIX,
    Checkpoint,
    CheckpointTimer,
    checkpoint_if_new,
    checkpoint_key,
    public_key_id,
)
from registry.audit.events import format_time
from registry.audit.models import AuditChainHead
from registry.db import utcnow
from registry.kinship.verify import BUNDLE_CONTEXT
from storage import StorageError

EVERY = 5


@pytest.fixture
def settings(settings):
    return settings.with_overrides(audit_checkpoint_every=EVERY)


@pytest.fixture(autouse=True)
def frozen_clock(request):
    """Time stands still for the witness: only the first commit and every Nth event sign at commit."""
    if "runtime" in request.fixturenames:
        runtime = request.getfixturevalue("runtime")
        now = utcnow()
        runtime.witness.clock = lambda: now


def head_seq(runtime) -> int:
    with runtime.sessions() as db:
        return db.get(AuditChainHead, 1).seq


def stored_checkpoints(runtime) -> set[int]:
    return {int(key.removeprefix(PREFIX).removesuffix(".json")) for key in runtime.raw_store.iter_keys(PREFIX)}


@pytest.fixture
def viewing(staff, make_person, api, runtime):
    """A clerk's person views, each a request; returns the heads at which a checkpoint is due."""
    clerk = staff("clerk")
    person = make_person(clerk)

    def view(times: int) -> set[int]:
        due = set()
        for _ in range(times):
            before = head_seq(runtime)
            assert api(clerk).get(f"/persons/{person['id']}").status_code == 200
            after = head_seq(runtime)
            if any(seq % EVERY == 0 for seq in range(before + 1, after + 1)):
                due.add(after)
        return due

    return view


def test_a_request_that_writes_the_nth_event_signs_a_checkpoint(viewing, runtime):
    already = stored_checkpoints(runtime)
    due = viewing(12)
    assert len(due) >= 2
    assert stored_checkpoints(runtime) - already == due
    newest = max(due)
    with runtime.raw_store.open(checkpoint_key(newest)) as fh:
        signed = json.loads(fh.read())
    with runtime.sessions() as db:
        assert signed["hash"] == db.scalar(sa.text(f"SELECT hash FROM audit_events WHERE seq = {newest}"))


def test_verify_uses_the_automatic_checkpoint_to_catch_a_cut_tail(viewing, runtime, cli, tamper):
    newest = max(viewing(12))
    keep = newest - 3
    with runtime.sessions() as db:
        kept_hash = db.scalar(sa.text(f"SELECT hash FROM audit_events WHERE seq = {keep}"))
    tamper(
        f"DELETE FROM audit_event_persons WHERE seq > {keep}",
        f"DELETE FROM audit_events WHERE seq > {keep}",
        f"UPDATE audit_chain_head SET seq = {keep}, hash = '{kept_hash}'",
    )
    result = cli("audit", "verify")
    assert result.exit_code == 1
    assert (
        f"the log ends at event {keep} but a signed checkpoint vouches for event {newest}: "
        f"events after {keep} were cut off"
    ) in result.stderr


def test_a_checkpoint_that_cannot_be_stored_does_not_fail_the_request(viewing, runtime, monkeypatch, cli):
    def refuse(*_args, **_kwargs):
        raise StorageError("object storage is down")

    already = stored_checkpoints(runtime)
    monkeypatch.setattr(runtime.raw_store, "put", refuse)
    assert viewing(EVERY + 1)  # a checkpoint fell due, and every view still answered 200
    assert stored_checkpoints(runtime) == already
    monkeypatch.undo()
    assert cli("audit", "checkpoint").exit_code == 0  # the command catches up
    assert stored_checkpoints(runtime) == already | {head_seq(runtime)}


def test_a_quiet_registry_is_checkpointed_by_the_timer_once_per_new_head(viewing, runtime):
    """Fewer than N events since the last checkpoint: the timer signs the head, and only once."""
    viewing(1)
    head = head_seq(runtime)
    assert head not in stored_checkpoints(runtime)
    written = []

    def tick() -> None:
        written.append(checkpoint_if_new(runtime))

    timer = CheckpointTimer(tick, interval_seconds=0.05)
    try:
        deadline = time.monotonic() + 30
        while len(written) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        timer.stop()

    assert head in stored_checkpoints(runtime)
    assert [c.seq for c in written if c is not None] == [head]  # later ticks found it signed already


def test_the_server_runs_the_timer_and_stops_it_on_close(settings):
    app = create_app(settings.with_overrides(audit_checkpoint_minutes=15))
    runtime = app.extensions["registry"]
    assert "audit-checkpoint" in {thread.name for thread in threading.enumerate()}
    runtime.close()
    assert "audit-checkpoint" not in {thread.name for thread in threading.enumerate()}


def test_commands_run_no_checkpoint_timer(settings, cli):
    """`registry` commands other than serve start no timer: one that runs for a second must not sign."""
    assert cli("audit", "verify").exit_code == 0
    assert "audit-checkpoint" not in {thread.name for thread in threading.enumerate()}


@pytest.mark.parametrize("context", [BUNDLE_CONTEXT, b""], ids=["bundle-context", "no-context"])
def test_the_registrys_signature_in_another_context_is_not_a_checkpoint(viewing, runtime, cli, context):
    """The audit key signs bundles too: a signature it made over the same JSON for a bundle (or over bare
    bytes) must not vouch for the chain head."""
    viewing(1)
    with runtime.sessions() as db:
        head = db.get(AuditChainHead, 1)
        seq, digest = head.seq, head.hash
    key = runtime.audit_key
    unsigned = Checkpoint(seq, digest, format_time(utcnow()), public_key_id(key.public_key()), "")
    document = unsigned.statement().removeprefix(CHECKPOINT_CONTEXT)
    forged = Checkpoint(**(unsigned.__dict__ | {"signature": base64.b64encode(key.sign(context + document)).decode()}))
    body = forged.to_json()
    runtime.raw_store.put(checkpoint_key(seq), BytesIO(body), length=len(body))
    result = cli("audit", "verify")
    assert result.exit_code == 1
    assert f"checkpoint {checkpoint_key(seq)} is not validly signed by the registry's audit key" in result.stderr
    assert cli("audit", "checkpoint").exit_code == 0  # the registry signs the same head in its own context
    assert cli("audit", "verify").exit_code == 0
