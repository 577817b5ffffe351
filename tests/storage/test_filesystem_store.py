"""Filesystem backend specifics: private files, no leftovers, no locking."""

from __future__ import annotations

import io
import stat
from datetime import UTC, datetime, timedelta

import pytest

from storage import FilesystemStore, LockUnsupported, StorageError, StorageUnavailable


def _mode(path) -> int:  # type: ignore[no-untyped-def]
    return stat.S_IMODE(path.stat().st_mode)


def test_files_are_0600_and_folders_0700(tmp_path) -> None:
    store = FilesystemStore(tmp_path / "objects")
    store.ensure_container()

    store.put("objects/ab/cd", io.BytesIO(b"x"), metadata={"m": "1"})

    assert _mode(store.root) == 0o700
    assert _mode(store.root / "objects") == 0o700
    assert _mode(store.root / "objects" / "ab") == 0o700
    assert {_mode(path) for path in store.root.rglob("*") if path.is_file()} == {0o600}


def test_failed_write_leaves_no_temporary_file(fs_store) -> None:
    class Broken(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
            raise OSError("disk of the scanner unplugged")

    fs_store.put("objects/kept", io.BytesIO(b"x"))
    with pytest.raises(OSError, match="unplugged"):
        fs_store.put("objects/a", Broken())

    names = sorted(path.name for path in fs_store.root.rglob("*") if path.is_file())
    assert names == ["kept", "kept~meta.json"]


def test_object_and_folder_of_the_same_name_conflict_clearly(fs_store) -> None:
    fs_store.put("objects/a", io.BytesIO(b"x"))

    with pytest.raises(StorageError, match="already an object"):
        fs_store.put("objects/a/b", io.BytesIO(b"y"))


def test_lock_is_unsupported(fs_store) -> None:
    fs_store.put("objects/a", io.BytesIO(b"x"))

    assert not fs_store.supports_lock()
    with pytest.raises(LockUnsupported, match="Object Lock"):
        fs_store.lock("objects/a", datetime.now(UTC) + timedelta(days=1))


def test_health_reports_a_missing_folder(tmp_path) -> None:
    with pytest.raises(StorageUnavailable, match="does not exist"):
        FilesystemStore(tmp_path / "absent").health()


def test_put_into_a_missing_folder_does_not_recreate_it(tmp_path) -> None:
    """A vanished root is usually an unmounted volume: writing beside it would hide that."""
    store = FilesystemStore(tmp_path / "absent")

    with pytest.raises(StorageUnavailable, match="does not exist"):
        store.put("objects/a", io.BytesIO(b"x"))

    assert not (tmp_path / "absent").exists()


def test_health_reports_a_folder_that_is_a_file(tmp_path) -> None:
    (tmp_path / "file").write_bytes(b"")

    with pytest.raises(StorageUnavailable):
        FilesystemStore(tmp_path / "file").health()


def test_iter_keys_refuses_a_prefix_escaping_the_root(fs_store) -> None:
    with pytest.raises(ValueError):
        list(fs_store.iter_keys("../"))
