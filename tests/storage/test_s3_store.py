"""S3 backend specifics on a moto server over HTTP: multipart, Object Lock, health."""

from __future__ import annotations

import io
import os
import socket
from datetime import UTC, datetime, timedelta

import pytest

from storage import LockUnsupported, S3Store, StorageError, StorageUnavailable

MiB = 1024 * 1024


class FailingAfter(io.RawIOBase):
    def __init__(self, good: int) -> None:
        super().__init__()
        self._left = good

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        if not self._left:
            raise ConnectionResetError("upload interrupted")
        count = min(len(buffer), self._left)
        buffer[:count] = os.urandom(count)
        self._left -= count
        return count


@pytest.fixture
def plain_bucket(s3_client) -> str:  # type: ignore[no-untyped-def]
    """A bucket without Object Lock and without versioning."""
    name = f"plain-{os.urandom(6).hex()}"
    s3_client.create_bucket(Bucket=name)
    return name


def _in(minutes: int) -> datetime:
    return datetime.now(UTC) + timedelta(minutes=minutes)


def test_interrupted_multipart_upload_is_aborted(s3_store: S3Store, s3_client, s3_bucket: str) -> None:
    with pytest.raises(ConnectionResetError):
        s3_store.put("objects/a", FailingAfter(11 * MiB))

    assert not s3_store.exists("objects/a")
    assert s3_client.list_multipart_uploads(Bucket=s3_bucket).get("Uploads", []) == []


def test_completed_multipart_upload_leaves_no_pending_upload(s3_store: S3Store, s3_client, s3_bucket: str) -> None:
    data = os.urandom(11 * MiB)

    info = s3_store.put("objects/a", io.BytesIO(data))

    assert info.size == len(data)
    assert s3_client.list_multipart_uploads(Bucket=s3_bucket).get("Uploads", []) == []
    assert s3_client.head_object(Bucket=s3_bucket, Key="objects/a")["ContentLength"] == len(data)


def test_locked_object_cannot_be_deleted(s3_store: S3Store, s3_client, s3_bucket: str) -> None:
    s3_store.put("objects/a", io.BytesIO(b"evidence"))

    s3_store.lock("objects/a", _in(60))

    head = s3_client.head_object(Bucket=s3_bucket, Key="objects/a")
    assert head["ObjectLockMode"] == "COMPLIANCE"
    assert head["ObjectLockRetainUntilDate"] > _in(59)
    with pytest.raises(StorageError, match="retention"):
        s3_store.delete("objects/a")
    with s3_store.open("objects/a") as reader:
        assert reader.read() == b"evidence"


def test_lock_needs_an_aware_date(s3_store: S3Store) -> None:
    s3_store.put("objects/a", io.BytesIO(b"x"))

    with pytest.raises(ValueError, match="timezone"):
        s3_store.lock("objects/a", datetime.now() + timedelta(days=1))


def test_bucket_without_object_lock_cannot_lock(make_s3_store, plain_bucket: str) -> None:
    store = make_s3_store(plain_bucket)
    store.put("objects/a", io.BytesIO(b"x"))

    assert not store.supports_lock()
    with pytest.raises(LockUnsupported, match="object lock"):
        store.lock("objects/a", _in(60))


def test_replacing_metadata_keeps_the_retention(s3_store: S3Store, s3_client, s3_bucket: str) -> None:
    s3_store.put("objects/a", io.BytesIO(b"x"), metadata={"a": "1"})
    s3_store.lock("objects/a", _in(60))

    s3_store.replace_metadata("objects/a", {"a": "2"})

    head = s3_client.head_object(Bucket=s3_bucket, Key="objects/a")
    assert head["Metadata"] == {"a": "2"}
    assert head["ObjectLockMode"] == "COMPLIANCE"


def test_delete_removes_every_version(s3_store: S3Store, s3_client, s3_bucket: str) -> None:
    s3_store.put("objects/a", io.BytesIO(b"v1"))
    s3_store.put("objects/a", io.BytesIO(b"v2"))
    s3_store.put("objects/ab", io.BytesIO(b"neighbour"))

    s3_store.delete("objects/a")

    listing = s3_client.list_object_versions(Bucket=s3_bucket, Prefix="objects/a")
    remaining = {entry["Key"] for entry in listing.get("Versions", []) + listing.get("DeleteMarkers", [])}
    assert remaining == {"objects/ab"}


def test_reader_stays_on_the_version_it_opened(make_s3_store, s3_bucket: str) -> None:
    store = make_s3_store(s3_bucket, parts_in_flight=1)
    old = os.urandom(11 * MiB)
    store.put("objects/a", io.BytesIO(old))

    with store.open("objects/a") as reader:
        first = reader.read(1)
        store.put("objects/a", io.BytesIO(os.urandom(11 * MiB)))
        rest = reader.read()

    assert first + rest == old


def test_unversioned_bucket_roundtrip(make_s3_store, plain_bucket: str) -> None:
    store = make_s3_store(plain_bucket)
    data = os.urandom(11 * MiB)

    store.put("objects/a", io.BytesIO(data))
    with store.open("objects/a") as reader:
        assert reader.read() == data
    store.delete("objects/a")

    assert not store.exists("objects/a")


def test_worm_selftest_without_object_lock_is_unavailable(make_s3_store, plain_bucket: str) -> None:
    status = make_s3_store(plain_bucket).worm_selftest()

    assert status.status == "unavailable"
    assert "Object Lock" in status.detail


def test_ensure_container_creates_a_locked_versioned_bucket(make_s3_store, s3_client) -> None:
    name = f"fresh-{os.urandom(6).hex()}"
    store = make_s3_store(name)

    store.ensure_container()
    store.ensure_container()

    assert store.supports_lock()
    assert s3_client.get_bucket_versioning(Bucket=name)["Status"] == "Enabled"
    store.health()


def test_health_reports_a_missing_bucket(make_s3_store) -> None:
    with pytest.raises(StorageUnavailable, match="does not exist"):
        make_s3_store("no-such-bucket-here").health()


@pytest.mark.timeout(30)
def test_health_reports_a_dead_endpoint() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    store = S3Store(
        "bucket",
        endpoint_url=f"http://127.0.0.1:{port}",
        region="us-east-1",
        path_style=True,
        access_key="a",
        secret_key="b",
    )

    with pytest.raises(StorageUnavailable, match="cannot reach"):
        store.health()


def test_next_key_is_the_smallest_key_after_another(s3_store: S3Store) -> None:
    for key in ("log/0003", "log/0007", "log/0012", "other/0005"):
        s3_store.put(key, io.BytesIO(b"x"))

    assert s3_store.next_key("log/", "log/0003") == "log/0007"
    assert s3_store.next_key("log/", "log/") == "log/0003"
    assert s3_store.next_key("log/", "log/0012") is None


def test_versions_show_what_a_plain_delete_hides(s3_store: S3Store, s3_client, s3_bucket: str) -> None:
    first = s3_store.put("log/a", io.BytesIO(b"first")).version_id
    second = s3_store.put("log/a", io.BytesIO(b"second")).version_id
    s3_client.delete_object(Bucket=s3_bucket, Key="log/a")

    assert list(s3_store.iter_keys("log/")) == []
    found = list(s3_store.iter_versions("log/"))
    assert {(v.version_id, v.delete_marker) for v in found} >= {(first, False), (second, False)}
    assert [v.latest for v in found if v.delete_marker] == [True]
    with s3_store.open_version("log/a", first) as reader:
        assert reader.read() == b"first"
    assert s3_store.keeps_versions()


def test_a_bucket_that_never_kept_versions_says_so(make_s3_store, plain_bucket: str) -> None:
    store = make_s3_store(plain_bucket)
    store.put("log/a", io.BytesIO(b"only"))

    assert not store.keeps_versions()
    [only] = store.iter_versions("log/")
    assert (only.key, only.latest, only.delete_marker) == ("log/a", True, False)
