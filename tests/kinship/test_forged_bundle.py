"""A forger's bundle: one file changed, the manifest rebuilt and signed with the forger's own key, that key put in
the bundle. Only the registry's key, pinned by the court, tells it from the real one."""

from __future__ import annotations

import base64
import hashlib
import json
import zipfile

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from registry.audit.checkpoints import CHECKPOINT_CONTEXT
from registry.kinship.cli import bundle as bundle_command
from registry.kinship.verify import BUNDLE_CONTEXT, key_id, verify_bundle
from tests.kinship.helpers import genomic_document, scan


def pem(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def fingerprint(public: Ed25519PublicKey) -> str:
    """What `openssl pkey -pubin -outform DER | sha256sum` prints for the key."""
    der = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()


@pytest.fixture
def genuine(api, family, tmp_path):
    """The child's bundle as the lawyer downloads it, carrying one genomic result."""
    lawyer = api(family.lawyer)
    genomic_document(lawyer, family.child["id"], family.mother["id"], "inclusion")
    response = lawyer.get(f"/persons/{family.child['id']}/bundle")
    assert response.status_code == 200
    path = tmp_path / "genuine.zip"
    path.write_bytes(response.get_data())
    return path


@pytest.fixture
def registry_pem(runtime, tmp_path):
    path = tmp_path / "registry-audit-key.pem"
    path.write_bytes(pem(runtime.audit_key.public_key()))
    return path


def resign(
    source,
    target,
    manifest: dict,
    key: Ed25519PrivateKey,
    *,
    context: bytes = BUNDLE_CONTEXT,
    files: dict[str, bytes] | None = None,
    public: Ed25519PublicKey | None = None,
) -> None:
    """Write the bundle again with this manifest signed by ``key`` over ``context`` + manifest."""
    manifest_bytes = json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True).encode()
    replaced = {
        "manifest.json": manifest_bytes,
        "manifest.sig": base64.b64encode(key.sign(context + manifest_bytes)),
        "public_key.pem": pem(public or key.public_key()),
        **(files or {}),
    }
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for item in old.infolist():
            new.writestr(item.filename, replaced.get(item.filename, old.read(item.filename)))


@pytest.fixture
def forger() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture
def forged(genuine, forger, tmp_path):
    """The genomic result replaced, the manifest's hash, size and key id rewritten, signed by the forger."""
    with zipfile.ZipFile(genuine) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    entry = next(f for f in manifest["files"] if f.get("kind") == "genomic_test_result")
    planted = scan("exclusion")
    entry.update(sha256=hashlib.sha256(planted).hexdigest(), size=len(planted))
    manifest["signing"].update(key_id=key_id(forger.public_key()), fingerprint_sha256=fingerprint(forger.public_key()))
    path = tmp_path / "forged.zip"
    resign(genuine, path, manifest, forger, files={entry["path"]: planted})
    return path


def verify_command(*args: str):
    return CliRunner().invoke(bundle_command, ["verify", *map(str, args)])


def test_a_forgers_bundle_is_not_called_ok_without_the_registrys_key(forged, forger):
    report = verify_bundle(str(forged))
    assert report.intact and not report.ok  # self-consistent, and signed by nobody the verifier knows
    result = verify_command(forged)
    assert result.exit_code != 0
    assert "OK:" not in result.output
    assert "signature valid, key NOT pinned" in result.output and "signer not authenticated" in result.output
    assert fingerprint(forger.public_key()) in result.output  # to compare with what the registry publishes


def test_a_forgers_bundle_fails_against_the_registrys_pinned_key_naming_both(forged, forger, runtime, registry_pem):
    ours, theirs = fingerprint(runtime.audit_key.public_key()), fingerprint(forger.public_key())
    for pin in (["--public-key", registry_pem], ["--fingerprint", ours]):
        result = verify_command(forged, *pin)
        assert result.exit_code == 1, pin
        assert "OK:" not in result.output
        assert ours in result.output and theirs in result.output, pin
    assert not verify_bundle(str(forged), pinned_public_key=registry_pem.read_bytes()).ok
    assert not verify_bundle(str(forged), pinned_fingerprint=ours).ok


def test_the_genuine_bundle_passes_with_the_registrys_key_pinned(genuine, runtime, registry_pem):
    ours = fingerprint(runtime.audit_key.public_key())
    spelled = ":".join(ours[i : i + 2] for i in range(0, len(ours), 2)).upper()  # as a letter might print it
    for pin in (["--public-key", registry_pem], ["--fingerprint", ours], ["--fingerprint", spelled]):
        result = verify_command(genuine, *pin)
        assert result.exit_code == 0, (pin, result.output)
        assert "OK: every file matches the signed manifest" in result.output
    assert verify_bundle(str(genuine), pinned_public_key=registry_pem.read_bytes()).ok


def test_the_genuine_bundle_without_a_pin_says_so_and_shows_the_registrys_fingerprint(genuine, runtime):
    result = verify_command(genuine)
    assert result.exit_code != 0 and "OK:" not in result.output
    assert "signature valid, key NOT pinned" in result.output
    assert fingerprint(runtime.audit_key.public_key()) in result.output
    assert key_id(runtime.audit_key.public_key()) in result.output


def test_a_different_pinned_key_fails_naming_both_fingerprints(genuine, runtime, forger, tmp_path):
    other = tmp_path / "other.pem"
    other.write_bytes(pem(forger.public_key()))
    result = verify_command(genuine, "--public-key", other)
    assert result.exit_code == 1 and "OK:" not in result.output
    assert fingerprint(forger.public_key()) in result.output
    assert fingerprint(runtime.audit_key.public_key()) in result.output
    assert verify_command(genuine, "--fingerprint", "ab" * 32).exit_code == 1


def test_a_malformed_fingerprint_is_refused_as_a_usage_error(genuine):
    result = verify_command(genuine, "--fingerprint", "not-hex")
    assert result.exit_code == 2 and "64 hexadecimal digits" in result.output


@pytest.mark.parametrize("context", [CHECKPOINT_CONTEXT, b""], ids=["checkpoint-context", "no-context"])
def test_the_registrys_signature_in_another_context_does_not_verify_a_bundle(
    genuine, runtime, registry_pem, context, tmp_path
):
    """A signature the registry made for a checkpoint (or bare bytes) is not a signature on a bundle."""
    with zipfile.ZipFile(genuine) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    path = tmp_path / "elsewhere.zip"
    resign(genuine, path, manifest, runtime.audit_key, context=context)
    report = verify_bundle(str(path), pinned_public_key=registry_pem.read_bytes())
    assert not report.ok
    assert any(p.startswith("manifest.json: the signature does not match") for p in report.problems)
