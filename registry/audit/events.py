"""Event names and the canonical encoding that the hash chain is computed over."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from enum import StrEnum
from json.encoder import encode_basestring
from typing import Any

GENESIS_HASH = "0" * 64
CHAIN_ID = 1


class Action(StrEnum):
    LOGIN = "auth.login"
    LOGIN_FAILED = "auth.login_failed"
    LOGOUT = "auth.logout"
    MFA_ENROLLED = "auth.mfa_enrolled"
    PASSWORD_CHANGED = "auth.password_changed"
    TOKEN_CREATED = "auth.token_created"
    TOKEN_REVOKED = "auth.token_revoked"
    TOKEN_REJECTED = "auth.token_rejected"
    NDA_PUBLISHED = "nda.published"
    NDA_SIGNED = "nda.signed"
    ACCESS_DENIED = "access.denied"
    EMERGENCY_ACCESS = "access.emergency"
    USER_CREATED = "admin.user_created"
    USER_CHANGED = "admin.user_changed"
    ROLES_CHANGED = "admin.roles_changed"
    CASE_CREATED = "case.created"
    CASE_MEMBER_ADDED = "case.member_added"
    CASE_MEMBER_REMOVED = "case.member_removed"
    CASE_PERSON_ADDED = "case.person_added"
    PERSON_CREATED = "person.created"
    PERSON_UPDATED = "person.updated"
    PERSON_VIEWED = "person.viewed"
    PERSON_SEARCHED = "person.searched"
    PERSONS_IMPORTED = "person.imported"
    DOCUMENT_UPLOADED = "document.uploaded"
    DOCUMENT_VERSION_ADDED = "document.version_added"
    DOCUMENT_REFINGERPRINTED = "document.refingerprinted"
    DOCUMENT_LINKED = "document.person_linked"
    DOCUMENT_VIEWED = "document.viewed"
    DOCUMENT_CONTENT_READ = "document.content_read"
    DOCUMENT_ORIGINAL_READ = "document.original_read"
    RELATIONSHIP_CLAIMED = "kinship.claimed"
    RELATIONSHIP_CHANGED = "kinship.status_changed"
    RELATIONSHIP_VIEWED = "kinship.viewed"
    EVIDENCE_ATTACHED = "kinship.evidence_attached"
    BUNDLE_EXPORTED = "kinship.bundle_exported"
    RESTORATION_OPENED = "restoration.opened"
    RESTORATION_CHANGED = "restoration.changed"
    RESTORATION_VIEWED = "restoration.viewed"
    AUDIT_READ = "audit.read"
    ACCESS_REPORT_READ = "audit.access_report"
    ACCESS_REPORT_EXPORTED = "audit.access_report_exported"
    REQUEST_REFUSED = "request.refused"
    # Separation of duties: a personal-data role is proposed by one administrator and approved by another.
    ROLE_CHANGE_PROPOSED = "admin.role_change_proposed"
    ROLE_CHANGE_APPROVED = "admin.role_change_approved"
    ROLE_CHANGE_REJECTED = "admin.role_change_rejected"
    ACCOUNT_SETUP_ISSUED = "admin.account_setup_issued"
    ACCOUNT_SET_UP = "auth.account_set_up"
    # Production started on a store that cannot lock objects, as the operator accepted (once per process).
    UNLOCKABLE_STORE_ACCEPTED = "audit.unlockable_store_accepted"
    # Legal holds keep a person's, a case's or a document's records from disposal until lifted.
    LEGAL_HOLD_PLACED = "hold.placed"
    LEGAL_HOLD_LIFTED = "hold.lifted"
    LEGAL_HOLDS_READ = "hold.read"
    # Retention: a disposal is proposed by one person, approved by another, and its record signed.
    DISPOSAL_PROPOSED = "retention.disposal_proposed"
    DISPOSAL_APPROVED = "retention.disposal_approved"
    DISPOSAL_REJECTED = "retention.disposal_rejected"
    DOCUMENT_DISPOSED = "document.disposed"
    # Everything the registry holds about one person, as one signed ZIP (for a court or the person).
    PERSON_EXPORTED = "person.exported"
    # Possible same person: a clerk's decision on two records, each with its reason (registry.matching). A merge
    # moves case links (and with them who may see the records): one clerk proposes it, another approves it.
    PERSON_NOT_SAME = "person.not_same"
    PERSON_MERGE_PROPOSED = "person.merge_proposed"
    PERSON_MERGE_REJECTED = "person.merge_rejected"
    PERSON_MERGED = "person.merged"
    PERSON_MERGE_UNDONE = "person.merge_undone"


class Outcome(StrEnum):
    ALLOWED = "allowed"
    DENIED = "denied"
    FAILED = "failed"


# Actions that show a person's data to the actor: what the volume anomaly counts.
READ_ACTIONS: frozenset[str] = frozenset(
    {
        Action.PERSON_VIEWED,
        Action.PERSON_SEARCHED,
        Action.DOCUMENT_VIEWED,
        Action.DOCUMENT_CONTENT_READ,
        Action.DOCUMENT_ORIGINAL_READ,
        Action.RELATIONSHIP_VIEWED,
        Action.BUNDLE_EXPORTED,
        Action.RESTORATION_VIEWED,
        Action.PERSON_EXPORTED,
    }
)


# Written as visible escapes: C0/C1 controls and DEL (a forged line in a text export, a
# terminal escape), bidi controls (text an auditor reads in a different order than it was
# typed), line/paragraph separators, lone surrogates (not encodable) and the backslash
# itself, so that an escape in the log always means the character, never typed text.
_UNSAFE = re.compile("[\\\\\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]")
_KEY_UNSAFE = re.compile("[^A-Za-z0-9_.-]")
# RFC 8785 writes numbers as IEEE doubles: larger whole numbers would not survive as written.
SAFE_INTEGER = 2**53 - 1


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    return "\\\\" if char == "\\" else f"\\u{ord(char):04x}"


def clean(value: Any, limit: int = 400) -> str:
    """Any value as text that is safe to log: unsafe characters escaped, cut to ``limit``."""
    text = "" if value is None else str(value)
    return _UNSAFE.sub(_escape, text)[:limit]


def clean_key(value: Any) -> str:
    """Detail names in plain ASCII: RFC 8785 sorts keys by UTF-16 units, JSON by code points."""
    return _KEY_UNSAFE.sub(lambda m: f"_u{ord(m.group()):04x}", str(value))[:64]


def clean_details(details: dict[str, Any] | None) -> dict[str, Any]:
    """Details keep only strings, safe whole numbers, booleans and flat lists of strings."""
    out: dict[str, Any] = {}
    for key, value in (details or {}).items():
        if isinstance(value, bool) or (isinstance(value, int) and -SAFE_INTEGER <= value <= SAFE_INTEGER):
            out[clean_key(key)] = value
        elif isinstance(value, (list, tuple)):
            out[clean_key(key)] = [clean(v, 200) for v in value[:100]]
        else:
            out[clean_key(key)] = clean(value, 1000)
    return out


_JSON = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_text(value: Any) -> str:
    """RFC 8785 canonical JSON for the values this log writes.

    Events hold only ASCII keys, strings without lone surrogates, safe integers,
    booleans, null and lists (``clean``, ``clean_key``, ``clean_details``); for
    those the standard library's sorted, compact encoding is byte-for-byte
    RFC 8785 (a property test checks this against the ``rfc8785`` package).
    """
    return _JSON.encode(value)


def canonical_strings(values: Iterable[str]) -> str:
    """``canonical_text`` of a list of strings, several times faster: verify rebuilds one per event."""
    return "[" + ",".join(map(encode_basestring, values)) + "]"


def canonical_json(value: Any) -> bytes:
    return canonical_text(value).encode("utf-8")


# The columns an event's hash covers, in the order a row holds them.
EVENT_FIELDS = (
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
)
_str = encode_basestring  # the C encoder json.dumps(ensure_ascii=False) uses for every string
_EVENT = (
    '{"action":%s,"actor_id":%s,"actor_name":%s,"at":%s,"details":%s,"ip":%s,"outcome":%s,'
    '"person_ids":%s,"prev_hash":%s,"reason":%s,"request_id":%s,"seq":%d,"target_id":%s,'
    '"target_type":%s,"user_agent":%s}'
)


def canonical_event(row: Sequence[Any]) -> bytes:
    """The bytes an event's hash covers: RFC 8785 JSON of its columns (``EVENT_FIELDS``).

    ``at`` is the ``format_time`` text; ``person_ids`` and ``details`` are hashed as
    the JSON text the row stores, as strings, so every column is one JSON value and
    no stored text can spill into a neighbour. Built with one format string because
    ``audit verify`` re-hashes a million rows; equal to ``canonical_json`` of the
    same columns as a dict (a property test checks it against ``rfc8785``).
    """
    return (
        _EVENT
        % (
            _str(row[4]),
            "null" if row[2] is None else _str(row[2]),
            _str(row[3]),
            _str(row[1]),
            _str(row[13]),
            _str(row[9]),
            _str(row[5]),
            _str(row[8]),
            _str(row[14]),
            _str(row[12]),
            _str(row[11]),
            row[0],
            _str(row[7]),
            _str(row[6]),
            _str(row[10]),
        )
    ).encode("utf-8")


def event_hash(canonical: bytes) -> str:
    return hashlib.sha256(canonical).hexdigest()


def format_time(at: datetime) -> str:
    """The hashed form of an event's time: UTC, microseconds, as the database keeps it."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
