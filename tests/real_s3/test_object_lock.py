"""Object Lock, versioning and signatures as moto and Ceph RGW answer them (table in conftest).

Each expectation is written per server: where moto accepts what a WORM server must
refuse, the ``[moto]`` case asserts the gap, so an emulator upgrade that closes it shows.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from tests.real_s3.servers import S3Server

MiB = 1024 * 1024
ACCEPTED = "accepted"


def _answer(call: Callable[..., Any], **arguments: Any) -> str:
    """``accepted``, or the error code the server refused the call with."""
    try:
        call(**arguments)
    except ClientError as exc:
        return str(exc.response["Error"]["Code"])
    return ACCEPTED


def _in_days(days: int) -> datetime:
    return datetime.now(UTC) + timedelta(days=days)


def _put_locked(s3: Any, bucket: str, key: str, until: datetime, body: bytes = b"scan") -> str:
    return s3.put_object(
        Bucket=bucket,
        Key=key,
        Body=body,
        ObjectLockMode="COMPLIANCE",
        ObjectLockRetainUntilDate=until,
    )["VersionId"]


def _read(s3: Any, bucket: str, key: str, version: str) -> bytes:
    return s3.get_object(Bucket=bucket, Key=key, VersionId=version)["Body"].read()


def test_deleting_a_version_under_compliance_retention_is_refused(s3, locked_bucket, key):
    version = _put_locked(s3, locked_bucket, key, _in_days(1), b"original scan")

    plain = _answer(s3.delete_object, Bucket=locked_bucket, Key=key, VersionId=version)
    bypass = _answer(
        s3.delete_object,
        Bucket=locked_bucket,
        Key=key,
        VersionId=version,
        BypassGovernanceRetention=True,
    )

    assert plain == bypass == "AccessDenied"
    assert _read(s3, locked_bucket, key, version) == b"original scan"


def test_shortening_compliance_retention(s3, s3_server: S3Server, locked_bucket, key):
    until, shorter = _in_days(2), _in_days(1)
    version = _put_locked(s3, locked_bucket, key, until)

    answer = _answer(
        s3.put_object_retention,
        Bucket=locked_bucket,
        Key=key,
        VersionId=version,
        Retention={"Mode": "COMPLIANCE", "RetainUntilDate": shorter},
    )

    head = s3.head_object(Bucket=locked_bucket, Key=key, VersionId=version)
    expected = {"moto": (ACCEPTED, shorter), "ceph": ("AccessDenied", until)}  # moto: cut short
    expected_answer, expected_until = expected[s3_server.name]
    assert answer == expected_answer
    assert head["ObjectLockMode"] == "COMPLIANCE"
    assert abs(head["ObjectLockRetainUntilDate"] - expected_until) < timedelta(seconds=1)


def test_downgrading_compliance_to_governance_to_delete(s3, s3_server: S3Server, locked_bucket, key):
    version = _put_locked(s3, locked_bucket, key, _in_days(1))

    downgrade = _answer(
        s3.put_object_retention,
        Bucket=locked_bucket,
        Key=key,
        VersionId=version,
        Retention={"Mode": "GOVERNANCE", "RetainUntilDate": _in_days(1)},
    )
    delete = _answer(
        s3.delete_object,
        Bucket=locked_bucket,
        Key=key,
        VersionId=version,
        BypassGovernanceRetention=True,
    )

    expected = {"moto": (ACCEPTED, ACCEPTED), "ceph": ("AccessDenied", "AccessDenied")}
    assert (downgrade, delete) == expected[s3_server.name]
    survived = _answer(s3.head_object, Bucket=locked_bucket, Key=key, VersionId=version)
    assert survived == {"moto": "404", "ceph": ACCEPTED}[s3_server.name]


def test_legal_hold_blocks_deletion_until_released(s3, locked_bucket, key):
    version = s3.put_object(Bucket=locked_bucket, Key=key, Body=b"birth record")["VersionId"]
    hold = {"Bucket": locked_bucket, "Key": key, "VersionId": version}
    s3.put_object_legal_hold(**hold, LegalHold={"Status": "ON"})

    assert _answer(s3.delete_object, **hold) == "AccessDenied"
    assert _read(s3, locked_bucket, key, version) == b"birth record"

    s3.put_object_legal_hold(**hold, LegalHold={"Status": "OFF"})
    assert _answer(s3.delete_object, **hold) == ACCEPTED
    assert _answer(s3.head_object, **hold) == "404"


def test_delete_without_a_version_only_hides_a_locked_object(s3, locked_bucket, key):
    version = _put_locked(s3, locked_bucket, key, _in_days(1), b"court ruling")

    marker = s3.delete_object(Bucket=locked_bucket, Key=key)

    assert marker["DeleteMarker"] is True
    assert _answer(s3.head_object, Bucket=locked_bucket, Key=key) == "404"
    assert _read(s3, locked_bucket, key, version) == b"court ruling"


def test_versioned_overwrite_keeps_the_old_version_readable(s3, locked_bucket, key):
    first = s3.put_object(Bucket=locked_bucket, Key=key, Body=b"first issue")["VersionId"]
    second = s3.put_object(Bucket=locked_bucket, Key=key, Body=b"re-issued")["VersionId"]

    assert first != second
    assert s3.get_object(Bucket=locked_bucket, Key=key)["Body"].read() == b"re-issued"
    assert _read(s3, locked_bucket, key, first) == b"first issue"


def test_suspending_versioning_on_a_locked_bucket(s3, s3_server: S3Server, locked_bucket):
    answer = _answer(
        s3.put_bucket_versioning,
        Bucket=locked_bucket,
        VersioningConfiguration={"Status": "Suspended"},
    )

    status = s3.get_bucket_versioning(Bucket=locked_bucket)["Status"]
    expected = {"moto": (ACCEPTED, "Suspended"), "ceph": ("InvalidBucketState", "Enabled")}
    assert (answer, status) == expected[s3_server.name]


def test_request_signed_with_a_wrong_secret_key(s3_server: S3Server, locked_bucket):
    forger = S3Server(s3_server.name, s3_server.endpoint_url, secret_key="not-the-secret").client()

    answer = _answer(forger.put_object, Bucket=locked_bucket, Key="objects/forged", Body=b"x")

    assert answer == {"moto": ACCEPTED, "ceph": "SignatureDoesNotMatch"}[s3_server.name]


def test_multipart_etag_comes_from_head_object(s3, s3_server: S3Server, locked_bucket, key):
    upload = s3.create_multipart_upload(Bucket=locked_bucket, Key=key)["UploadId"]
    parts = [
        {
            "PartNumber": number,
            "ETag": s3.upload_part(Bucket=locked_bucket, Key=key, UploadId=upload, PartNumber=number, Body=body)[
                "ETag"
            ],
        }
        for number, body in ((1, b"a" * 5 * MiB), (2, b"b"))
    ]

    done = s3.complete_multipart_upload(
        Bucket=locked_bucket, Key=key, UploadId=upload, MultipartUpload={"Parts": parts}
    )

    head_etag = s3.head_object(Bucket=locked_bucket, Key=key)["ETag"].strip('"')
    assert head_etag.endswith("-2")
    assert done["ETag"].strip('"') == {"moto": head_etag, "ceph": ""}[s3_server.name]


def test_copy_answer_names_the_new_version(s3, s3_server: S3Server, locked_bucket, key):
    s3.put_object(Bucket=locked_bucket, Key=key, Body=b"x", Metadata={"a": "1"})

    copy = s3.copy_object(
        Bucket=locked_bucket,
        Key=key,
        CopySource={"Bucket": locked_bucket, "Key": key},
        Metadata={"a": "2"},
        MetadataDirective="REPLACE",
    )

    latest = s3.head_object(Bucket=locked_bucket, Key=key)
    assert latest["Metadata"] == {"a": "2"}
    assert copy.get("VersionId") == {"moto": latest["VersionId"], "ceph": None}[s3_server.name]
