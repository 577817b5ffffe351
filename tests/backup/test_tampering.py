"""`backup verify` finds a flipped byte wherever it is: in an object, in the dump, in the manifest; and a
backup signed by a key other than the pinned one is not vouched for."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from registry.audit.checkpoints import published_key
from registry.backup import service


@pytest.fixture
def backed_up(runtime, origin, tmp_path):
    destination = service.open_destination(str(tmp_path / "backups"))
    summary = service.backup(runtime, destination)
    folder = tmp_path / "backups"
    manifest = json.loads((folder / "backups" / summary.name / "manifest.json").read_bytes())
    return destination, folder, summary.name, manifest, published_key(runtime.audit_key.public_key()).fingerprint


def flip(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def test_an_untouched_backup_verifies(backed_up):
    destination, _, name, manifest, pinned = backed_up
    report = service.verify(destination, name, pinned_fingerprint=pinned)
    assert report.ok, report.problems
    assert report.objects_checked == len(manifest["objects"]) + 1


def test_a_flipped_byte_in_an_object_is_found(backed_up):
    destination, folder, name, manifest, pinned = backed_up
    entry = manifest["objects"][0]
    flip(folder / entry["pool_key"], entry["size"] // 2)
    report = service.verify(destination, name, pinned_fingerprint=pinned)
    assert not report.ok
    assert [p for p in report.problems if entry["pool_key"] in p and p.startswith("ALTERED")]


def test_a_flipped_byte_in_the_dump_is_found(backed_up):
    destination, folder, name, manifest, pinned = backed_up
    flip(folder / manifest["database"]["key"], 100)
    report = service.verify(destination, name, pinned_fingerprint=pinned)
    assert not report.ok and any(manifest["database"]["key"] in p for p in report.problems)


def test_a_flipped_byte_in_the_manifest_is_found(backed_up):
    destination, folder, name, manifest, pinned = backed_up
    path = folder / "backups" / name / "manifest.json"
    text = path.read_bytes()
    flip(path, text.index(manifest["objects"][0]["sha256"].encode()))  # an object's hash, rewritten
    report = service.verify(destination, name, pinned_fingerprint=pinned)
    assert not report.ok and any("does not match its signature" in p for p in report.problems)


def test_a_deleted_object_is_found(backed_up):
    destination, folder, name, manifest, pinned = backed_up
    (folder / manifest["objects"][-1]["pool_key"]).unlink()
    report = service.verify(destination, name, pinned_fingerprint=pinned)
    assert any(p.startswith("MISSING") for p in report.problems)


def test_a_backup_re_signed_with_another_key_is_not_vouched_for(backed_up):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from registry.backup.manifest import sign

    destination, folder, name, manifest, pinned = backed_up
    forger = Ed25519PrivateKey.generate()
    manifest["objects"] = manifest["objects"][1:]
    body, signature = sign(manifest, forger)
    member = folder / "backups" / name
    (member / "manifest.json").write_bytes(body)
    (member / "manifest.sig").write_bytes(signature)
    (member / "public_key.pem").write_text(published_key(forger.public_key()).pem)
    report = service.verify(destination, name, pinned_fingerprint=pinned)
    assert not report.ok and any("not by the pinned key" in p for p in report.problems)
    unpinned = service.verify(destination, name, pinned_fingerprint=None)
    assert not unpinned.ok and not unpinned.problems and not unpinned.pinned
