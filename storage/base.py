"""The contract every backend fulfils, and the values it returns.

Backends store raw bytes and never see plaintext when used through
``EncryptedStore``; keeping them crypto-free lets the same encryption code run
over a folder in development and over any S3-compatible server in production.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO, Literal, Protocol, runtime_checkable

_KEY_PATTERN = re.compile(r"[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*")
_METADATA_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
_METADATA_VALUE = re.compile(r"[\x20-\x7e]{0,1024}")
MAX_KEY_LENGTH = 512

LockMode = Literal["COMPLIANCE", "GOVERNANCE"]
WormState = Literal["enforced", "not_proven", "unavailable"]


def validate_key(key: str) -> str:
    """Return ``key`` if it is a safe object key, else raise ValueError.

    One rule for every backend so a key accepted by S3 in production is also a
    safe relative path for the filesystem store (no ``..``, no absolute path).
    """
    if not isinstance(key, str) or not key:
        raise ValueError("object key must be a non-empty string")
    if len(key) > MAX_KEY_LENGTH:
        raise ValueError(f"object key is longer than {MAX_KEY_LENGTH} characters")
    if not _KEY_PATTERN.fullmatch(key):
        raise ValueError(
            f"object key {key!r} may only contain letters, digits and '/_.-', "
            "and may not start or end with '/' or contain '//'"
        )
    if any(part in (".", "..") for part in key.split("/")):
        raise ValueError(f"object key {key!r} may not contain '.' or '..' segments")
    return key


def validate_metadata(metadata: dict[str, str] | None) -> dict[str, str]:
    """Return a copy of ``metadata`` if every backend can keep it unchanged.

    S3 lower-cases names and mangles non-ASCII values, so only lower-case names
    and printable ASCII values are accepted: what goes in comes back out.
    """
    checked = dict(metadata or {})
    for name, value in checked.items():
        if not isinstance(name, str) or not _METADATA_NAME.fullmatch(name):
            raise ValueError(f"metadata name {name!r} must be lower-case letters, digits and '-'")
        if not isinstance(value, str) or not _METADATA_VALUE.fullmatch(value):
            raise ValueError(f"metadata value for {name!r} must be printable ASCII (max 1024)")
    return checked


@dataclass(frozen=True)
class RawObjectInfo:
    """What a backend reports after storing bytes."""

    key: str
    size: int
    version_id: str | None = None


@dataclass(frozen=True)
class ObjectVersion:
    """One stored version of a key, or a delete marker: what a plain listing hides.

    ``version_id`` is the server's (``"null"`` in a bucket that never kept versions).
    """

    key: str
    version_id: str
    latest: bool
    delete_marker: bool


@dataclass(frozen=True)
class WormStatus:
    """Outcome of a write-once self-test.

    ``enforced``: the server refused to delete and to shorten a COMPLIANCE
    retention; ``not_proven``: it accepted one of them (emulators do);
    ``unavailable``: the bucket or backend has no object lock at all.
    """

    status: WormState
    detail: str


@runtime_checkable
class ObjectStore(Protocol):
    """Raw byte storage addressed by opaque keys."""

    def put(
        self,
        key: str,
        stream: BinaryIO,
        length: int | None = None,
        metadata: dict[str, str] | None = None,
    ) -> RawObjectInfo:
        """Store everything ``stream`` yields under ``key``, all or nothing."""

    def open(self, key: str) -> BinaryIO:
        """Return a streaming reader of the object; the caller closes it."""

    def delete(self, key: str) -> None:
        """Remove the object (every version, where the backend keeps versions)."""

    def exists(self, key: str) -> bool:
        """Tell whether an object is stored under ``key``."""

    def iter_keys(self, prefix: str = "") -> Iterator[str]:
        """Yield the keys starting with ``prefix`` (order not guaranteed)."""

    def next_key(self, prefix: str, after: str) -> str | None:
        """Return the smallest key starting with ``prefix`` that sorts after ``after``, if any."""

    def metadata(self, key: str) -> dict[str, str]:
        """Return the small string metadata stored with the object."""

    def replace_metadata(self, key: str, metadata: dict[str, str]) -> None:
        """Replace the object's metadata, keeping its bytes."""

    def lock(self, key: str, until: datetime, mode: LockMode = "COMPLIANCE") -> None:
        """Put the object under retention until ``until`` (WORM)."""

    def supports_lock(self) -> bool:
        """Tell whether ``lock`` can work on this backend/bucket."""

    def set_legal_hold(self, key: str, on: bool) -> None:
        """Turn the store's legal hold on every version of the object on or off; LockUnsupported where the
        backend has none. A version under a legal hold cannot be deleted until the hold is off."""

    def supports_legal_hold(self) -> bool:
        """Tell whether ``set_legal_hold`` can work on this backend/bucket."""

    def deletion_blocked(self, key: str) -> str | None:
        """Why the store would refuse to delete the object now (a retention date in the future, a legal
        hold), or None: asked before a deletion is promised, so the promise is not broken afterwards."""

    def ensure_container(self) -> None:
        """Create the folder or bucket if missing; safe to call repeatedly."""

    def health(self) -> None:
        """Raise StorageUnavailable with a clear message if the store is unusable."""
