"""What S3Store promises for evidence, on moto and on Ceph RGW, with each server's own answer.

Only a server that enforces Object Lock (Ceph here) can back the WORM promise; on moto
the same calls show the emulator's gaps, which is why the start-up self-test says
"not_proven" there. The server-level table is in tests/real_s3/conftest.py.
"""

from __future__ import annotations

import hashlib
import io
import tracemalloc
from datetime import UTC, datetime, timedelta

import pytest

from storage import S3Store, StorageError, StorageUnavailable
from tests.real_s3.generated import GeneratedStream, MiB
from tests.real_s3.servers import S3Server


def _put(store: S3Store, key: str, content: bytes) -> str | None:
    return store.put(key, io.BytesIO(content), len(content)).version_id


def _in_days(days: int) -> datetime:
    return datetime.now(UTC) + timedelta(days=days)


def test_worm_selftest_answer(s3_server: S3Server, s3_store: S3Store) -> None:
    result = s3_store.worm_selftest()

    expected = {
        "moto": ("not_proven", "accepted shortening a COMPLIANCE retention"),
        "ceph": ("enforced", "refused to delete a locked version and to shorten"),
    }
    status, detail = expected[s3_server.name]
    assert result.status == status
    assert detail in result.detail


def test_shortening_a_lock(s3_server: S3Server, s3_store: S3Store, s3_client, s3_bucket) -> None:
    _put(s3_store, "objects/a", b"genomic result")
    until, shorter = _in_days(2), _in_days(1)
    s3_store.lock("objects/a", until)

    if s3_server.name == "moto":  # emulator gap: the lock is cut short
        s3_store.lock("objects/a", shorter)
        expected_until = shorter
    else:
        with pytest.raises(StorageError, match="AccessDenied"):
            s3_store.lock("objects/a", shorter)
        expected_until = until

    head = s3_client.head_object(Bucket=s3_bucket, Key="objects/a")
    assert head["ObjectLockMode"] == "COMPLIANCE"
    assert abs(head["ObjectLockRetainUntilDate"] - expected_until) < timedelta(seconds=1)


def test_legal_hold_blocks_store_delete_until_released(s3_store: S3Store, s3_client, s3_bucket: str) -> None:
    version = _put(s3_store, "objects/a", b"consent receipt")
    hold = {"Bucket": s3_bucket, "Key": "objects/a", "VersionId": version}
    s3_client.put_object_legal_hold(**hold, LegalHold={"Status": "ON"})

    with pytest.raises(StorageError, match="retention"):
        s3_store.delete("objects/a")
    assert s3_store.exists("objects/a")

    s3_client.put_object_legal_hold(**hold, LegalHold={"Status": "OFF"})
    s3_store.delete("objects/a")
    assert not s3_store.exists("objects/a")


def test_overwrite_through_the_store_keeps_the_old_version(s3_store: S3Store, s3_client, s3_bucket: str) -> None:
    first = _put(s3_store, "objects/a", b"birth record, first issue")
    second = _put(s3_store, "objects/a", b"birth record, re-issued")

    assert first and first != second
    with s3_store.open("objects/a") as reader:
        assert reader.read() == b"birth record, re-issued"
    old = s3_client.get_object(Bucket=s3_bucket, Key="objects/a", VersionId=first)
    assert old["Body"].read() == b"birth record, first issue"


@pytest.mark.slow
def test_100_mib_multipart_upload_streams_and_round_trips(s3_server: S3Server, s3_client, s3_bucket: str) -> None:
    store = s3_server.store(s3_bucket)  # default parts: 8 MiB, 4 in flight
    size = 100 * MiB
    source = GeneratedStream(size)

    tracemalloc.start()
    try:
        info = store.put("objects/a", source, size)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert info.size == size
    # Holding the object would take its size; the store keeps a few parts in flight
    # (about 65 MiB at the default 8 MiB x 4, the same for 50-200 MiB).
    assert peak < size
    head = s3_client.head_object(Bucket=s3_bucket, Key="objects/a")
    assert head["ContentLength"] == size
    assert head["ETag"].strip('"').endswith("-13")  # 8 MiB parts: really multipart
    downloaded = hashlib.sha256()
    with store.open("objects/a") as reader:
        for chunk in iter(lambda: reader.read(MiB), b""):
            downloaded.update(chunk)
    assert downloaded.hexdigest() == source.sha256.hexdigest()


def test_health_with_a_wrong_secret_key(s3_server: S3Server, s3_bucket: str) -> None:
    forged = S3Server(s3_server.name, s3_server.endpoint_url, secret_key="not-the-secret")
    store = forged.store(s3_bucket)

    if s3_server.name == "moto":  # emulator gap: signatures are not checked
        store.health()
    else:
        with pytest.raises(StorageUnavailable, match="check the credentials"):
            store.health()
