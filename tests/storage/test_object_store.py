"""The raw ObjectStore contract, identical on the filesystem and on S3."""

from __future__ import annotations

import io

import pytest

from storage import ObjectNotFound, ObjectStore, StorageError


class FailingStream(io.RawIOBase):
    """Yields ``good`` bytes, then fails the way a dropped client upload does."""

    def __init__(self, good: int) -> None:
        super().__init__()
        self._left = good

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        if self._left == 0:
            raise ConnectionResetError("client went away")
        count = min(len(buffer), self._left)
        buffer[:count] = b"\xab" * count
        self._left -= count
        return count


def test_put_open_roundtrip_with_metadata(store: ObjectStore) -> None:
    info = store.put("objects/a", io.BytesIO(b"raw bytes"), length=9, metadata={"kind": "scan"})

    with store.open("objects/a") as reader:
        assert reader.read() == b"raw bytes"
    assert info.key == "objects/a" and info.size == 9
    assert store.metadata("objects/a") == {"kind": "scan"}
    assert store.exists("objects/a")


def test_put_replaces_previous_content_and_metadata(store: ObjectStore) -> None:
    store.put("objects/a", io.BytesIO(b"one"), metadata={"v": "1"})
    store.put("objects/a", io.BytesIO(b"two"))

    with store.open("objects/a") as reader:
        assert reader.read() == b"two"
    assert store.metadata("objects/a") == {}


def test_replace_metadata_keeps_bytes(store: ObjectStore) -> None:
    store.put("objects/a", io.BytesIO(b"bytes"), metadata={"a": "1"})

    store.replace_metadata("objects/a", {"b": "2"})

    assert store.metadata("objects/a") == {"b": "2"}
    with store.open("objects/a") as reader:
        assert reader.read() == b"bytes"


def test_delete_removes_the_object(store: ObjectStore) -> None:
    store.put("objects/a", io.BytesIO(b"x"))

    store.delete("objects/a")

    assert not store.exists("objects/a")
    assert list(store.iter_keys()) == []
    with pytest.raises(ObjectNotFound):
        store.open("objects/a")
    with pytest.raises(ObjectNotFound):
        store.delete("objects/a")


def test_missing_object_is_not_found_everywhere(store: ObjectStore) -> None:
    assert not store.exists("objects/none")
    for call in (store.open, store.metadata, store.delete):
        with pytest.raises(ObjectNotFound):
            call("objects/none")
    with pytest.raises(ObjectNotFound):
        store.replace_metadata("objects/none", {})


def test_iter_keys_lists_by_prefix(store: ObjectStore) -> None:
    for key in ("objects/1", "objects/2", "objects-old/3", "audit/checkpoints/4", "top"):
        store.put(key, io.BytesIO(b"x"), metadata={"m": "1"})

    assert sorted(store.iter_keys()) == [
        "audit/checkpoints/4",
        "objects-old/3",
        "objects/1",
        "objects/2",
        "top",
    ]
    assert sorted(store.iter_keys("objects/")) == ["objects/1", "objects/2"]
    assert sorted(store.iter_keys("objects")) == ["objects-old/3", "objects/1", "objects/2"]
    assert sorted(store.iter_keys("audit/check")) == ["audit/checkpoints/4"]
    assert list(store.iter_keys("nothing/")) == []


@pytest.mark.parametrize("size", [10, 12 * 1024 * 1024])
def test_stream_failing_midway_leaves_no_object(store: ObjectStore, size: int) -> None:
    with pytest.raises(ConnectionResetError):
        store.put("objects/a", FailingStream(size))

    assert not store.exists("objects/a")
    assert list(store.iter_keys()) == []


def test_failed_overwrite_keeps_the_previous_object(store: ObjectStore) -> None:
    store.put("objects/a", io.BytesIO(b"kept"), metadata={"v": "1"})

    with pytest.raises(ConnectionResetError):
        store.put("objects/a", FailingStream(100), metadata={"v": "2"})

    with store.open("objects/a") as reader:
        assert reader.read() == b"kept"
    assert store.metadata("objects/a") == {"v": "1"}


def test_announced_length_is_checked(store: ObjectStore) -> None:
    with pytest.raises(StorageError, match="announced"):
        store.put("objects/a", io.BytesIO(b"abc"), length=4)

    assert not store.exists("objects/a")


@pytest.mark.parametrize(
    "key",
    ["../escape", "/etc/passwd", "objects/../../x", "a//b", "a/./b", "a\\b", "", "sp ace", "a/"],
)
def test_unsafe_keys_are_refused(store: ObjectStore, key: str) -> None:
    with pytest.raises(ValueError):
        store.put(key, io.BytesIO(b"x"))
    with pytest.raises(ValueError):
        store.open(key)


@pytest.mark.parametrize("metadata", [{"Upper": "x"}, {"name": "café"}, {"name": "line\nbreak"}])
def test_metadata_that_s3_would_mangle_is_refused(store: ObjectStore, metadata: dict) -> None:
    with pytest.raises(ValueError):
        store.put("objects/a", io.BytesIO(b"x"), metadata=metadata)


def test_ensure_container_is_idempotent_and_healthy(store: ObjectStore) -> None:
    store.ensure_container()
    store.ensure_container()

    store.health()
