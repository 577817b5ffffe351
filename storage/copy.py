"""Objects copied as they are stored, from one store to another, hashed on the way.

A backup must never see plaintext: it moves the stored (encrypted) bytes and the
metadata that holds their wrapped data key, and records the SHA-256 of exactly
the bytes that went through it, so that what was read, what was written and
what a manifest says about them are one and the same.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from typing import Any, BinaryIO

from storage.base import ObjectStore, RawObjectInfo

CHUNK = 1024 * 1024


@dataclass(frozen=True)
class StoredDigest:
    """The SHA-256 and length of an object's stored bytes."""

    sha256: str
    size: int


class HashingReader(io.RawIOBase):
    """Passes a stream through, hashing and counting it. Not seekable, so nothing is hashed twice."""

    def __init__(self, stream: BinaryIO) -> None:
        super().__init__()
        self._stream = stream
        self._digest = hashlib.sha256()
        self.size = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self._stream.read(len(buffer))
        count = len(data)
        buffer[:count] = data
        self._digest.update(data)
        self.size += count
        return count

    @property
    def digest(self) -> StoredDigest:
        return StoredDigest(self._digest.hexdigest(), self.size)


def hash_object(store: ObjectStore, key: str) -> StoredDigest:
    """Read an object through and return the digest of its stored bytes."""
    with store.open(key) as raw:
        reader = HashingReader(raw)
        while reader.read(CHUNK):
            pass
    return reader.digest


def copy_object(
    source: ObjectStore,
    key: str,
    target: ObjectStore,
    target_key: str | None = None,
    *,
    metadata: dict[str, str] | None = None,
) -> StoredDigest:
    """Copy the stored bytes of ``key`` to ``target_key`` (default the same key) with ``metadata``
    (default the source object's own), in one streaming pass; return the digest of what was copied."""
    carried = source.metadata(key) if metadata is None else metadata
    with source.open(key) as raw:
        reader = HashingReader(raw)
        target.put(target_key or key, reader, metadata=carried)  # type: ignore[arg-type]
    return reader.digest


class HashingStore:
    """A store that remembers the digest of every object it stores, for writers that make the bytes
    themselves (``EncryptedStore`` over it gives the digest of the ciphertext as stored)."""

    def __init__(self, store: ObjectStore) -> None:
        self.store = store
        self.stored: dict[str, StoredDigest] = {}

    def put(
        self,
        key: str,
        stream: BinaryIO,
        length: int | None = None,
        metadata: dict[str, str] | None = None,
    ) -> RawObjectInfo:
        reader = HashingReader(stream)
        info = self.store.put(key, reader, length, metadata)  # type: ignore[arg-type]
        self.stored[key] = reader.digest
        return info

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)
