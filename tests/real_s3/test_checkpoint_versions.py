"""Access-log checkpoints on S3, as `registry audit verify` reads them: by object version.

A plain DeleteObject on a versioned bucket only puts a delete marker in front of a
checkpoint: verify still reads the version behind it, and reports the marker. On a
bucket that cannot lock, a checkpoint version can be deleted for good: a middle one
leaves a gap in the checkpoint chain. On a bucket with Object Lock the versions are
locked in COMPLIANCE mode, and both servers refuse to delete them.
"""

from __future__ import annotations

import secrets
from typing import Any

import pytest
import sqlalchemy as sa
from botocore.exceptions import ClientError

from registry.audit.checkpoints import checkpoint_key
from registry.audit.verify import verify_log
from tests.audit.conftest import cli, tamper, write_events  # noqa: F401  (fixtures)
from tests.real_s3.servers import S3Server


@pytest.fixture
def bucket(s3_server: S3Server, request: pytest.FixtureRequest) -> str:
    """A fresh bucket with Object Lock, or (``unlocked``) one that only keeps versions."""
    if getattr(request, "param", "locked") == "locked":
        return s3_server.new_locked_bucket()
    name = f"unlocked-{secrets.token_hex(8)}"
    client = s3_server.client()
    client.create_bucket(Bucket=name)
    client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    return name


@pytest.fixture
def storage_url(s3_server: S3Server, bucket: str) -> str:
    return (
        f"s3://{bucket}?endpoint_url={s3_server.endpoint_url}&region={s3_server.region}&path_style=true"
        f"&access_key={s3_server.access_key}&secret_key={s3_server.secret_key}"
    )


@pytest.fixture
def s3(s3_server: S3Server) -> Any:
    return s3_server.client()


@pytest.fixture
def three_checkpoints(cli, write_events) -> list[int]:  # noqa: F811
    signed = []
    for _ in range(3):
        last = write_events(2)[-1]
        assert cli("audit", "checkpoint").exit_code == 0
        signed.append(last)
    assert cli("audit", "verify").exit_code == 0
    return signed


def versions(s3: Any, bucket: str, key: str) -> list[str]:
    return [v["VersionId"] for v in s3.list_object_versions(Bucket=bucket, Prefix=key).get("Versions", [])]


def test_a_plain_delete_of_the_newest_checkpoint_is_reported_and_hides_nothing(
    three_checkpoints, s3, bucket, runtime, cli, tamper
):  # noqa: F811
    newest, keep = three_checkpoints[-1], three_checkpoints[-2]
    s3.delete_object(Bucket=bucket, Key=checkpoint_key(newest))
    assert not runtime.raw_store.exists(checkpoint_key(newest))  # hidden from a plain listing
    with runtime.sessions() as db:
        kept_hash = db.scalar(sa.text(f"SELECT hash FROM audit_events WHERE seq = {keep}"))
    tamper(
        f"DELETE FROM audit_event_persons WHERE seq > {keep}",
        f"DELETE FROM audit_events WHERE seq > {keep}",
        f"UPDATE audit_chain_head SET seq = {keep}, hash = '{kept_hash}'",
    )
    result = cli("audit", "verify")
    assert result.exit_code == 1
    assert f"checkpoint {checkpoint_key(newest)} was deleted: a delete marker hides it" in result.stderr
    assert f"a signed checkpoint vouches for event {newest}: events after {keep} were cut off" in result.stderr


def test_checkpoints_are_locked_where_the_bucket_can(three_checkpoints, s3, bucket):
    key = checkpoint_key(three_checkpoints[0])
    [version] = versions(s3, bucket, key)
    assert s3.head_object(Bucket=bucket, Key=key, VersionId=version)["ObjectLockMode"] == "COMPLIANCE"
    with pytest.raises(ClientError, match="AccessDenied"):
        s3.delete_object(Bucket=bucket, Key=key, VersionId=version)


@pytest.mark.parametrize("bucket", ["unlocked"], indirect=True)
def test_a_deleted_version_of_a_middle_checkpoint_is_a_gap(three_checkpoints, s3, bucket, runtime, cli):
    first, middle, newest = three_checkpoints
    key = checkpoint_key(middle)
    for version in versions(s3, bucket, key):
        s3.delete_object(Bucket=bucket, Key=key, VersionId=version)
    result = cli("audit", "verify")
    assert result.exit_code == 1
    assert (
        f"gap in the checkpoint chain: the checkpoint at event {newest} follows one at event {middle}, "
        "which is missing (deleted)"
    ) in result.stderr


@pytest.mark.parametrize("bucket", ["unlocked"], indirect=True)
def test_verify_says_what_a_bucket_that_cannot_lock_cannot_show(three_checkpoints, runtime):
    report = verify_log(runtime.engine, runtime.raw_store, runtime.audit_key.public_key(), witness_seconds=60)
    assert report.ok, report.problems
    assert any("a deleted version of the newest checkpoints cannot be detected" in note for note in report.notes)
