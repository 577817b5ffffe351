"""What a staff member had typed when their session ended, kept server-side until they sign in again.

A clerk who spends twenty minutes on a long form and presses Save after the idle limit must not lose the
work. The form is kept here, never in the browser: sealed with a key derived from the application's secret
(bound to the user and the page), for an hour at most, and deleted when the form is shown again. Secrets
typed into a form (passwords, one-time codes, tokens) are never kept.
"""

from __future__ import annotations

import base64
import json
import secrets
from datetime import timedelta

import sqlalchemy as sa
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy.orm import Session

from registry.accounts.models import FormDraft, StaffSession
from registry.db import utcnow

LIFETIME = timedelta(hours=1)
MAX_CHARS = 64 * 1024  # beyond this, not a form a clerk typed
MAX_FIELDS = 200
NEVER_KEPT = frozenset(
    {"csrf_token", "password", "new_password", "current_password", "repeat_password", "code", "token", "text_sha256"}
)

Fields = list[tuple[str, str]]


def _box(secret_key: str) -> AESGCM:
    key = HKDF(algorithm=SHA256(), length=32, salt=None, info=b"registry form drafts").derive(
        secret_key.encode("utf-8")
    )
    return AESGCM(key)


def _bound(user_id: str, path: str) -> bytes:
    return f"{user_id}\n{path}".encode()


def keepable(fields: Fields) -> Fields:
    """The fields worth keeping: no secret, nothing empty."""
    return [(name, value) for name, value in fields if name not in NEVER_KEPT and value.strip()]


def timed_out(row: StaffSession, *, idle: timedelta, absolute: timedelta) -> bool:
    """Whether the session ended by time (idle or too old), not by signing out or being revoked."""
    end = row.revoked_at or utcnow()
    return end - row.last_seen_at > idle or end - row.created_at > absolute


def keep(db: Session, user_id: str, path: str, fields: Fields, secret_key: str) -> bool:
    """Keep what was typed into the form at ``path``; False when there is nothing (or too much) to keep."""
    fields = keepable(fields)
    plain = json.dumps(fields, ensure_ascii=False)
    if not fields or len(fields) > MAX_FIELDS or len(plain) > MAX_CHARS or len(path) > 300:
        return False
    nonce = secrets.token_bytes(12)
    sealed = base64.b64encode(nonce + _box(secret_key).encrypt(nonce, plain.encode(), _bound(user_id, path)))
    _forget_expired(db)
    db.execute(sa.delete(FormDraft).where(FormDraft.user_id == user_id, FormDraft.path == path))
    db.add(FormDraft(user_id=user_id, path=path, sealed=sealed.decode(), expires_at=utcnow() + LIFETIME))
    return True


def take(db: Session, user_id: str, path: str, secret_key: str) -> Fields | None:
    """The fields kept for this user and page, deleted as they are handed back; None when there are none."""
    row = db.scalar(
        sa.select(FormDraft).where(
            FormDraft.user_id == user_id, FormDraft.path == path, FormDraft.expires_at > utcnow()
        )
    )
    if row is None:
        return None
    db.delete(row)
    raw = base64.b64decode(row.sealed)
    try:
        plain = _box(secret_key).decrypt(raw[:12], raw[12:], _bound(user_id, path))
    except InvalidTag:  # sealed under another key (the secret was rotated): nothing to give back
        return None
    return [(str(name), str(value)) for name, value in json.loads(plain)]


def _forget_expired(db: Session) -> None:
    db.execute(sa.delete(FormDraft).where(FormDraft.expires_at <= utcnow()))
