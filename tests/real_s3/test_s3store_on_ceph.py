"""The registry's own S3Store and EncryptedStore against Ceph RGW, a server that enforces WORM.

moto accepts some of the calls these tests expect to be refused, so only here do they
show that evidence stored through ``storage`` really cannot be removed or unlocked early.
"""

from __future__ import annotations

import hashlib
import io
import tracemalloc
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from storage import EncryptedStore, Keyring, S3Store, StorageError, open_store
from tests.real_s3.generated import GeneratedStream, MiB


@pytest.fixture(scope="session")
def store(ceph_rgw) -> S3Store:
    """A store built from the storage URL, its bucket created by ``ensure_container``."""
    opened = open_store(ceph_rgw.store_url(f"registry-store-{uuid.uuid4().hex[:12]}"))
    opened.ensure_container()
    return opened


def _put(store: S3Store, key: str, content: bytes):
    return store.put(key, io.BytesIO(content), len(content))


def _in_days(days: int) -> datetime:
    return datetime.now(timezone.utc) + timedelta(days=days)


def test_worm_selftest_reports_enforced_on_ceph(store):
    result = store.worm_selftest()

    assert result.status == "enforced", result.detail


def test_deleting_a_locked_object_is_refused_and_it_stays_readable(store, key):
    _put(store, key, b"passport scan")
    store.lock(key, _in_days(1))

    with pytest.raises(StorageError, match="retention"):
        store.delete(key)

    assert store.exists(key)
    with store.open(key) as reader:
        assert reader.read() == b"passport scan"


def test_shortening_a_compliance_lock_is_refused(store, s3, key):
    _put(store, key, b"genomic result")
    until = _in_days(2)
    store.lock(key, until)

    with pytest.raises(StorageError, match="AccessDenied"):
        store.lock(key, _in_days(1))

    head = s3.head_object(Bucket=store.bucket, Key=key)
    assert head["ObjectLockMode"] == "COMPLIANCE"
    assert head["ObjectLockRetainUntilDate"] >= until.replace(microsecond=0)


def test_legal_hold_blocks_store_delete_until_released(store, s3, key):
    version = _put(store, key, b"consent receipt").version_id
    s3.put_object_legal_hold(Bucket=store.bucket, Key=key, VersionId=version,
                             LegalHold={"Status": "ON"})

    with pytest.raises(StorageError):
        store.delete(key)
    assert store.exists(key)

    s3.put_object_legal_hold(Bucket=store.bucket, Key=key, VersionId=version,
                             LegalHold={"Status": "OFF"})
    store.delete(key)
    assert not store.exists(key)


def test_overwriting_through_the_store_keeps_the_old_version(store, s3, key):
    first = _put(store, key, b"birth record, first issue")
    second = _put(store, key, b"birth record, re-issued")

    assert first.version_id and first.version_id != second.version_id
    with store.open(key) as reader:
        assert reader.read() == b"birth record, re-issued"
    old = s3.get_object(Bucket=store.bucket, Key=key, VersionId=first.version_id)
    assert old["Body"].read() == b"birth record, first issue"


@pytest.mark.slow
def test_100_mib_multipart_upload_streams_and_round_trips(store, s3, key):
    size = 100 * MiB
    source = GeneratedStream(size)

    tracemalloc.start()
    try:
        info = store.put(key, source, size)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert info.size == size
    # Holding the object would need at least its size; the store keeps a few parts in
    # flight instead (about 65 MiB at the default 8 MiB x 4, the same for 50-200 MiB).
    assert peak < size
    head = s3.head_object(Bucket=store.bucket, Key=key)
    assert head["ContentLength"] == size
    assert "-" in head["ETag"]  # a multipart ETag: "<md5 of part md5s>-<parts>"
    downloaded = hashlib.sha256()
    with store.open(key) as reader:
        for chunk in iter(lambda: reader.read(MiB), b""):
            downloaded.update(chunk)
    assert downloaded.hexdigest() == source.sha256.hexdigest()


def test_encrypted_multipart_object_round_trips_and_ceph_holds_only_ciphertext(store, s3, key):
    encrypted = EncryptedStore(store, Keyring({"test-key": bytes(range(32))}, "test-key"))
    source = GeneratedStream(20 * MiB, seed=11)

    info = encrypted.put(key, source, 20 * MiB)

    assert info.sha256 == source.sha256.hexdigest()
    stored = s3.get_object(Bucket=store.bucket, Key=key, Range=f"bytes=0-{2 * MiB - 1}")["Body"].read()
    plaintext_sample = GeneratedStream(20 * MiB, seed=11).read(MiB)[4096:4160]
    assert plaintext_sample not in stored
    digest = hashlib.sha256()
    with encrypted.open(key, expected_sha256=info.sha256) as reader:
        for chunk in iter(lambda: reader.read(MiB), b""):
            digest.update(chunk)
    assert digest.hexdigest() == info.sha256
