"""Objects as files under one folder: the embedded default backend.

Writes are atomic (temporary file in the same folder, fsync, rename) so a crash
or a failing upload stream never leaves a half object under a key. Metadata
lives in a JSON sidecar next to the data file. Sidecar and temporary names
contain ``~``, which keys may not contain, so they can never collide with an
object or show up in ``iter_keys``.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import suppress
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from storage.base import LockMode, RawObjectInfo, validate_key, validate_metadata
from storage.errors import LockUnsupported, ObjectNotFound, StorageError, StorageUnavailable

COPY_CHUNK = 1024 * 1024
_SIDECAR_SUFFIX = "~meta.json"
_TEMP_PREFIX = ".~tmp-"


class FilesystemStore:
    """Object store on a local folder; files 0600, folders 0700, no locking."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).absolute()

    def __repr__(self) -> str:
        return f"FilesystemStore({str(self.root)!r})"

    def put(
        self,
        key: str,
        stream: BinaryIO,
        length: int | None = None,
        metadata: dict[str, str] | None = None,
    ) -> RawObjectInfo:
        path = self._path(key)
        sidecar_text = json.dumps(validate_metadata(metadata), sort_keys=True).encode()
        self._make_parent(path, key)
        staged, size = _stage(path, _read_chunks(stream, length))
        try:
            # Metadata (it holds the wrapped data key) is switched only once all the
            # bytes are safely staged, so a failing stream leaves the old pair intact.
            _commit(_stage(_sidecar(path), [sidecar_text])[0], _sidecar(path))
        except BaseException:
            os.unlink(staged)
            raise
        _commit(staged, path)
        return RawObjectInfo(key=key, size=size)

    def open(self, key: str) -> BinaryIO:
        try:
            return open(self._path(key), "rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise ObjectNotFound(f"no object stored under {key!r}") from None

    def delete(self, key: str) -> None:
        path = self._path(key)
        try:
            path.unlink()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise ObjectNotFound(f"no object stored under {key!r}") from None
        _sidecar(path).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def iter_keys(self, prefix: str = "") -> Iterator[str]:
        folder_part = prefix.rpartition("/")[0]
        start = self.root / validate_key(folder_part) if folder_part else self.root
        for folder, dirs, files in os.walk(start):
            dirs.sort()
            relative = Path(folder).relative_to(self.root).as_posix()
            for name in sorted(files):
                if "~" in name:
                    continue
                key = name if relative == "." else f"{relative}/{name}"
                if key.startswith(prefix):
                    yield key

    def next_key(self, prefix: str, after: str) -> str | None:
        return min((key for key in self.iter_keys(prefix) if key > after), default=None)

    def metadata(self, key: str) -> dict[str, str]:
        path = self._existing(key)
        try:
            stored: dict[str, str] = json.loads(_sidecar(path).read_bytes())
        except FileNotFoundError:
            return {}
        return stored

    def replace_metadata(self, key: str, metadata: dict[str, str]) -> None:
        path = self._existing(key)
        text = json.dumps(validate_metadata(metadata), sort_keys=True).encode()
        _commit(_stage(_sidecar(path), [text])[0], _sidecar(path))

    def lock(self, key: str, until: datetime, mode: LockMode = "COMPLIANCE") -> None:
        raise LockUnsupported(
            "the filesystem store cannot put objects under retention; "
            "use an S3 bucket with Object Lock for write-once storage"
        )

    def supports_lock(self) -> bool:
        return False

    def set_legal_hold(self, key: str, on: bool) -> None:
        raise LockUnsupported(
            "the filesystem store has no legal hold; the registry's own hold still keeps the object "
            "from disposal (use an S3 bucket with Object Lock for a hold the store enforces)"
        )

    def supports_legal_hold(self) -> bool:
        return False

    def deletion_blocked(self, key: str) -> str | None:
        """A folder refuses nothing: the registry's own checks are all there is."""
        validate_key(key)
        return None

    def ensure_container(self) -> None:
        try:
            self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageUnavailable(f"cannot create object folder {self.root}: {exc}") from exc

    def health(self) -> None:
        if not self.root.is_dir():
            raise StorageUnavailable(f"object folder {self.root} does not exist")
        try:
            fd, probe = tempfile.mkstemp(dir=self.root, prefix=_TEMP_PREFIX)
            os.close(fd)
            os.unlink(probe)
        except OSError as exc:
            raise StorageUnavailable(f"object folder {self.root} is not writable: {exc}") from exc

    def _path(self, key: str) -> Path:
        return self.root / validate_key(key)

    def _existing(self, key: str) -> Path:
        path = self._path(key)
        if not path.is_file():
            raise ObjectNotFound(f"no object stored under {key!r}")
        return path

    def _make_parent(self, path: Path, key: str) -> None:
        """Create each missing folder 0700 (``os.makedirs`` only applies the mode to the last)."""
        if not self.root.is_dir():
            # Never recreated here: a missing root is usually an unmounted volume.
            raise StorageUnavailable(f"object folder {self.root} does not exist")
        folder = self.root
        for part in path.relative_to(self.root).parts[:-1]:
            folder = folder / part
            with suppress(FileExistsError):
                folder.mkdir(mode=0o700)
            if not folder.is_dir():
                raise StorageError(f"cannot store {key!r}: a part of its path is already an object")


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + _SIDECAR_SUFFIX)


def _read_chunks(stream: BinaryIO, length: int | None) -> Iterator[bytes]:
    """Yield the stream in chunks, checking the announced length if any."""
    total = 0
    while chunk := stream.read(COPY_CHUNK):
        total += len(chunk)
        yield chunk
    if length is not None and total != length:
        raise StorageError(f"stream gave {total} bytes, {length} were announced")


def _stage(path: Path, chunks: Iterable[bytes]) -> tuple[str, int]:
    """Write ``chunks`` durably to a temporary file beside ``path``; return it and its size."""
    fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=_TEMP_PREFIX)
    size = 0
    try:
        with os.fdopen(fd, "wb") as handle:
            for chunk in chunks:
                handle.write(chunk)
                size += len(chunk)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        os.unlink(temp_name)
        raise
    return temp_name, size


def _commit(temp_name: str, path: Path) -> None:
    """Rename a staged file into place: readers see the old file or the whole new one."""
    os.replace(temp_name, path)
    _fsync_folder(path.parent)


def _fsync_folder(folder: Path) -> None:
    """Make the rename durable: without it a power cut can forget the new name."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
