"""Re-walk the chain and check it against the signed checkpoints.

Reads rows with a plain DB-API cursor in batches: a million events must verify
in seconds, and the ORM would spend most of that building objects.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone

from sqlalchemy.engine import Engine

from registry.audit.checkpoints import Checkpoint
from registry.audit.events import CHAIN_ID, GENESIS_HASH, canonical_json, event_payload

COLUMNS = ("seq, at, actor_id, actor_name, action, outcome, target_type, target_id, person_ids, ip, "
           "user_agent, request_id, reason, details, prev_hash, hash")
BATCH = 20_000


@dataclass
class VerifyReport:
    events: int = 0
    checkpoints: int = 0
    last_seq: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _time_text(value) -> str:
    if isinstance(value, str):  # SQLite returns the text SQLAlchemy wrote (UTC, no zone)
        value = datetime.fromisoformat(value)
    elif value.tzinfo is not None:
        value = value.astimezone(timezone.utc)
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _recompute(row) -> str:
    (seq, at, actor_id, actor_name, action, outcome, target_type, target_id, person_ids, ip, user_agent,
     request_id, reason, details, prev_hash, _stored) = row
    payload = event_payload(
        seq=seq, at=_time_text(at), actor_id=actor_id, actor_name=actor_name, action=action, outcome=outcome,
        target_type=target_type, target_id=target_id, person_ids=json.loads(person_ids), ip=ip,
        user_agent=user_agent, request_id=request_id, reason=reason, details=json.loads(details),
        prev_hash=prev_hash)
    return hashlib.sha256(canonical_json(payload)).hexdigest()


def verify_chain(engine: Engine, checkpoints: list[Checkpoint]) -> VerifyReport:
    report = VerifyReport(checkpoints=len(checkpoints))
    expected_at = {c.seq: c.hash for c in checkpoints}
    expected_seq, previous = 1, GENESIS_HASH
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute(f"SELECT {COLUMNS} FROM audit_events ORDER BY seq")
        while not report.problems:
            rows = cursor.fetchmany(BATCH)
            if not rows:
                break
            for row in rows:
                problem = _check_row(row, expected_seq, previous, expected_at)
                if problem:
                    report.problems.append(problem)
                    break
                expected_seq, previous = row[0] + 1, row[-1]
                report.events += 1
        cursor.close()
        report.last_seq = expected_seq - 1
        if not report.problems:
            _check_tail(raw, report, previous, checkpoints)
    finally:
        raw.close()
    return report


def _check_row(row, expected_seq: int, previous: str, expected_at: dict[int, str]) -> str | None:
    seq, stored_prev, stored_hash = row[0], row[-2], row[-1]
    if seq != expected_seq:
        if seq > expected_seq:
            return f"event {expected_seq} is missing: the chain jumps from {expected_seq - 1} to {seq} (deleted)"
        return f"event {seq} appears out of order after {expected_seq - 1} (inserted or reordered)"
    if stored_prev != previous:
        return (f"event {seq} does not follow event {seq - 1}: its previous-hash does not match "
                "(an event was inserted, deleted or reordered before it)")
    if _recompute(row) != stored_hash:
        return f"event {seq} was edited: its contents no longer match its hash"
    if seq in expected_at and expected_at[seq] != stored_hash:
        return (f"event {seq} differs from the signed checkpoint at {seq}: "
                "the chain up to it was rewritten")
    return None


def _check_tail(raw, report: VerifyReport, last_hash: str, checkpoints: list[Checkpoint]) -> None:
    if checkpoints:
        newest = max(checkpoints, key=lambda c: c.seq)
        if newest.seq > report.last_seq:
            report.problems.append(
                f"the log ends at event {report.last_seq} but a signed checkpoint vouches for event "
                f"{newest.seq}: events after {report.last_seq} were cut off")
            return
    cursor = raw.cursor()
    cursor.execute("SELECT seq, hash FROM audit_chain_head WHERE id = %d" % CHAIN_ID)
    head = cursor.fetchone()
    cursor.close()
    if head is not None and (head[0] != report.last_seq or head[1] != last_hash):
        report.problems.append(
            f"the chain head says event {head[0]} but the log ends at event {report.last_seq}")
