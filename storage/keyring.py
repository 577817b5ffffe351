"""Master keys that wrap the per-object data keys.

The file holds every master key ever used, named by key id, and which one is
current: ``{"current": "<kid>", "keys": {"<kid>": "<base64 of 32 bytes>"}}``.
Rotation adds a key and makes it current; objects keep their data keys, only the
small wrapped keys are re-wrapped (``EncryptedStore.rewrap``). A wrapped key is
bound to its object key and key id by AES-GCM associated data, so a wrapped key
copied to another object, or presented under another key id, does not unwrap.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
import secrets
import stat
import tempfile
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from storage.errors import IntegrityError, KeyringError

KEY_BYTES = 32
_WRAP_VERSION = b"\x01"
_NONCE_BYTES = 12
_WRAP_LABEL = b"kinship-registry key wrap v1\x00"
_DERIVE_LABEL = b"kinship-registry derived key v1\x00"
_KEY_ID_PATTERN = re.compile(r"[A-Za-z0-9_.-]{1,64}")


class Keyring:
    """A set of 256-bit master keys, one of them current."""

    def __init__(self, keys: Mapping[str, bytes], current: str) -> None:
        for key_id, key in keys.items():
            if not _KEY_ID_PATTERN.fullmatch(key_id):
                raise KeyringError(f"key id {key_id!r} must be 1-64 letters, digits or '_.-'")
            if len(key) != KEY_BYTES:
                raise KeyringError(f"master key {key_id!r} is not {KEY_BYTES} bytes long")
        if current not in keys:
            raise KeyringError(f"current key id {current!r} is not among the keys")
        self._keys = dict(keys)
        self._current = current

    def __repr__(self) -> str:
        return f"Keyring(current={self._current!r}, key_ids={sorted(self._keys)!r})"

    @property
    def current_key_id(self) -> str:
        return self._current

    @property
    def key_ids(self) -> frozenset[str]:
        return frozenset(self._keys)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Keyring:
        """Read a key file, refusing one that group or others can read."""
        path = Path(path)
        try:
            mode = path.stat().st_mode
        except FileNotFoundError:
            raise KeyringError(f"master key file {path} does not exist") from None
        if mode & 0o077:
            raise KeyringError(
                f"master key file {path} is accessible by group or others "
                f"(mode {stat.S_IMODE(mode):04o}); run: chmod 600 {path}"
            )
        try:
            document = json.loads(path.read_bytes())
        except (OSError, ValueError) as exc:
            raise KeyringError(f"master key file {path} is not readable JSON: {exc}") from None
        return cls._from_document(document, f"master key file {path}")

    @classmethod
    def generate(cls, path: str | os.PathLike[str]) -> Keyring:
        """Create a new key file (mode 0600) with one fresh key; never overwrite."""
        key_id = _new_key_id()
        keyring = cls({key_id: secrets.token_bytes(KEY_BYTES)}, key_id)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise KeyringError(f"master key file {path} already exists; not overwriting it") from None
        with os.fdopen(fd, "wb") as handle:
            handle.write(keyring._document())
            handle.flush()
            os.fsync(handle.fileno())
        return keyring

    @classmethod
    def from_env_value(cls, value: str) -> Keyring:
        """Build a keyring from an environment value: the file's JSON or one base64 key.

        A lone key gets an id derived from the key itself, so the id stays the
        same across restarts and a changed key is reported as unknown, not as
        tampering.
        """
        text = value.strip()
        if text.startswith("{"):
            try:
                document = json.loads(text)
            except ValueError as exc:
                raise KeyringError(f"master key value is not valid JSON: {exc}") from None
            return cls._from_document(document, "master key value")
        key = _decode_key(text, "master key value")
        key_id = "env-" + hashlib.sha256(b"kinship-registry key id\x00" + key).hexdigest()[:16]
        return cls({key_id: key}, key_id)

    def add_new_key(self, path: str | os.PathLike[str]) -> str:
        """Add a fresh current key to the file at ``path`` and to this keyring.

        The file is re-read first so keys added elsewhere are kept, and replaced
        atomically so a crash leaves the old file, never a half-written one.
        """
        on_disk = Keyring.load(path)
        key_id = _new_key_id()
        keys = {**on_disk._keys, **self._keys, key_id: secrets.token_bytes(KEY_BYTES)}
        updated = Keyring(keys, key_id)
        _replace_file(Path(path), updated._document())
        self._keys, self._current = updated._keys, key_id
        return key_id

    def retire(self, path: str | os.PathLike[str], key_id: str) -> None:
        """Remove a master key that wraps nothing any more from the file at ``path`` and this keyring.

        The caller proves first that no data key is wrapped by it (``registry keys retire`` does);
        the current key cannot be retired.
        """
        on_disk = Keyring.load(path)
        keys = {**on_disk._keys, **self._keys}
        if key_id not in keys:
            raise KeyringError(f"master key {key_id!r} is not in the keyring (known: {sorted(keys)})")
        if key_id in (self._current, on_disk._current):
            raise KeyringError(f"master key {key_id!r} is the current key: rotate first")
        del keys[key_id]
        updated = Keyring(keys, on_disk._current)
        _replace_file(Path(path), updated._document())
        self._keys = updated._keys

    def derive(self, label: bytes, key_id: str | None = None) -> tuple[str, bytes]:
        """A 256-bit key for one purpose of the application (``label``), derived from a master key by HKDF:
        the current one, or the one named by ``key_id`` to open what was sealed before a rotation."""
        key_id = key_id or self._current
        master = self._keys.get(key_id)
        if master is None:
            raise KeyringError(f"master key {key_id!r} is not in the keyring (known: {sorted(self._keys)})")
        derived = HKDF(algorithm=SHA256(), length=KEY_BYTES, salt=None, info=_DERIVE_LABEL + label).derive(master)
        return key_id, derived

    def wrap(self, data_key: bytes, aad: bytes) -> tuple[str, bytes]:
        """Encrypt ``data_key`` under the current master key; return (key id, wrapped)."""
        key_id = self._current
        nonce = secrets.token_bytes(_NONCE_BYTES)
        sealed = AESGCM(self._keys[key_id]).encrypt(nonce, data_key, _wrap_aad(key_id, aad))
        return key_id, _WRAP_VERSION + nonce + sealed

    def unwrap(self, key_id: str, wrapped: bytes, aad: bytes) -> bytes:
        """Recover a data key; IntegrityError if it was altered, moved or re-labelled."""
        master = self._keys.get(key_id)
        if master is None:
            raise KeyringError(f"master key {key_id!r} is not in the keyring (known: {sorted(self._keys)})")
        if wrapped[:1] != _WRAP_VERSION or len(wrapped) < 1 + _NONCE_BYTES + 16:
            raise IntegrityError("wrapped data key has an unknown format")
        nonce, sealed = wrapped[1 : 1 + _NONCE_BYTES], wrapped[1 + _NONCE_BYTES :]
        try:
            return AESGCM(master).decrypt(nonce, sealed, _wrap_aad(key_id, aad))
        except InvalidTag:
            raise IntegrityError(
                f"wrapped data key does not authenticate under master key {key_id!r}: "
                "it was altered, or belongs to another object"
            ) from None

    @classmethod
    def _from_document(cls, document: object, source: str) -> Keyring:
        if not isinstance(document, dict) or not isinstance(document.get("keys"), dict):
            raise KeyringError(f'{source} must be {{"current": ..., "keys": {{id: base64}}}}')
        keys = {
            str(key_id): _decode_key(encoded, f"{source}, key {key_id!r}")
            for key_id, encoded in document["keys"].items()
        }
        return cls(keys, str(document.get("current")))

    def _document(self) -> bytes:
        keys = {key_id: base64.b64encode(key).decode() for key_id, key in self._keys.items()}
        return json.dumps({"current": self._current, "keys": keys}, indent=2).encode() + b"\n"


def _new_key_id() -> str:
    """Readable, sortable by creation day, unique without coordination."""
    return f"mk-{datetime.now(UTC):%Y%m%d}-{secrets.token_hex(4)}"


def _decode_key(encoded: object, source: str) -> bytes:
    try:
        key = base64.b64decode(str(encoded), validate=True)
    except (binascii.Error, ValueError):
        raise KeyringError(f"{source} is not valid base64") from None
    if len(key) != KEY_BYTES:
        raise KeyringError(f"{source} decodes to {len(key)} bytes, {KEY_BYTES} are needed")
    return key


def _wrap_aad(key_id: str, aad: bytes) -> bytes:
    encoded_id = key_id.encode()
    return _WRAP_LABEL + len(encoded_id).to_bytes(2, "big") + encoded_id + aad


def _replace_file(path: Path, content: bytes) -> None:
    fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp_name, path)
    except BaseException:
        os.unlink(temp_name)
        raise
