"""Rotating the master key rewraps data keys; objects stay readable throughout."""

from __future__ import annotations

import io
import json

import pytest

from storage import EncryptedStore, IntegrityError, Keyring, KeyringError
from storage.encrypted import META_KEY_ID, META_WRAPPED_KEY


def _read_all(encrypted: EncryptedStore, key: str, **options: str) -> bytes:
    with encrypted.open(key, **options) as reader:
        return reader.read()


def test_old_object_readable_after_rotation_and_rewrap(encrypted: EncryptedStore, tmp_path) -> None:
    info = encrypted.put("objects/a", io.BytesIO(b"court ruling"))
    new_id = encrypted.keyring.add_new_key(tmp_path / "master.key")

    assert _read_all(encrypted, "objects/a") == b"court ruling"  # before rewrap: old key still there
    key_id, wrapped = encrypted.rewrap("objects/a", info.key_id, info.wrapped_key)

    assert key_id == new_id
    metadata = encrypted.store.metadata("objects/a")
    assert (metadata[META_KEY_ID], metadata[META_WRAPPED_KEY]) == (key_id, wrapped)
    assert _read_all(encrypted, "objects/a") == b"court ruling"
    assert _read_all(encrypted, "objects/a", key_id=key_id, wrapped_key=wrapped) == b"court ruling"


def test_rewrapped_object_no_longer_needs_the_retired_key(encrypted: EncryptedStore, tmp_path) -> None:
    info = encrypted.put("objects/a", io.BytesIO(b"birth record"))
    encrypted.keyring.add_new_key(tmp_path / "master.key")
    encrypted.rewrap("objects/a", info.key_id, info.wrapped_key)
    document = json.loads((tmp_path / "master.key").read_text())
    del document["keys"][info.key_id]
    only_new = EncryptedStore(encrypted.store, Keyring.from_env_value(json.dumps(document)))

    assert _read_all(only_new, "objects/a") == b"birth record"


def test_rewrap_keeps_the_stored_bytes(encrypted: EncryptedStore, read_raw, tmp_path) -> None:
    info = encrypted.put("objects/a", io.BytesIO(b"x" * 9000))
    before = read_raw(encrypted.store, "objects/a")
    encrypted.keyring.add_new_key(tmp_path / "master.key")

    encrypted.rewrap("objects/a", info.key_id, info.wrapped_key)

    assert read_raw(encrypted.store, "objects/a") == before


def test_a_retired_key_leaves_the_file_and_an_old_wrapped_key_no_longer_opens(
    encrypted: EncryptedStore, tmp_path
) -> None:
    path = tmp_path / "master.key"
    info = encrypted.put("objects/a", io.BytesIO(b"genomic result"))
    old_id = info.key_id
    with pytest.raises(KeyringError, match="current"):
        encrypted.keyring.retire(path, old_id)
    encrypted.keyring.add_new_key(path)
    key_id, wrapped = encrypted.rewrap("objects/a", info.key_id, info.wrapped_key)

    encrypted.keyring.retire(path, old_id)

    assert old_id not in json.loads(path.read_text())["keys"]
    assert old_id not in Keyring.load(path).key_ids
    assert _read_all(encrypted, "objects/a", key_id=key_id, wrapped_key=wrapped) == b"genomic result"
    with pytest.raises((KeyringError, IntegrityError)):  # a backup's copy of the old wrapped key
        _read_all(encrypted, "objects/a", key_id=old_id, wrapped_key=info.wrapped_key)
