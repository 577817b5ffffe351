"""Fixtures for the suite that runs against a real S3 server: Ceph RGW 16 (Debian 12).

The cluster starts once per session (4-6 s once the packages are installed) and is
killed by its PIDs, with its workdir removed, at session end, even when tests fail.
Without the Ceph packages the fixture runs ``tests/support/ceph-rgw.sh install`` once;
if that cannot work the tests are skipped with the reason, or fail when
``REGISTRY_REQUIRE_CEPH=1`` (CI sets it where Ceph must be proven).

Behaviour observed on moto 5.2.5 (ThreadedMotoServer) and Ceph RGW 16.2.15 for the same calls,
on a bucket created with Object Lock enabled:

====================================================  =====================  ======================
call                                                  moto                   Ceph RGW
====================================================  =====================  ======================
delete a version under COMPLIANCE retention           refused (403)          refused (403)
  ... with the governance-bypass header               refused (403)          refused (403)
shorten a COMPLIANCE retain-until date                **accepted**           refused (403)
  then GetObjectRetention on that version             **500 error**          the unchanged date
switch COMPLIANCE to GOVERNANCE                       **accepted**           refused (403)
extend a COMPLIANCE retain-until date                 accepted               accepted
delete a GOVERNANCE version, no bypass header         refused (403)          refused (403)
GOVERNANCE bypass by a user whose bucket policy       **accepted**           refused (403)
  explicitly denies s3:BypassGovernanceRetention
GOVERNANCE bypass by a user granted only              accepted               accepted (!)
  s3:DeleteObjectVersion (bypass neither allowed
  nor denied)
delete a version under legal hold                     refused (403)          refused (403)
delete it after the hold is set OFF                   accepted               accepted
plain DELETE (no version) of a locked key             delete marker; the     delete marker; the
                                                        version stays          version stays
old version readable after an overwrite               yes                    yes
GET of an SSE-C object without the key                **plaintext returned** refused (400)
GET of an SSE-C object with a wrong key               **plaintext returned** refused (400)
ETag in the CompleteMultipartUpload answer            "<md5>-<parts>"        **empty string**
ETag from HeadObject after that upload                "<md5>-<parts>"        "<md5>-<parts>"
default retention set on a non-empty bucket           **refused (400)**      accepted
GetObjectRetention of a default-retention object      **500 error**          mode and date
request signed with a wrong secret key                **accepted**           refused (403)
suspend versioning on an Object Lock bucket           **accepted**           refused (409)
====================================================  =====================  ======================

So on moto a WORM self-test cannot tell "enforced" from "accepted anything"; GOVERNANCE
is weak on Ceph too (any user allowed to delete versions may bypass it unless a policy
denies the bypass), so evidence is locked in COMPLIANCE mode; and the ETag of a
multipart upload must be read with HeadObject, not taken from the completion answer.
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path
from typing import Iterator

import boto3
import pytest
from botocore.config import Config

from tests.support.ceph_rgw import DEBIAN_PACKAGES, CephRGW, missing_programs, start_ceph_rgw

INSTALL_SCRIPT = Path(__file__).resolve().parent.parent / "support" / "ceph-rgw.sh"


def _install_ceph_once() -> str:
    """Run the install script; return why Ceph is still unusable ('' when it is usable)."""
    try:
        done = subprocess.run(["bash", str(INSTALL_SCRIPT), "install"],
                              capture_output=True, text=True, timeout=900)
        failure = done.stderr.strip() or f"exit {done.returncode}"
    except (OSError, subprocess.TimeoutExpired) as exc:
        failure = f"{exc}; install the Debian packages {DEBIAN_PACKAGES}"
    if not missing_programs():
        return ""
    return f"Ceph RGW is not installed and `{INSTALL_SCRIPT.name} install` did not help: {failure}"


@pytest.fixture(scope="session")
def ceph_rgw() -> Iterator[CephRGW]:
    """One Ceph cluster for the whole session, stopped by PID at the end whatever happens."""
    if missing_programs():
        reason = _install_ceph_once()
        if reason:
            if os.environ.get("REGISTRY_REQUIRE_CEPH") == "1":
                pytest.fail(f"REGISTRY_REQUIRE_CEPH=1 but {reason}", pytrace=False)
            pytest.skip(f"SKIPPED ALL REAL-S3 TESTS: {reason}")
    workdir = Path(tempfile.mkdtemp(prefix="ceph-rgw-"))
    try:
        cluster = start_ceph_rgw(workdir)
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    atexit.register(cluster.stop)
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def s3(ceph_rgw: CephRGW):
    """A plain boto3 client for the cluster's test user (path-style, as RGW needs here)."""
    return boto3.client(
        "s3",
        endpoint_url=ceph_rgw.endpoint_url,
        aws_access_key_id=ceph_rgw.access_key,
        aws_secret_access_key=ceph_rgw.secret_key,
        region_name=ceph_rgw.region,
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
    )


@pytest.fixture(scope="session")
def locked_bucket(s3) -> str:
    """A bucket created with Object Lock (which also turns versioning on)."""
    name = f"registry-locked-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
    return name


@pytest.fixture
def key() -> str:
    """A fresh opaque key, so tests sharing the bucket never see each other's objects."""
    return f"objects/{uuid.uuid4()}"
