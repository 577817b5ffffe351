"""The store's own legal hold (S3 Object Lock), over real HTTP to a moto server: set on every version of a held
document's objects, kept while another hold covers them, cleared when none does; a folder says it has none."""

from __future__ import annotations

import io
from typing import Any

import pytest
import sqlalchemy as sa

from registry.documents.models import DocumentVersion
from storage import EncryptedStore, FilesystemStore, Keyring, LockUnsupported, StorageError
from tests.holds.conftest import hold, lift
from tests.real_s3.servers import S3Server


def _hold_states(s3: Any, bucket: str, key: str) -> list[str]:
    """The legal hold status of each stored version of the key ("" where none was ever set)."""
    versions = [
        v["VersionId"]
        for v in s3.list_object_versions(Bucket=bucket, Prefix=key).get("Versions", [])
        if v["Key"] == key
    ]
    assert versions, key
    return [s3.head_object(Bucket=bucket, Key=key, VersionId=v).get("ObjectLockLegalHoldStatus", "") for v in versions]


# ---------------------------------------------------------------- the storage library


def test_s3_legal_hold_covers_every_version_and_blocks_deletion_until_cleared(moto_server: S3Server, tmp_path):
    bucket = moto_server.new_locked_bucket()
    store = EncryptedStore(moto_server.store(bucket), Keyring.generate(str(tmp_path / "keys.json")))
    s3 = moto_server.client()
    store.put("objects/scan", io.BytesIO(b"first scan"), length=10)
    store.put("objects/scan", io.BytesIO(b"second scan"), length=11)  # two versions under one key
    assert store.supports_legal_hold() and store.deletion_blocked("objects/scan") is None

    store.set_legal_hold("objects/scan", True)

    assert _hold_states(s3, bucket, "objects/scan") == ["ON", "ON"]
    assert "legal hold" in (store.deletion_blocked("objects/scan") or "")
    with pytest.raises(StorageError, match="could not delete"):
        store.delete("objects/scan")
    assert store.exists("objects/scan")

    store.set_legal_hold("objects/scan", False)

    assert _hold_states(s3, bucket, "objects/scan") == ["OFF", "OFF"]
    assert store.deletion_blocked("objects/scan") is None
    store.delete("objects/scan")
    assert not store.exists("objects/scan")


def test_a_held_object_stays_held_when_its_metadata_is_replaced(moto_server: S3Server):
    bucket = moto_server.new_locked_bucket()
    store = moto_server.store(bucket)
    store.put("objects/a", io.BytesIO(b"bytes"), length=5, metadata={"enc-key-id": "k1"})
    store.set_legal_hold("objects/a", True)
    store.replace_metadata("objects/a", {"enc-key-id": "k2"})  # a key rotation writes a new version
    assert _hold_states(moto_server.client(), bucket, "objects/a") == ["ON", "ON"]


def test_a_store_without_object_lock_reports_no_legal_hold(moto_server: S3Server, tmp_path):
    bucket = "plain-" + tmp_path.name.lower().replace("_", "-")[-20:]
    moto_server.client().create_bucket(Bucket=bucket)
    plain = moto_server.store(bucket)
    plain.put("objects/a", io.BytesIO(b"bytes"), length=5)
    assert not plain.supports_legal_hold()
    with pytest.raises(LockUnsupported, match="no Object Lock"):
        plain.set_legal_hold("objects/a", True)
    folder = FilesystemStore(tmp_path / "objects")
    folder.ensure_container()
    folder.put("objects/a", io.BytesIO(b"bytes"), length=5)
    assert not folder.supports_legal_hold() and folder.deletion_blocked("objects/a") is None
    with pytest.raises(LockUnsupported, match="no legal hold"):
        folder.set_legal_hold("objects/a", True)


# ---------------------------------------------------------------- the registry on S3


@pytest.fixture
def storage_url(s3_storage_url) -> str:
    return s3_storage_url


@pytest.fixture
def bucket(runtime) -> tuple[Any, str]:
    store = runtime.raw_store
    return store._client, store.bucket


def _objects(runtime, document_id: str) -> list[str]:
    with runtime.sessions() as db:
        versions = db.scalars(sa.select(DocumentVersion).where(DocumentVersion.document_id == document_id))
        return [o.key for v in versions for o in (v.original, v.viewing) if o is not None]


def _states(bucket: tuple[Any, str], keys: list[str]) -> set[str]:
    client, name = bucket
    return {state for key in keys for state in _hold_states(client, name, key)}


def test_holds_set_and_clear_the_store_hold_only_when_nothing_else_covers(
    runtime, api, team, registry, add_document, make_copies, bucket
):
    passport = add_document(registry.child, "passport")
    make_copies()
    keys = _objects(runtime, passport)
    assert len(keys) == 2 and _states(bucket, keys) == {""}  # original and viewing copy, not held yet
    clerk = api(team.clerk)

    by_person = hold(clerk, "person", registry.child)
    by_case = hold(api(team.lawyer), "case", registry.case_id)
    assert by_person.status_code == by_case.status_code == 201
    assert by_person.get_json()["legal_hold"]["store_legal_hold"] is True
    assert _states(bucket, keys) == {"ON"}

    assert lift(clerk, by_person.get_json()["legal_hold"]["id"]).status_code == 200
    assert _states(bucket, keys) == {"ON"}  # the case's hold still covers the child's passport
    assert lift(api(team.lawyer), by_case.get_json()["legal_hold"]["id"]).status_code == 200
    assert _states(bucket, keys) == {"OFF"}


def test_a_document_uploaded_for_a_held_person_is_held_in_the_store_at_upload(
    runtime, api, team, registry, add_document, make_copies, bucket
):
    assert hold(api(team.clerk), "person", registry.mother).status_code == 201
    later = add_document(registry.mother, "other")
    assert _states(bucket, _objects(runtime, later)) == {"ON"}  # the original, as soon as the upload answered
    make_copies()
    keys = _objects(runtime, later)
    assert len(keys) == 2 and _states(bucket, keys) == {"ON"}  # and its viewing copy, once made


def test_the_store_refusing_to_delete_keeps_a_document_the_database_calls_unlocked(
    runtime, api, team, registry, add_document, make_old
):
    passport = add_document(registry.child, "passport")
    make_old(passport, 80)  # the database says its lock ended; the bucket still retains it for ten years
    due = api(team.clerk).get("/retention/due").get_json()["due"]
    assert [(d["document_id"], d["kept_because"].split(":")[0]) for d in due] == [(passport, "store_refuses")]
    refused = api(team.clerk).post("/disposals")
    assert refused.status_code == 409
    assert runtime.raw_store.exists(_objects(runtime, passport)[0])
