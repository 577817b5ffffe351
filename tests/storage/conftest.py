"""Fixtures for the storage library: a folder, a moto S3 server and a Ceph RGW, a keyring.

Every S3 test runs twice, ``[moto]`` and ``[ceph]`` (``s3_server`` in
tests/real_s3/servers.py: one server of each kind per session, real HTTP on loopback; if
moto cannot start the S3 tests error, never skip; without Ceph's packages the ``[ceph]``
cases skip with one reason, or fail under ``REGISTRY_REQUIRE_CEPH=1``). Backend-generic
tests (``store``) also run on the filesystem. Each S3 test gets a fresh bucket created
with Object Lock, so tests cannot see each other's objects.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from storage import EncryptedStore, FilesystemStore, Keyring, ObjectStore, S3Store
from tests.real_s3.servers import S3_BACKENDS, S3Server  # fixtures and hooks: a plugin (tests/conftest.py)

MiB = 1024 * 1024
# 5 MiB parts (S3's minimum) so multipart tests stay small
SMALL_PARTS = {"part_size": 5 * MiB, "transfer_threads": 2, "parts_in_flight": 2}
SMALL_SEGMENT = 4096
_HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test here that talks to an S3 server, so ``-m 's3'`` selects them."""
    for item in items:
        params = getattr(item, "callspec", None)
        backend = params.params.get("store") if params else None
        if _HERE in Path(item.path).parents and (
            "s3_server" in getattr(item, "fixturenames", ()) or backend in S3_BACKENDS
        ):
            item.add_marker(pytest.mark.s3)


@pytest.fixture
def moto_endpoint(s3_server: S3Server) -> str:
    """The endpoint of the S3 server under test, moto's or Ceph's.

    Named from when moto was the only server: test_s3_download, test_store_url and
    test_store_memory still ask for it by that name, and follow ``s3_server`` through it.
    """
    return s3_server.endpoint_url


@pytest.fixture
def s3_client(s3_server: S3Server) -> Any:
    return s3_server.client()


@pytest.fixture
def s3_bucket(s3_server: S3Server) -> str:
    return s3_server.new_locked_bucket()


@pytest.fixture
def make_s3_store(s3_server: S3Server) -> Callable[..., S3Store]:
    """Build an S3Store on the server under test: small parts so multipart tests stay small."""

    def make(bucket: str, **options: Any) -> S3Store:
        return s3_server.store(bucket, **{**SMALL_PARTS, **options})

    return make


@pytest.fixture
def s3_store(make_s3_store: Callable[..., S3Store], s3_bucket: str) -> S3Store:
    return make_s3_store(s3_bucket)


@pytest.fixture
def fs_store(tmp_path: Path) -> FilesystemStore:
    store = FilesystemStore(tmp_path / "objects")
    store.ensure_container()
    return store


@pytest.fixture(params=["fs", *S3_BACKENDS])
def store(request: pytest.FixtureRequest) -> ObjectStore:
    """The same contract on a folder, on moto and on Ceph."""
    if request.param == "fs":
        return request.getfixturevalue("fs_store")
    server: S3Server = request.getfixturevalue(f"{request.param}_server")
    return server.store(server.new_locked_bucket(), **SMALL_PARTS)


@pytest.fixture
def keyring(tmp_path: Path) -> Keyring:
    return Keyring.generate(tmp_path / "master.key")


@pytest.fixture
def encrypted(store: ObjectStore, keyring: Keyring) -> EncryptedStore:
    """Small segments so segment-boundary cases stay tiny."""
    return EncryptedStore(store, keyring, segment_size=SMALL_SEGMENT)


@pytest.fixture
def read_raw() -> Callable[[ObjectStore, str], bytes]:
    """Read an object's stored bytes (ciphertext for encrypted objects)."""

    def read(store: ObjectStore, key: str) -> bytes:
        with store.open(key) as reader:
            return reader.read()

    return read
