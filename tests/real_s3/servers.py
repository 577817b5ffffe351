"""The two S3 servers the storage tests run against: moto (an emulator) and Ceph RGW (real).

A test that asks for ``s3_server`` is parametrised over both, so it runs once on each and
can expect a different answer where moto does not enforce what a storage server must.
Both servers listen on loopback with the same test credentials and start at most once per
pytest session, whichever suite (tests/storage or tests/real_s3) asks first: each suite's
conftest imports these fixtures, and pytest would otherwise keep one session fixture per
conftest, i.e. start a second Ceph cluster.

Without the Ceph packages every ``[ceph]`` case is skipped with one reason naming what to
install; with ``REGISTRY_REQUIRE_CEPH=1`` (CI, where Ceph must be proven) they fail instead.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from storage import S3Store
from tests.support.ceph_rgw import DEBIAN_PACKAGES, missing_programs, start_ceph_rgw
from tests.support.moto_server import start_moto_server

S3_BACKENDS = ("moto", "ceph")
ACCESS_KEY = SECRET_KEY = "testing"  # moto's usual keys; the Ceph test user gets them too
REGION = "us-east-1"
REQUIRE_CEPH = "REGISTRY_REQUIRE_CEPH"
CEPH_MISSING = "Ceph RGW is not installed"

Stop = Callable[[], None]
_STARTED = pytest.StashKey[dict[str, "S3Server | BaseException"]]()


@dataclass(frozen=True)
class S3Server:
    """One running S3 endpoint, named by what it is, so tests can expect per-server answers."""

    name: str
    endpoint_url: str
    access_key: str = ACCESS_KEY
    secret_key: str = SECRET_KEY
    region: str = REGION

    def client(self) -> Any:
        """Plain boto3, path-style (RGW on loopback has no per-bucket host names), no retries."""
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
        )

    def store(self, bucket: str, **options: Any) -> S3Store:
        return S3Store(
            bucket,
            endpoint_url=self.endpoint_url,
            region=self.region,
            path_style=True,
            access_key=self.access_key,
            secret_key=self.secret_key,
            **options,
        )

    def new_locked_bucket(self) -> str:
        """A fresh bucket with Object Lock (hence versioning), so tests never share objects."""
        name = f"test-{secrets.token_hex(8)}"
        self.client().create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
        return name


@pytest.fixture(scope="session")
def moto_server(request: pytest.FixtureRequest) -> S3Server:
    return _once_per_session(request.config, "moto", _start_moto)


@pytest.fixture(scope="session")
def ceph_server(request: pytest.FixtureRequest) -> S3Server:
    return _once_per_session(request.config, "ceph", _start_ceph)


@pytest.fixture
def s3_server(request: pytest.FixtureRequest) -> S3Server:
    """The server of the case's ``[moto]`` / ``[ceph]`` parameter (``pytest_generate_tests``).

    A test that reaches the S3 fixtures only at run time (``request.getfixturevalue``)
    cannot be parametrised by its name, and runs on moto.
    """
    return request.getfixturevalue(f"{getattr(request, 'param', 'moto')}_server")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run each test that uses ``s3_server`` on every server, unless it names its own with
    ``@pytest.mark.parametrize("s3_server", [...], indirect=True)``."""
    pinned = any("s3_server" in _argnames(marker.args[0]) for marker in metafunc.definition.iter_markers("parametrize"))
    if "s3_server" in metafunc.fixturenames and not pinned:
        metafunc.parametrize("s3_server", S3_BACKENDS, indirect=True)


def _argnames(names: str | Sequence[str]) -> list[str]:
    return [name.strip() for name in names.split(",")] if isinstance(names, str) else list(names)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport() -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Place every missing-Ceph skip at ``_start_ceph``, so the summary folds them into one
    line: pytest places a skip raised by a fixture at each test's own line."""
    report = yield
    if report.skipped and isinstance(report.longrepr, tuple) and CEPH_MISSING in report.longrepr[2]:
        report.longrepr = (__file__, _start_ceph.__code__.co_firstlineno, report.longrepr[2])
    return report


def _once_per_session(config: pytest.Config, name: str, start: Callable[[], tuple[S3Server, Stop]]) -> S3Server:
    """Start ``name`` on first use; stop it when pytest ends. A failed start (or a skip) is
    remembered and repeated for every later case instead of being retried."""
    started = config.stash.setdefault(_STARTED, {})
    if name not in started:
        try:
            server, stop = start()
        except (Exception, pytest.skip.Exception, pytest.fail.Exception) as exc:
            started[name] = exc
            raise
        started[name] = server
        config.add_cleanup(stop)
    found = started[name]
    if isinstance(found, BaseException):
        raise found
    return found


def _start_moto() -> tuple[S3Server, Stop]:
    endpoint, stop = start_moto_server()
    return S3Server("moto", endpoint), stop


def _start_ceph() -> tuple[S3Server, Stop]:
    """A throwaway cluster in a temporary folder, killed by its PIDs and removed at the end."""
    missing = missing_programs()
    if missing:
        reason = (
            f"{CEPH_MISSING} (missing {', '.join(missing)}): install the Debian packages "
            f"{DEBIAN_PACKAGES} (`bash tests/support/ceph-rgw.sh install`, as root)"
        )
        if os.environ.get(REQUIRE_CEPH) == "1":
            pytest.fail(f"{REQUIRE_CEPH}=1 but {reason}", pytrace=False)
        pytest.skip(f"EVERY [ceph] CASE IS SKIPPED. {reason}; {REQUIRE_CEPH}=1 makes this fail")
    workdir = Path(tempfile.mkdtemp(prefix="ceph-rgw-"))
    try:
        cluster = start_ceph_rgw(workdir, ACCESS_KEY, SECRET_KEY)
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    server = S3Server("ceph", cluster.endpoint_url, cluster.access_key, cluster.secret_key)
    return server, cluster.stop
