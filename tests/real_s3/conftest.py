"""What an S3 server itself guarantees for evidence, asked with plain boto3 of moto and Ceph.

Each test runs on moto 5 (ThreadedMotoServer over HTTP) and on Ceph RGW 16 from Debian 12
(``[moto]`` / ``[ceph]``, servers in servers.py), on a fresh bucket created with Object
Lock, and asserts each server's own answer:

==============================================  ============================  ====================
call                                            moto                          Ceph RGW
==============================================  ============================  ====================
delete a version under COMPLIANCE retention     refused, AccessDenied         refused, AccessDenied
  ... with the governance-bypass header         refused, AccessDenied         refused, AccessDenied
shorten a COMPLIANCE retain-until date          **accepted, date shortened**  refused, AccessDenied
switch COMPLIANCE to GOVERNANCE, then delete    **accepted, version gone**    refused, AccessDenied
  the version with the bypass header
delete a version under legal hold               refused, AccessDenied         refused, AccessDenied
  ... after the hold is set OFF                 accepted                      accepted
plain DELETE (no version) of a locked key       delete marker, version kept   delete marker, kept
old version readable after an overwrite         yes                           yes
suspend versioning on an Object Lock bucket     **accepted**                  refused, 409
request signed with a wrong secret key          **accepted**                  refused, 403
ETag in the CompleteMultipartUpload answer      "<md5>-<parts>"               **empty**
  ... from HeadObject afterwards                "<md5>-<parts>"               "<md5>-<parts>"
VersionId in the CopyObject answer              given                         **missing**
==============================================  ============================  ====================

So on moto nothing about WORM can be proven: anyone may shorten or downgrade a lock and
then delete, and a wrong key is not even noticed. Observed on the same versions but not
asserted here: moto answers GetObjectRetention with a 500 once a retention was changed,
ignores SSE-C (returns plaintext without the key; Ceph refuses with 400), and lets a user
whom a bucket policy denies s3:BypassGovernanceRetention bypass GOVERNANCE; Ceph lets any
user allowed s3:DeleteObjectVersion bypass GOVERNANCE unless a policy denies it. Hence
evidence is locked in COMPLIANCE mode, and multipart ETags and the version a copy made
must be read back with HeadObject.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.real_s3.servers import S3Server  # its fixtures and hooks come in as a plugin (tests/conftest.py)


@pytest.fixture
def s3(s3_server: S3Server) -> Any:
    return s3_server.client()


@pytest.fixture
def locked_bucket(s3_server: S3Server) -> str:
    """A fresh bucket created with Object Lock (which also turns versioning on)."""
    return s3_server.new_locked_bucket()


@pytest.fixture
def key() -> str:
    return f"objects/{uuid.uuid4()}"
