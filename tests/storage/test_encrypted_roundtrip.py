"""Encrypted objects come back bit for bit on both backends, and never leave as plaintext."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import os

import pytest

from storage import EncryptedStore, IntegrityError, Keyring, ObjectNotFound, fingerprint
from storage.encrypted import META_KEY_ID, META_WRAPPED_KEY

SEGMENT = 4096
MiB = 1024 * 1024
MARKER = b"PLAINTEXT-MARKER-Zhusan-birth-record-"


def _read_all(encrypted: EncryptedStore, key: str, **options: str) -> bytes:
    with encrypted.open(key, **options) as reader:
        return reader.read()


@pytest.mark.parametrize("size", [0, 1, SEGMENT - 1, SEGMENT, SEGMENT + 1, 2 * SEGMENT, 3 * SEGMENT + 17])
def test_roundtrip_around_segment_boundaries(encrypted: EncryptedStore, size: int) -> None:
    data = os.urandom(size)

    info = encrypted.put("objects/a", io.BytesIO(data), length=size)

    assert _read_all(encrypted, "objects/a") == data
    assert info.size == size
    assert info.fingerprint == fingerprint.current(encrypted.keyring).of(data)


@pytest.mark.parametrize("size", [5 * MiB - 1, 5 * MiB, 5 * MiB + 1, 11 * MiB + 7])
def test_roundtrip_across_multipart_part_sizes(store, keyring: Keyring, size: int) -> None:
    """S3 parts are 5 MiB in these tests: one part, exactly one, just over, three."""
    encrypted = EncryptedStore(store, keyring)
    data = os.urandom(size)

    info = encrypted.put("objects/big", io.BytesIO(data))

    assert _read_all(encrypted, "objects/big", expected_fingerprint=info.fingerprint) == data


def test_reported_info_matches_what_is_stored(encrypted: EncryptedStore, read_raw) -> None:
    info = encrypted.put("objects/a", io.BytesIO(b"x" * 10_000))

    stored = read_raw(encrypted.store, "objects/a")
    metadata = encrypted.store.metadata("objects/a")
    assert info.stored_size == len(stored)
    assert info.key_id == encrypted.keyring.current_key_id
    assert (metadata[META_KEY_ID], metadata[META_WRAPPED_KEY]) == (info.key_id, info.wrapped_key)


def test_s3_reports_the_version_it_wrote(s3_store, keyring: Keyring) -> None:
    info = EncryptedStore(s3_store, keyring).put("objects/a", io.BytesIO(b"abc"))

    assert info.version_id


def test_stored_bytes_and_metadata_contain_no_plaintext(encrypted: EncryptedStore, read_raw) -> None:
    plaintext = MARKER * 2000

    encrypted.put("objects/a", io.BytesIO(plaintext))

    stored = read_raw(encrypted.store, "objects/a")
    assert MARKER[:16] not in stored
    assert MARKER[:16].decode() not in repr(encrypted.store.metadata("objects/a"))


def test_folder_on_disk_contains_no_plaintext(fs_store, keyring: Keyring) -> None:
    EncryptedStore(fs_store, keyring).put("objects/a", io.BytesIO(MARKER * 100))

    files = [path for path in fs_store.root.rglob("*") if path.is_file()]
    assert files
    assert all(MARKER[:16] not in path.read_bytes() for path in files)


def test_bucket_contains_no_plaintext(s3_store, s3_client, s3_bucket: str, keyring: Keyring) -> None:
    EncryptedStore(s3_store, keyring).put("objects/a", io.BytesIO(MARKER * 100))

    response = s3_client.get_object(Bucket=s3_bucket, Key="objects/a")
    assert MARKER[:16] not in response["Body"].read()
    assert MARKER[:16].decode() not in repr(response["Metadata"])


def test_same_plaintext_twice_gives_different_ciphertext(encrypted: EncryptedStore, read_raw) -> None:
    encrypted.put("objects/a", io.BytesIO(b"same"))
    encrypted.put("objects/b", io.BytesIO(b"same"))

    assert read_raw(encrypted.store, "objects/a") != read_raw(encrypted.store, "objects/b")


def test_wrong_expected_digest_fails_at_the_end(encrypted: EncryptedStore) -> None:
    encrypted.put("objects/a", io.BytesIO(b"evidence"))

    key_id = encrypted.keyring.current_key_id
    with pytest.raises(IntegrityError, match="digest"):
        _read_all(encrypted, "objects/a", expected_fingerprint=f"hmac-sha256:{key_id}:" + "00" * 32)


def test_the_fingerprint_is_keyed_not_a_plain_hash(encrypted: EncryptedStore) -> None:
    """Whoever holds the database but not the keyring cannot confirm a guessed document by hashing it."""
    data = b"birth record of a child born in Raqqa, 2016"
    info = encrypted.put("objects/a", io.BytesIO(data))

    key_id, derived = encrypted.keyring.derive(b"content fingerprint")
    assert info.fingerprint == f"hmac-sha256:{key_id}:" + hmac.new(derived, data, hashlib.sha256).hexdigest()
    assert hashlib.sha256(data).hexdigest() not in info.fingerprint
    another_registry = Keyring.from_env_value(base64.b64encode(os.urandom(32)).decode())
    assert fingerprint.current(another_registry).of(data) != info.fingerprint


def test_a_legacy_plain_fingerprint_is_still_checked(encrypted: EncryptedStore) -> None:
    data = b"evidence"
    encrypted.put("objects/a", io.BytesIO(data))

    assert _read_all(encrypted, "objects/a", expected_fingerprint="sha256:" + hashlib.sha256(data).hexdigest()) == data
    with pytest.raises(IntegrityError, match="digest"):
        _read_all(encrypted, "objects/a", expected_fingerprint="sha256:" + hashlib.sha256(b"other").hexdigest())


def test_key_material_from_the_database_wins_over_metadata(encrypted: EncryptedStore) -> None:
    info = encrypted.put("objects/a", io.BytesIO(b"evidence"))
    encrypted.store.replace_metadata("objects/a", {})

    data = _read_all(encrypted, "objects/a", key_id=info.key_id, wrapped_key=info.wrapped_key)

    assert data == b"evidence"


def test_announced_length_that_does_not_match_stores_nothing(encrypted: EncryptedStore) -> None:
    with pytest.raises(Exception, match="announced"):
        encrypted.put("objects/a", io.BytesIO(b"12345"), length=6)

    assert not encrypted.exists("objects/a")


def test_missing_object_is_reported_as_not_found(encrypted: EncryptedStore) -> None:
    with pytest.raises(ObjectNotFound):
        encrypted.open("objects/none")


def test_reader_supports_small_reads_and_readinto(encrypted: EncryptedStore) -> None:
    data = os.urandom(3 * SEGMENT + 5)
    encrypted.put("objects/a", io.BytesIO(data))

    with encrypted.open("objects/a") as reader:
        first = reader.read(10)
        buffer = bytearray(SEGMENT * 2)
        count = reader.readinto(buffer)
        rest = reader.read()

    assert first + bytes(buffer[:count]) + rest == data
    assert count == len(buffer)
