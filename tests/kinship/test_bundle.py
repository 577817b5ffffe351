"""The court evidence bundle: exported through the API, verified with the file alone."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import subprocess
import sys
import zipfile

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from registry.audit.checkpoints import public_key_id, published_key
from registry.kinship.cli import bundle as bundle_command
from registry.kinship.verify import BUNDLE_CONTEXT, verify_bundle
from storage import fingerprint
from tests.conftest import error_code
from tests.kinship.helpers import claim, genomic_document, rewrite_zip, ruling_document, scan


@pytest.fixture
def exported(api, family, tmp_path):
    """An established relationship's bundle, as a lawyer downloads it."""
    lawyer = api(family.lawyer)
    relationship = claim(lawyer, family)
    genomic = genomic_document(lawyer, family.child["id"], family.mother["id"], "inclusion")
    lawyer.post(f"/relationships/{relationship['id']}/evidence", json={"document_id": genomic["id"]})
    ruling = ruling_document(lawyer, family.child["id"], family.mother["id"], [relationship["id"]])
    lawyer.post(f"/relationships/{relationship['id']}/evidence", json={"document_id": ruling["id"]})
    response = lawyer.get(f"/relationships/{relationship['id']}/bundle")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    path = tmp_path / "bundle.zip"
    path.write_bytes(response.get_data())
    return path, relationship, [genomic, ruling], response


@pytest.fixture
def pinned(runtime) -> bytes:
    """The registry's public key in PEM, as a court obtains it from the registry."""
    return published_key(runtime.audit_key.public_key()).pem.encode()


def _manifest(path) -> dict:
    with zipfile.ZipFile(path) as archive:
        return json.loads(archive.read("manifest.json"))


def test_an_untouched_bundle_verifies(exported, runtime, pinned, tmp_path):
    path, relationship, documents, response = exported
    report = verify_bundle(str(path), pinned)
    assert report.ok, report.problems
    assert report.key_id == public_key_id(runtime.audit_key.public_key())
    manifest = _manifest(path)
    originals = [f for f in manifest["files"] if f.get("document_id")]
    with zipfile.ZipFile(path) as archive:
        packed = {
            (f["document_id"], fingerprint.current(runtime.keyring).of(archive.read(f["path"]))) for f in originals
        }
    assert packed == {(d["id"], d["versions"][0]["fingerprint"]) for d in documents}
    assert all(f["uploaded_by"]["username"] and f["uploaded_at"] and f["kind"] for f in originals)
    assert [h["to"] for h in manifest["relationships"][0]["history"]] == [
        "claimed",
        "genetically_supported",
        "court_established",
    ]
    logged = {(e["document_id"], e["action"]) for e in manifest["access_log"]}
    assert {(d["id"], "document.original_read") for d in documents} <= logged
    assert (
        hashlib.sha256(zipfile.ZipFile(path).read("manifest.json")).hexdigest() == response.headers["X-Manifest-SHA256"]
    )
    key_file = tmp_path / "registry.pem"
    key_file.write_bytes(pinned)
    result = CliRunner().invoke(bundle_command, ["verify", str(path), "--public-key", str(key_file)])
    assert result.exit_code == 0 and "OK: every file matches the signed manifest" in result.output


def test_exporting_is_logged_and_needs_the_permission(api, staff, family, exported):
    path, relationship, _documents, _response = exported
    events = api(staff("auditor")).get("/audit/events?action=kinship.bundle_exported").get_json()["events"]
    assert len(events) == 1 and events[0]["target_id"] == relationship["id"]
    assert (
        events[0]["details"]["manifest_sha256"]
        == hashlib.sha256(zipfile.ZipFile(path).read("manifest.json")).hexdigest()
    )
    refused = api(family.clerk).get(f"/relationships/{relationship['id']}/bundle")
    assert refused.status_code == 403 and error_code(refused) == "forbidden"
    outsider = api(staff("lawyer")).get(f"/relationships/{relationship['id']}/bundle")
    assert error_code(outsider) == "not_found"


def test_an_altered_added_or_removed_file_is_named(exported, tmp_path):
    path, _relationship, documents, _response = exported
    paths = {f.get("document_id"): f["path"] for f in _manifest(path)["files"]}
    altered, removed = paths[documents[0]["id"]], paths[documents[1]["id"]]
    forged = tmp_path / "forged.zip"
    rewrite_zip(path, forged, {altered: scan("a different result")})
    report = verify_bundle(str(forged))
    assert not report.ok and [p for p in report.problems if p.startswith(altered)] == report.problems
    result = CliRunner().invoke(bundle_command, ["verify", str(forged)])
    assert result.exit_code == 1 and f"ALTERED: {altered}" in result.output
    rewrite_zip(path, forged, {removed: None}, add={"documents/extra.png": scan("planted")})
    problems = verify_bundle(str(forged)).problems
    assert any(p.startswith(removed) and "missing" in p for p in problems)
    assert any(p.startswith("documents/extra.png") and "not listed" in p for p in problems)


def test_a_changed_or_resigned_manifest_fails_the_signature_check(exported, pinned, tmp_path):
    path, *_ = exported
    manifest = _manifest(path)
    manifest["created_by"]["username"] = "someone-else"
    changed = tmp_path / "changed.zip"
    rewrite_zip(path, changed, {"manifest.json": json.dumps(manifest, indent=2, sort_keys=True).encode()})
    problems = verify_bundle(str(changed)).problems
    assert any(p.startswith("manifest.json: the signature does not match") for p in problems)
    assert CliRunner().invoke(bundle_command, ["verify", str(changed)]).exit_code == 1

    forger = Ed25519PrivateKey.generate()
    with zipfile.ZipFile(changed) as archive:
        forged_manifest = archive.read("manifest.json")
    resigned = tmp_path / "resigned.zip"
    rewrite_zip(
        changed,
        resigned,
        {
            "manifest.sig": base64.b64encode(forger.sign(BUNDLE_CONTEXT + forged_manifest)),
            "public_key.pem": forger.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            ),
        },
    )
    assert not any("signature" in p for p in verify_bundle(str(resigned)).problems)  # self-consistent forgery
    report = verify_bundle(str(resigned), pinned)
    assert any("not the pinned registry key" in p for p in report.problems)
    assert any("signature does not match" in p for p in report.problems)
    key_file = tmp_path / "registry.pem"
    key_file.write_bytes(pinned)
    result = CliRunner().invoke(bundle_command, ["verify", str(resigned), "--public-key", str(key_file)])
    assert result.exit_code == 1
    assert verify_bundle(str(path), pinned).ok


def test_a_person_bundle_carries_all_their_documents(api, family, pinned):
    lawyer = api(family.lawyer)
    claim(lawyer, family)
    genomic = genomic_document(lawyer, family.child["id"], family.mother["id"], "inclusion")
    response = lawyer.get(f"/persons/{family.child['id']}/bundle")
    assert response.status_code == 200
    report = verify_bundle(io.BytesIO(response.get_data()), pinned)
    assert report.ok, report.problems
    manifest = json.loads(zipfile.ZipFile(io.BytesIO(response.get_data())).read("manifest.json"))
    assert manifest["subject"] == {"type": "person", "id": family.child["id"]}
    assert genomic["id"] in {f.get("document_id") for f in manifest["files"]}
    assert manifest["structured_evidence"][genomic["id"]]["genomic_result"]["conclusion"] == "inclusion"


def test_verification_needs_neither_the_application_nor_its_database(exported, runtime):
    path, *_ = exported
    fingerprint = published_key(runtime.audit_key.public_key()).fingerprint
    code = (
        "import sys; from registry.kinship.cli import bundle\n"
        "try:\n    bundle(['verify', sys.argv[1], '--fingerprint', sys.argv[2]])\nexcept SystemExit as exit_:\n"
        "    loaded = [m for m in ('flask', 'sqlalchemy', 'registry.db', 'storage') if m in sys.modules]\n"
        "    print('LOADED', loaded); raise\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(path), fingerprint],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin"},
        cwd=str(path.parent.parent),
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "LOADED []" in result.stdout
