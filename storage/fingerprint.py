"""Content fingerprints: a keyed hash of a file's plaintext, for finding duplicates and checking reads.

A plain SHA-256 kept in the database would let anyone holding the database or one of its backups
confirm a guessed document: hash a candidate birth record and look it up. An HMAC-SHA-256 under a
key derived from the master keyring (never stored beside the database) cannot be computed without
the keyring. The text names the master key it was made with (``hmac-sha256:<key id>:<hex>``) so a
rotation can fingerprint the originals again and the old key can then be retired. Texts written
before keyed fingerprints (``sha256:<hex>``) are still checked, as what they are.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass

from storage.errors import IntegrityError
from storage.keyring import Keyring
from storage.stream_aead import Digest

KEYED = "hmac-sha256"
PLAIN = "sha256"
DERIVATION_LABEL = b"content fingerprint"
_TEXT = re.compile(r"(?:hmac-sha256:(?P<key_id>[^:\s]{1,80}):|sha256:)(?P<hex>[0-9a-f]{64})")


@dataclass(frozen=True, repr=False)
class Fingerprinter:
    """Makes fingerprints of one kind: keyed under one master key's derived key, or plain (legacy)."""

    key_id: str | None
    key: bytes | None

    def __repr__(self) -> str:  # the derived key never appears in a log or a traceback
        return f"Fingerprinter(key_id={self.key_id!r})"

    def new(self) -> Digest:
        if self.key is None:
            return hashlib.sha256()
        return hmac.new(self.key, digestmod=hashlib.sha256)

    def text(self, hex_digest: str) -> str:
        return f"{PLAIN}:{hex_digest}" if self.key_id is None else f"{KEYED}:{self.key_id}:{hex_digest}"

    def of(self, data: bytes) -> str:
        digest = self.new()
        digest.update(data)
        return self.text(digest.hexdigest())


def current(keyring: Keyring) -> Fingerprinter:
    """The fingerprinter for new objects: keyed under the current master key."""
    key_id, key = keyring.derive(DERIVATION_LABEL)
    return Fingerprinter(key_id, key)


def parse(text: str) -> tuple[str | None, str]:
    """(master key id or None for a legacy plain SHA-256, hex digest); IntegrityError if malformed."""
    match = _TEXT.fullmatch(text or "")
    if match is None:
        raise IntegrityError(f"not a content fingerprint: {text[:40]!r}")
    return match["key_id"], match["hex"]


def key_id_of(text: str) -> str | None:
    """The master key a fingerprint was made with; None for a legacy plain SHA-256."""
    return parse(text)[0]


def checker(keyring: Keyring, text: str) -> tuple[Fingerprinter, str]:
    """The fingerprinter that made ``text`` and the digest it must give; KeyringError if its key is gone."""
    key_id, hex_digest = parse(text)
    if key_id is None:
        return Fingerprinter(None, None), hex_digest
    _, key = keyring.derive(DERIVATION_LABEL, key_id)
    return Fingerprinter(key_id, key), hex_digest
