"""Fixtures for the storage library: both backends, a moto S3 server, a keyring.

The moto server is real HTTP on loopback, started once per session; if it cannot
start, every S3 test errors (never skipped). Each S3 test gets a fresh bucket
created with Object Lock, so tests cannot see each other's objects.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from storage import EncryptedStore, FilesystemStore, Keyring, ObjectStore, S3Store
from tests.support.moto_server import start_moto_server

MiB = 1024 * 1024
S3_TEST_PART_SIZE = 5 * MiB  # S3's minimum, so multipart tests stay small
SMALL_SEGMENT = 4096
CREDENTIALS = {"access_key": "testing", "secret_key": "testing"}
_HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test here that talks to the S3 server, so ``-m 's3'`` selects them."""
    for item in items:
        if _HERE in Path(item.path).parents and "moto_endpoint" in getattr(
            item, "fixturenames", ()
        ):
            item.add_marker(pytest.mark.s3)


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    endpoint, stop = start_moto_server()
    yield endpoint
    stop()


@pytest.fixture
def s3_client(moto_endpoint: str) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=moto_endpoint,
        region_name="us-east-1",
        aws_access_key_id=CREDENTIALS["access_key"],
        aws_secret_access_key=CREDENTIALS["secret_key"],
    )


@pytest.fixture
def s3_bucket(s3_client: Any) -> str:
    name = f"test-{secrets.token_hex(8)}"
    s3_client.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
    return name


@pytest.fixture
def make_s3_store(moto_endpoint: str) -> Callable[..., S3Store]:
    """Build an S3Store on the moto server: small parts so multipart tests stay small."""

    def make(bucket: str, **options: Any) -> S3Store:
        settings = {"part_size": S3_TEST_PART_SIZE, "transfer_threads": 2, "parts_in_flight": 2}
        return S3Store(
            bucket,
            endpoint_url=moto_endpoint,
            region="us-east-1",
            path_style=True,
            **CREDENTIALS,
            **{**settings, **options},
        )

    return make


@pytest.fixture
def s3_store(make_s3_store: Callable[..., S3Store], s3_bucket: str) -> S3Store:
    return make_s3_store(s3_bucket)


@pytest.fixture
def fs_store(tmp_path: Path) -> FilesystemStore:
    store = FilesystemStore(tmp_path / "objects")
    store.ensure_container()
    return store


@pytest.fixture(params=["fs", "s3"])
def store(request: pytest.FixtureRequest) -> ObjectStore:
    return request.getfixturevalue(f"{request.param}_store")


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
