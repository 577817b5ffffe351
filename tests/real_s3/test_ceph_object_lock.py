"""What a real S3 server guarantees for evidence, shown with plain boto3 on Ceph RGW.

These are the server behaviours the storage layer relies on (and that moto does not
enforce): if one of them fails here, WORM storage of originals cannot be promised.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone

import pytest
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

from tests.real_s3.generated import MiB, GeneratedStream


def _retain_until(days: int = 1) -> datetime:
    return datetime.now(timezone.utc) + timedelta(days=days)


def _error_code(excinfo: pytest.ExceptionInfo[ClientError]) -> str:
    return excinfo.value.response["Error"]["Code"]


def _read(s3, bucket: str, key: str, version_id: str) -> bytes:
    return s3.get_object(Bucket=bucket, Key=key, VersionId=version_id)["Body"].read()


def test_deleting_a_version_under_compliance_retention_is_refused(s3, locked_bucket, key):
    version = s3.put_object(Bucket=locked_bucket, Key=key, Body=b"original scan",
                            ObjectLockMode="COMPLIANCE",
                            ObjectLockRetainUntilDate=_retain_until())["VersionId"]

    with pytest.raises(ClientError) as refused:
        s3.delete_object(Bucket=locked_bucket, Key=key, VersionId=version)
    with pytest.raises(ClientError) as refused_with_bypass:
        s3.delete_object(Bucket=locked_bucket, Key=key, VersionId=version,
                         BypassGovernanceRetention=True)

    assert _error_code(refused) == _error_code(refused_with_bypass) == "AccessDenied"
    assert _read(s3, locked_bucket, key, version) == b"original scan"


def test_shortening_compliance_retention_is_refused(s3, locked_bucket, key):
    until = _retain_until(days=2)
    version = s3.put_object(Bucket=locked_bucket, Key=key, Body=b"court ruling",
                            ObjectLockMode="COMPLIANCE",
                            ObjectLockRetainUntilDate=until)["VersionId"]

    with pytest.raises(ClientError) as refused:
        s3.put_object_retention(
            Bucket=locked_bucket, Key=key, VersionId=version,
            Retention={"Mode": "COMPLIANCE", "RetainUntilDate": _retain_until(days=1)})

    assert _error_code(refused) == "AccessDenied"
    kept = s3.get_object_retention(Bucket=locked_bucket, Key=key, VersionId=version)
    assert kept["Retention"]["Mode"] == "COMPLIANCE"
    assert kept["Retention"]["RetainUntilDate"] >= until.replace(microsecond=0)


def test_legal_hold_blocks_deletion_until_released(s3, locked_bucket, key):
    version = s3.put_object(Bucket=locked_bucket, Key=key, Body=b"birth record")["VersionId"]
    s3.put_object_legal_hold(Bucket=locked_bucket, Key=key, VersionId=version,
                             LegalHold={"Status": "ON"})

    with pytest.raises(ClientError) as refused:
        s3.delete_object(Bucket=locked_bucket, Key=key, VersionId=version)
    assert _error_code(refused) == "AccessDenied"
    assert _read(s3, locked_bucket, key, version) == b"birth record"

    s3.put_object_legal_hold(Bucket=locked_bucket, Key=key, VersionId=version,
                             LegalHold={"Status": "OFF"})
    s3.delete_object(Bucket=locked_bucket, Key=key, VersionId=version)
    with pytest.raises(ClientError) as gone:
        s3.head_object(Bucket=locked_bucket, Key=key, VersionId=version)
    assert gone.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_versioned_overwrite_keeps_the_old_version_readable(s3, locked_bucket, key):
    first = s3.put_object(Bucket=locked_bucket, Key=key, Body=b"first issue")["VersionId"]
    second = s3.put_object(Bucket=locked_bucket, Key=key, Body=b"re-issued")["VersionId"]

    assert first != second
    assert s3.get_object(Bucket=locked_bucket, Key=key)["Body"].read() == b"re-issued"
    assert _read(s3, locked_bucket, key, first) == b"first issue"


@pytest.mark.slow
def test_multipart_upload_of_100_mib_round_trips(s3, locked_bucket, key):
    size = 100 * MiB
    source = GeneratedStream(size)
    transfer = TransferConfig(multipart_threshold=8 * MiB, multipart_chunksize=8 * MiB)

    s3.upload_fileobj(source, locked_bucket, key, Config=transfer)

    head = s3.head_object(Bucket=locked_bucket, Key=key)
    assert head["ContentLength"] == size
    assert head["ETag"].strip('"').endswith("-13")  # 8 MiB parts: really multipart
    assert _sha256_of_object(s3, locked_bucket, key) == source.sha256.hexdigest()


def _sha256_of_object(s3, bucket: str, key: str) -> str:
    digest = hashlib.sha256()
    for chunk in s3.get_object(Bucket=bucket, Key=key)["Body"].iter_chunks(MiB):
        digest.update(chunk)
    return digest.hexdigest()
