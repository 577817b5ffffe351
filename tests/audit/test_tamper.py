"""`registry audit verify` against a database owner who edits the access log directly.

Each test builds a log through the real services and API, changes the tables as
someone with full database rights would (triggers and foreign keys off), and runs
the real command line: it must exit non-zero and name what was done, and where.
"""

from __future__ import annotations

import base64
import json
from io import BytesIO

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from registry.audit import verify
from registry.audit.checkpoints import Checkpoint, checkpoint_key, public_key_id
from registry.audit.events import EVENT_FIELDS, canonical_event, event_hash, format_time
from registry.audit.models import AuditEvent
from tests.conftest import PG_URL

EVENTS = AuditEvent.__table__
BUMP = 1_000_000  # moves sequence numbers out of the way without colliding in the primary key


@pytest.fixture
def log(staff, make_person, api, write_events) -> list[int]:
    """A log of logins, person creation and views; returns the sequence numbers of 12 plain views."""
    clerk = staff("clerk")
    person = make_person(clerk)
    assert api(clerk).get(f"/persons/{person['id']}").status_code == 200
    return write_events(12)


def verify_fails(cli) -> str:
    result = cli("audit", "verify")
    assert result.exit_code == 1, result.output
    assert "OK" not in result.output
    return result.stderr


@pytest.fixture
def event_row(runtime):
    """Event ``seq`` as stored, read in a transaction of its own (SQLite: the write lock is not kept)."""

    def read(seq: int) -> AuditEvent:
        with runtime.sessions() as db:
            return db.get(AuditEvent, seq)

    return read


def forged_hash(event: AuditEvent, **changes) -> str:
    """The hash a careful forger computes for ``event`` with ``changes``: the real encoder."""
    values = {name: getattr(event, name) for name in EVENT_FIELDS} | changes
    values["at"] = format_time(values["at"])
    return event_hash(canonical_event([values[name] for name in EVENT_FIELDS]))


def renumber(first: int, by: int) -> tuple[str, ...]:
    """SQL that shifts events ``first`` and later by ``by`` (through a parking range)."""
    return tuple(
        sql
        for table in ("audit_events", "audit_event_persons")
        for sql in (
            f"UPDATE {table} SET seq = seq + {BUMP} WHERE seq >= {first}",
            f"UPDATE {table} SET seq = seq - {BUMP} + {by} WHERE seq >= {BUMP}",
        )
    )


def test_an_untouched_log_verifies(cli, log):
    assert cli("audit", "checkpoint").exit_code == 0
    result = cli("audit", "verify")
    assert result.exit_code == 0, result.output
    # Signed: by the first request's commit (the server had signed nothing yet) and by the command.
    assert f"last event {log[-1]}" in result.output and "2 signed checkpoints" in result.output
    assert "OK: the access log is intact." in result.output


def test_an_edited_field_is_named(cli, log, tamper):
    target = log[4]
    tamper(f"UPDATE audit_events SET reason = 'nothing to see' WHERE seq = {target}")
    assert f"event {target} was edited" in verify_fails(cli)


def test_an_edited_time_is_named(cli, log, tamper, event_row):
    target = log[2]
    earlier = event_row(target).at.replace(year=2020)
    tamper(sa.update(EVENTS).where(EVENTS.c.seq == target).values(at=earlier))
    assert f"event {target} was edited" in verify_fails(cli)


def test_a_deleted_event_is_named(cli, log, tamper):
    target = log[5]
    tamper(f"DELETE FROM audit_event_persons WHERE seq = {target}", f"DELETE FROM audit_events WHERE seq = {target}")
    assert f"event {target} is missing" in verify_fails(cli)


def test_a_deleted_event_is_named_even_when_later_events_are_renumbered(cli, log, tamper):
    target = log[5]
    tamper(
        f"DELETE FROM audit_event_persons WHERE seq = {target}",
        f"DELETE FROM audit_events WHERE seq = {target}",
        *renumber(target + 1, -1),
        "UPDATE audit_chain_head SET seq = seq - 1",
    )
    assert f"an event before event {target} was deleted" in verify_fails(cli)


def test_a_link_removed_from_a_persons_access_report_is_named(cli, log, tamper):
    target = log[3]
    tamper(f"DELETE FROM audit_event_persons WHERE seq = {target}")
    assert f"the access-report index of event {target} was edited" in verify_fails(cli)


def forged_event(event_row, seq: int, **changes) -> dict:
    """Event ``seq`` copied, to be planted at ``seq`` after the others move up, chained to ``seq - 1``."""
    template = event_row(seq)
    changes = {"prev_hash": event_row(seq - 1).hash} | changes
    return (
        {name: getattr(template, name) for name in EVENT_FIELDS} | changes | {"hash": forged_hash(template, **changes)}
    )


def test_an_inserted_event_with_a_valid_hash_and_index_entry_is_named(cli, log, tamper, event_row):
    """The careful forger renumbers the later events, computes a correct hash and indexes the person."""
    target = log[6]
    forged = forged_event(event_row, target, reason="planted alibi")
    tamper(
        *renumber(target, 1),
        sa.insert(EVENTS).values(**forged),
        f"INSERT INTO audit_event_persons (seq, person_id) VALUES ({target}, 'p-1')",
        "UPDATE audit_chain_head SET seq = seq + 1",
    )
    assert f"event {target} was inserted" in verify_fails(cli)


def test_an_inserted_event_with_a_made_up_hash_is_named(cli, log, tamper, event_row):
    target = log[6]
    forged = forged_event(event_row, target) | {"hash": "f" * 64}
    tamper(*renumber(target, 1), sa.insert(EVENTS).values(**forged))
    assert f"event {target} was inserted" in verify_fails(cli)


def swap(first: int) -> tuple[str, ...]:
    return tuple(
        sql
        for table in ("audit_events", "audit_event_persons")
        for sql in (
            f"UPDATE {table} SET seq = {BUMP} WHERE seq = {first}",
            f"UPDATE {table} SET seq = {first} WHERE seq = {first + 1}",
            f"UPDATE {table} SET seq = {first + 1} WHERE seq = {BUMP}",
        )
    )


def test_two_swapped_events_are_named(cli, log, tamper):
    tamper(*swap(log[7]))
    assert f"events {log[7]} and {log[7] + 1} are in the wrong order" in verify_fails(cli)


@pytest.mark.parametrize("batch", [2, 3, 4, 5])
def test_breaks_are_named_wherever_they_fall_in_verifys_batches(cli, log, tamper, event_row, monkeypatch, batch):
    """Verify reads in batches: a break on a batch's first or last row needs the row before or after it."""
    monkeypatch.setattr(verify, "BATCH", batch)
    assert cli("audit", "verify").exit_code == 0
    planted = log[3]
    tamper(
        *renumber(planted, 1),
        sa.insert(EVENTS).values(**forged_event(event_row, planted)),
        f"INSERT INTO audit_event_persons (seq, person_id) VALUES ({planted}, 'p-1')",
        "UPDATE audit_chain_head SET seq = seq + 1",
    )
    assert f"event {planted} was inserted" in verify_fails(cli)
    tamper(
        f"DELETE FROM audit_event_persons WHERE seq = {planted}",
        f"DELETE FROM audit_events WHERE seq = {planted}",
        *renumber(planted + 1, -1),
        "UPDATE audit_chain_head SET seq = seq - 1",
    )
    assert cli("audit", "verify").exit_code == 0  # back as it was
    tamper(*swap(log[7]))
    assert f"events {log[7]} and {log[7] + 1} are in the wrong order" in verify_fails(cli)


TAMPERING = {
    "edit": lambda log, row: (f"UPDATE audit_events SET reason = 'x' WHERE seq = {log[5]}",),
    "delete": lambda log, row: (
        f"DELETE FROM audit_event_persons WHERE seq = {log[4]}",
        f"DELETE FROM audit_events WHERE seq = {log[4]}",
    ),
    "swap": lambda log, row: swap(log[6]),
    "insert": lambda log, row: (
        *renumber(log[3], 1),
        sa.insert(EVENTS).values(**forged_event(row, log[3])),
        f"INSERT INTO audit_event_persons (seq, person_id) VALUES ({log[3]}, 'p-1')",
        "UPDATE audit_chain_head SET seq = seq + 1",
    ),
    "rehash": lambda log, row: (
        f"UPDATE audit_events SET reason = 'x', hash = '{forged_hash(row(log[2]), reason='x')}' WHERE seq = {log[2]}",
    ),
}


@pytest.mark.parametrize("how", sorted(TAMPERING))
def test_workers_checking_spans_in_parallel_name_the_same_first_break(
    log, tamper, event_row, runtime, monkeypatch, how
):
    """A large log is split between worker processes; every span edge must be stitched and checked."""
    monkeypatch.setattr(verify, "PARALLEL_FROM", 1)
    alone = verify.verify_chain(runtime.engine, [], workers=1)
    together = verify.verify_chain(runtime.engine, [], workers=3)
    assert alone.ok and together.ok and together.events == alone.events == log[-1]
    tamper(*TAMPERING[how](log, event_row))
    alone = verify.verify_chain(runtime.engine, [], workers=1)
    for workers in (2, 3, 5):
        together = verify.verify_chain(runtime.engine, [], workers=workers)
        assert not together.ok and together.problems == alone.problems, workers


def test_an_event_rewritten_with_a_recomputed_hash_is_named(cli, log, tamper, event_row):
    target = log[4]
    digest = forged_hash(event_row(target), reason="routine check")
    tamper(f"UPDATE audit_events SET reason = 'routine check', hash = '{digest}' WHERE seq = {target}")
    assert f"event {target} was rewritten and its hash recomputed" in verify_fails(cli)


def test_a_tail_cut_after_a_checkpoint_is_caught_even_with_the_chain_head_put_back(cli, log, tamper, event_row):
    assert cli("audit", "checkpoint").exit_code == 0
    keep = log[8]
    tamper(
        f"DELETE FROM audit_event_persons WHERE seq > {keep}",
        f"DELETE FROM audit_events WHERE seq > {keep}",
        f"UPDATE audit_chain_head SET seq = {keep}, hash = '{event_row(keep).hash}'",
    )
    message = verify_fails(cli)
    assert f"a signed checkpoint vouches for event {log[-1]}" in message
    assert f"events after {keep} were cut off" in message


def test_a_tail_cut_without_a_checkpoint_is_caught_by_the_chain_head(cli, log, tamper):
    keep = log[8]
    tamper(f"DELETE FROM audit_event_persons WHERE seq > {keep}", f"DELETE FROM audit_events WHERE seq > {keep}")
    message = verify_fails(cli)
    assert f"the chain head says event {log[-1]}" in message and f"events after {keep} were cut off" in message


def test_a_history_rewritten_consistently_is_caught_by_the_signed_checkpoint(cli, log, tamper, event_row):
    """Every hash after the edit recomputed and the head moved: only the checkpoint outside the database knows."""
    assert cli("audit", "checkpoint").exit_code == 0
    target = log[3]
    statements, previous = [], event_row(target - 1).hash
    for seq in range(target, log[-1] + 1):
        event = event_row(seq)
        changes = {"prev_hash": previous} | ({"reason": "routine check"} if seq == target else {})
        digest = forged_hash(event, **changes)
        statements.append(
            (
                f"UPDATE audit_events SET reason = :reason, prev_hash = :prev, hash = :hash WHERE seq = {seq}",
                {"reason": changes.get("reason", event.reason), "prev": previous, "hash": digest},
            )
        )
        previous = digest
    tamper(*statements, f"UPDATE audit_chain_head SET hash = '{previous}'")
    message = verify_fails(cli)
    assert f"event {log[-1]} differs from the signed checkpoint" in message
    assert "was rewritten and its hashes recomputed" in message


def test_a_checkpoint_signed_with_another_key_is_reported(cli, log, runtime):
    impostor = Ed25519PrivateKey.generate()
    unsigned = Checkpoint(log[-1], "0" * 64, "2030-01-01T00:00:00.000000Z", public_key_id(impostor.public_key()), "")
    forged = Checkpoint(
        **(unsigned.__dict__ | {"signature": base64.b64encode(impostor.sign(unsigned.statement())).decode()})
    )
    body = forged.to_json()
    runtime.raw_store.put(checkpoint_key(forged.seq), BytesIO(body), length=len(body))
    assert f"checkpoint {checkpoint_key(forged.seq)} is not validly signed" in verify_fails(cli)


def test_a_renamed_checkpoint_is_reported(cli, log, runtime):
    assert cli("audit", "checkpoint").exit_code == 0
    with runtime.raw_store.open(checkpoint_key(log[-1])) as fh:
        body = fh.read()
    runtime.raw_store.put(checkpoint_key(log[-1] + 50), BytesIO(body), length=len(body))
    assert f"claims sequence {log[-1]}" in verify_fails(cli)


def test_the_checkpoint_command_signs_the_current_end(cli, log, runtime, event_row):
    result = cli("audit", "checkpoint")
    assert result.exit_code == 0 and f"Checkpoint at event {log[-1]}" in result.output
    with runtime.raw_store.open(checkpoint_key(log[-1])) as fh:
        saved = json.loads(fh.read())
    assert saved["hash"] == event_row(log[-1]).hash


@pytest.mark.skipif(not PG_URL, reason="the append-only triggers exist on PostgreSQL only (CI's second pass)")
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_events SET reason = 'x'",
        "DELETE FROM audit_events",
        "TRUNCATE audit_events CASCADE",
        "DELETE FROM audit_event_persons",
        "TRUNCATE audit_event_persons",
    ],
)
def test_postgresql_refuses_to_change_the_log_even_for_its_owner(runtime, log, statement):
    with runtime.engine.connect() as conn:
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            conn.exec_driver_sql(statement)
    with runtime.sessions() as db:
        assert db.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == log[-1]
