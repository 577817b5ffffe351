"""A backup restores into an empty deployment as the registry it was: originals bit for bit, the access log
and every object checked; a second backup copies only what is new; a non-empty deployment is refused."""

from __future__ import annotations

import json
from contextlib import contextmanager

import pytest

from registry.audit.checkpoints import published_key
from registry.backup import service
from registry.backup.manifest import POOL, SignedManifest
from tests.backup.conftest import add_document
from tests.conftest import ApiClient


def fingerprint(runtime) -> str:
    return published_key(runtime.audit_key.public_key()).fingerprint


def test_a_backup_restores_into_an_empty_deployment(runtime, origin, target_app, target, destination_url):
    destination = service.open_destination(destination_url)
    summary = service.backup(runtime, destination)
    assert summary.copied == summary.objects >= 2 * len(origin.originals)
    assert not summary.missing

    report = service.verify(destination, None, pinned_fingerprint=fingerprint(runtime))
    assert report.ok, report.problems

    restored = service.restore(target, service.open_destination(destination_url), None)
    assert restored.objects == summary.objects
    audit = service.audit_check(target, restored.created_at)
    assert audit.ok and audit.checkpoints >= 1 and audit.events > 0, audit.problems
    scrub = service.scrub_check(target)
    assert scrub.ok and scrub.checked == summary.objects - audit.checkpoints

    # The clerk's account and token came back with the database: their originals are the uploads, bit for bit.
    client = ApiClient(target_app.test_client(), origin.clerk.token)
    for document_id, content in origin.originals.items():
        response = client.get(f"/documents/{document_id}/original")
        assert response.status_code == 200
        assert response.data == content


def test_a_second_backup_copies_only_the_new_objects(runtime, origin, api, make_copies, tmp_path):
    destination = service.open_destination(str(tmp_path / "backups"))
    first = service.backup(runtime, destination)
    add_document(api, origin, "Court ruling")
    make_copies()
    second = service.backup(runtime, destination)

    names = service.backup_names(destination)
    assert names == sorted([first.name, second.name]) and first.name != second.name
    before = {e["key"] for e in SignedManifest.read(destination, first.name).content()["objects"]}
    after = {e["key"] for e in SignedManifest.read(destination, second.name).content()["objects"]}
    new = after - before
    assert before < after and len(new) >= 2  # the new original and its viewing copy
    assert second.copied == len(new)
    assert second.copied_bytes < second.stored_bytes
    for name in names:  # both backups stay whole: they share the pool
        assert service.verify(destination, name, pinned_fingerprint=fingerprint(runtime)).ok


def test_restore_refuses_a_deployment_that_holds_data(runtime, origin, tmp_path):
    destination = service.open_destination(str(tmp_path / "backups"))
    service.backup(runtime, destination)
    objects_before = sorted(runtime.raw_store.iter_keys(""))
    with pytest.raises(service.BackupError, match="not empty"):
        service.restore(runtime, destination, None)
    assert sorted(runtime.raw_store.iter_keys("")) == objects_before


def test_restore_refuses_a_backup_not_signed_by_the_deployments_key(runtime, origin, target, tmp_path):
    destination = service.open_destination(str(tmp_path / "backups"))
    summary = service.backup(runtime, destination)
    manifest = tmp_path / "backups" / "backups" / summary.name / "manifest.json"
    data = json.loads(manifest.read_bytes())
    data["objects"] = data["objects"][1:]  # drop an object from the list: the signature no longer matches
    manifest.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    with pytest.raises(service.BackupError, match="not signed"):
        service.restore(target, destination, None)
    assert list(target.raw_store.iter_keys("")) == []


def test_the_backup_holds_no_plaintext_and_no_keys(runtime, origin, tmp_path):
    destination = service.open_destination(str(tmp_path / "backups"))
    service.backup(runtime, destination)
    keyring = (tmp_path / "instance" / "master-keys.json").read_bytes()
    secret_material = [json.loads(keyring)["keys"][k].encode() for k in json.loads(keyring)["keys"]]
    audit_pem = (tmp_path / "instance" / "audit-signing-key.pem").read_bytes()
    for path in (tmp_path / "backups").rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert b"PRIVATE KEY" not in data and audit_pem not in data
            assert not any(secret in data for secret in secret_material)
            assert "Абдирасулова".encode() not in data and b"Abdirasulova" not in data  # the dump is encrypted
            assert not any(content in data for content in origin.originals.values())
    assert any(p.name for p in (tmp_path / "backups" / POOL.rstrip("/")).rglob("*"))


def test_objects_written_after_the_dump_are_not_in_the_backup(runtime, origin, api, tmp_path, monkeypatch):
    dumped = service.database.dumped
    present = set(runtime.raw_store.iter_keys("objects/"))

    @contextmanager
    def upload_after_the_dump(engine, folder):
        with dumped(engine, folder) as snapshot:
            add_document(api, origin, "Uploaded while the backup ran")
            yield snapshot

    monkeypatch.setattr(service.database, "dumped", upload_after_the_dump)
    destination = service.open_destination(str(tmp_path / "backups"))
    summary = service.backup(runtime, destination)
    listed = {
        e["key"]
        for e in SignedManifest.read(destination, summary.name).content()["objects"]
        if e["key"].startswith("objects/")
    }
    assert listed == present
    assert set(runtime.raw_store.iter_keys("objects/")) > present  # the late upload is stored, just not backed up
