"""Envelope encryption in front of any ObjectStore.

Each object gets a fresh random 256-bit data key; the bytes are sealed with the
STREAM construction (``storage.stream_aead``) before they reach the backend, so
the storage operator only ever holds ciphertext. The data key travels wrapped by
a master key (``storage.keyring``), both in the object's metadata and in the
returned ``ObjectInfo`` for the application's database; rotating master keys
rewraps those few bytes, never the objects.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO

from storage import fingerprint
from storage.base import LockMode, ObjectStore
from storage.errors import IntegrityError, StorageError
from storage.keyring import KEY_BYTES, Keyring
from storage.stream_aead import (
    DEFAULT_SEGMENT_SIZE,
    DecryptingReader,
    EncryptingReader,
    ciphertext_length,
)

META_KEY_ID = "enc-key-id"
META_WRAPPED_KEY = "enc-wrapped-key"
META_FORMAT = "enc-format"
FORMAT_NAME = "stream-aes256gcm-v1"


@dataclass(frozen=True)
class ObjectInfo:
    """What the application records about a stored encrypted object."""

    key: str
    size: int
    fingerprint: str  # keyed, see storage.fingerprint
    key_id: str
    wrapped_key: str
    stored_size: int
    version_id: str | None = None


class EncryptedStore:
    """Encrypts on the way in, decrypts and verifies on the way out."""

    def __init__(self, store: ObjectStore, keyring: Keyring, segment_size: int = DEFAULT_SEGMENT_SIZE) -> None:
        self.store = store
        self.keyring = keyring
        self.segment_size = segment_size

    def __repr__(self) -> str:
        return f"EncryptedStore({self.store!r})"

    def put(self, key: str, stream: BinaryIO, length: int | None = None, *, context: str = "") -> ObjectInfo:
        """Encrypt and store; ``context`` says what the object is (bound into its wrapped key, see ``_bound``)."""
        data_key = secrets.token_bytes(KEY_BYTES)
        key_id, wrapped = self.keyring.wrap(data_key, _bound(key, context))
        wrapped_text = base64.b64encode(wrapped).decode()
        fingerprinter = fingerprint.current(self.keyring)
        reader = EncryptingReader(
            stream, data_key, key, self.segment_size, expected_length=length, digest=fingerprinter.new
        )
        stored_length = None if length is None else ciphertext_length(length, self.segment_size)
        raw = self.store.put(key, reader, stored_length, _metadata(key_id, wrapped_text))  # type: ignore[arg-type]
        return ObjectInfo(
            key=key,
            size=reader.plaintext_size,
            fingerprint=fingerprinter.text(reader.digest_hex),
            key_id=key_id,
            wrapped_key=wrapped_text,
            stored_size=raw.size,
            version_id=raw.version_id,
        )

    def open(
        self,
        key: str,
        *,
        key_id: str | None = None,
        wrapped_key: str | None = None,
        expected_fingerprint: str | None = None,
        context: str = "",
    ) -> BinaryIO:
        """Return a decrypting reader; it raises IntegrityError on any tampering.

        Without ``key_id``/``wrapped_key`` (normally kept in the database) they
        are taken from the object's metadata. With ``expected_fingerprint`` the end of the
        plaintext is accepted only if it has that fingerprint.
        """
        if key_id is None or wrapped_key is None:
            key_id, wrapped_key = self._key_material(key)
        data_key = self.keyring.unwrap(key_id, _decode_wrapped(wrapped_key), _bound(key, context))
        fingerprinter, expected = (
            fingerprint.checker(self.keyring, expected_fingerprint) if expected_fingerprint else (None, None)
        )
        raw = self.store.open(key)
        try:
            return DecryptingReader(
                raw,
                data_key,
                key,
                expected,  # type: ignore[return-value]
                digest=fingerprinter.new if fingerprinter else hashlib.sha256,
            )
        except BaseException:
            raw.close()
            raise

    def rewrap(self, key: str, key_id: str, wrapped_key: str, *, context: str = "") -> tuple[str, str]:
        """Wrap the object's data key under the current master key; store and return it."""
        data_key = self.keyring.unwrap(key_id, _decode_wrapped(wrapped_key), _bound(key, context))
        new_key_id, new_wrapped = self.keyring.wrap(data_key, _bound(key, context))
        new_wrapped_text = base64.b64encode(new_wrapped).decode()
        metadata = self.store.metadata(key)
        metadata.update(_metadata(new_key_id, new_wrapped_text))
        self.store.replace_metadata(key, metadata)
        return new_key_id, new_wrapped_text

    def refingerprint(self, key: str, *, key_id: str, wrapped_key: str, old_fingerprint: str, context: str = "") -> str:
        """The plaintext's fingerprint under the current master key, read through a check of the old one,
        so that a key with fingerprints to its name can be retired."""
        fresh = fingerprint.current(self.keyring)
        digest = fresh.new()
        with self.open(
            key, key_id=key_id, wrapped_key=wrapped_key, expected_fingerprint=old_fingerprint, context=context
        ) as reader:
            while chunk := reader.read(DEFAULT_SEGMENT_SIZE):
                digest.update(chunk)
        return fresh.text(digest.hexdigest())

    def delete(self, key: str) -> None:
        self.store.delete(key)

    def exists(self, key: str) -> bool:
        return self.store.exists(key)

    def iter_keys(self, prefix: str = "") -> Iterator[str]:
        return self.store.iter_keys(prefix)

    def lock(self, key: str, until: datetime, mode: LockMode = "COMPLIANCE") -> None:
        self.store.lock(key, until, mode)

    def supports_lock(self) -> bool:
        return self.store.supports_lock()

    def set_legal_hold(self, key: str, on: bool) -> None:
        self.store.set_legal_hold(key, on)

    def supports_legal_hold(self) -> bool:
        return self.store.supports_legal_hold()

    def deletion_blocked(self, key: str) -> str | None:
        return self.store.deletion_blocked(key)

    def ensure_container(self) -> None:
        self.store.ensure_container()

    def health(self) -> None:
        self.store.health()

    def _key_material(self, key: str) -> tuple[str, str]:
        metadata = self.store.metadata(key)
        try:
            return metadata[META_KEY_ID], metadata[META_WRAPPED_KEY]
        except KeyError:
            raise StorageError(f"object {key!r} carries no wrapped data key: not encrypted by us") from None


def _bound(key: str, context: str) -> bytes:
    """The wrap's associated data: the object key, and what the application says the object is.

    With a context ("document 7, version 2, original") a database owner who points a record at
    another record's object gets an object whose data key does not unwrap there: the swap is an
    integrity error, not the wrong document served and signed.
    """
    return key.encode() if not context else key.encode() + b"\x00" + context.encode()


def _metadata(key_id: str, wrapped_key: str) -> dict[str, str]:
    return {META_FORMAT: FORMAT_NAME, META_KEY_ID: key_id, META_WRAPPED_KEY: wrapped_key}


def _decode_wrapped(wrapped_key: str) -> bytes:
    try:
        return base64.b64decode(wrapped_key, validate=True)
    except (binascii.Error, ValueError):
        raise IntegrityError("wrapped data key is not valid base64") from None
