"""The hash covers RFC 8785 JSON, and nothing typed by a user can forge a line or reorder what an auditor reads."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC

import rfc8785
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from registry.audit.events import (
    EVENT_FIELDS,
    Action,
    canonical_event,
    canonical_json,
    canonical_text,
    clean,
    clean_details,
    format_time,
)
from registry.audit.models import AuditEvent
from registry.audit.reports import events_csv
from registry.audit.service import record
from registry.audit.verify import verify_chain
from tests.audit.support import Clerk

# Everything a logged value might carry: any code point, lone surrogates included.
any_text = st.text(st.characters(codec=None, categories=None), max_size=60)
scalars = st.one_of(any_text, st.integers(), st.booleans(), st.none(), st.floats(allow_nan=True))
# Keys where UTF-16 order (RFC 8785) and code point order (Python) disagree.
sort_order_keys = st.text(st.sampled_from(["a", "Z", "\ue000", "\uff01", "\U0001f600", "\U00010000"]), max_size=3)
raw_details = st.dictionaries(
    st.one_of(any_text, sort_order_keys, st.integers()),
    st.one_of(scalars, st.lists(scalars, max_size=5), st.dictionaries(any_text, scalars, max_size=3)),
    max_size=6,
)

UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]")
INJECTIONS = [
    "line one\nFORGED 2024-01-01 admin person.viewed allowed",
    "\r\n\r\nHTTP/1.1 200 OK",
    "\x1b[2J\x1b[31mred\x1b[0m",
    "\u202eevil\u202c txt.exe",
    "\u2066isolate\u2069",
    'quote " and \\ back',
    '{"json": "breaker"}',
    "lone \ud800 surrogate",
    "sep\u2028arator",
    "\x00nul\x7fdel\x85nel",
]


def unescape(text: str) -> str:
    """Undo ``clean``: each escape stands for exactly one character."""
    return re.sub(r"\\\\|\\u([0-9a-f]{4})", lambda m: "\\" if m.group(0) == "\\\\" else chr(int(m.group(1), 16)), text)


@settings(max_examples=400)
@given(raw_details)
def test_canonical_json_of_cleaned_details_is_rfc8785(details):
    cleaned = clean_details(details)
    assert canonical_json(cleaned) == rfc8785.dumps(cleaned)


@settings(max_examples=400)
@given(
    seq=st.integers(1, 2**53 - 1),
    at=st.datetimes(timezones=st.just(UTC)),
    actor_id=st.one_of(st.none(), st.uuids().map(str)),
    texts=st.lists(any_text, min_size=9, max_size=9),
    persons=st.lists(any_text, max_size=4),
    details=raw_details,
    prev_hash=st.text("0123456789abcdef", min_size=64, max_size=64),
)
def test_the_hashed_bytes_of_an_event_are_rfc8785(seq, at, actor_id, texts, persons, details, prev_hash):
    actor_name, action, outcome, target_type, target_id, ip, user_agent, request_id, reason = map(clean, texts)
    row = (
        seq,
        format_time(at),
        actor_id,
        actor_name,
        action,
        outcome,
        target_type,
        target_id,
        canonical_text(sorted({clean(p, 36) for p in persons})),
        ip,
        user_agent,
        request_id,
        reason,
        canonical_text(clean_details(details)),
        prev_hash,
    )
    assert canonical_event(row) == rfc8785.dumps(dict(zip(EVENT_FIELDS, row, strict=False)))


@settings(max_examples=500)
@given(any_text)
def test_clean_leaves_nothing_unsafe_and_loses_nothing(text):
    cleaned = clean(text, limit=10_000)
    assert not UNSAFE.search(cleaned)
    assert unescape(cleaned) == text  # two different inputs are never logged alike


def test_log_injection_is_stored_encoded_and_the_chain_still_verifies(runtime):
    who = Clerk(
        username="evil\nadmin",
        ip="10.0.0.1\r\nX-Forwarded-For: 1.2.3.4",
        user_agent=INJECTIONS[2],
        request_id="\u202eid",
    )
    with runtime.sessions() as db:
        for text in INJECTIONS:
            record(
                db,
                who,
                Action.PERSON_VIEWED,
                target_type="person",
                target_id=text,
                person_ids=[text],
                reason=text,
                details={"query": text, text: [text], "big": 2**60},
            )
        db.commit()
        events = list(db.scalars(sa.select(AuditEvent).where(AuditEvent.reason != "").order_by(AuditEvent.seq)))
    assert len(events) == len(INJECTIONS)
    for event, text in zip(events, INJECTIONS, strict=False):
        for column in ("actor_name", "ip", "user_agent", "request_id", "target_id", "reason", "details", "person_ids"):
            assert not UNSAFE.search(getattr(event, column)), (column, getattr(event, column))
        assert unescape(event.reason) == text
        details = json.loads(event.details)
        assert unescape(details["query"]) == text and details["big"] == str(2**60)
    assert "\\u000a" in events[0].reason and "\\u001b[2J" in events[0].user_agent
    assert events[3].reason.startswith("\\u202eevil")
    rows = list(csv.reader(io.StringIO(events_csv(events))))
    assert len(rows) == 1 + len(INJECTIONS)  # one line per event: nothing forged a line
    assert verify_chain(runtime.engine, []).ok
