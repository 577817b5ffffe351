"""The registry publishes its audit signing key: a command for the operator, a page for staff. A court pins the
fingerprint they show when it verifies a bundle, so all three must show the same one."""

from __future__ import annotations

import hashlib
import os
import re

import pytest
from cryptography.hazmat.primitives import serialization

from registry.audit.checkpoints import load_signing_key
from registry.settings import SettingsError
from tests.kinship.helpers import open_case, upload
from tests.web.browser import Browser, quick_hashing, signed_in  # noqa: F401 (fixture)

pytestmark = pytest.mark.usefixtures("quick_hashing")
FINGERPRINT = re.compile(r"fingerprint:?\s+([0-9a-f]{64})")


@pytest.fixture
def expected(runtime) -> str:
    """SHA-256 of the DER public key: what `openssl pkey -pubin -outform DER | sha256sum` prints."""
    der = runtime.audit_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()


def registry_pem(runtime) -> bytes:
    return runtime.audit_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def test_the_key_command_prints_the_public_key_and_its_fingerprint(cli, runtime, expected, tmp_path):
    result = cli("audit", "key")
    assert result.exit_code == 0
    assert FINGERPRINT.search(result.output).group(1) == expected
    assert registry_pem(runtime).decode() in result.output
    assert "PRIVATE" not in result.output
    only_pem = cli("audit", "key", "--pem")
    assert only_pem.exit_code == 0 and only_pem.output.encode() == registry_pem(runtime)


def test_signed_in_staff_see_the_key_and_anonymous_callers_do_not(app, staff, runtime, expected):
    anonymous = Browser(app).get("/audit/signing-key")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    for member in (staff("clerk", sign_nda=False), staff("admin")):  # no personal data: no undertaking needed
        browser = signed_in(app, member.username)
        page = browser.get("/audit/signing-key")
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        assert f'<code id="fingerprint">{expected}</code>' in html
        download = browser.get("/audit/signing-key?format=pem")
        assert download.status_code == 200 and download.get_data() == registry_pem(runtime)
        assert "registry-audit-key.pem" in download.headers["Content-Disposition"]


def test_the_command_the_page_and_bundle_verify_show_one_fingerprint(
    app, api, staff, make_person, runtime, cli, tmp_path
):
    """The court's path: the bundle names a fingerprint; the registry's command and page show the same one;
    pinned, the bundle verifies."""
    clerk, lawyer = staff("clerk"), staff("lawyer")
    person = make_person(clerk)
    open_case(runtime, "KZ-9", members=[lawyer], person_ids=[person["id"]])
    upload(api(lawyer), person["id"], "identity_document")
    response = api(lawyer).get(f"/persons/{person['id']}/bundle")
    assert response.status_code == 200
    bundle = tmp_path / "bundle.zip"
    bundle.write_bytes(response.get_data())

    unpinned = cli("bundle", "verify", str(bundle))
    assert unpinned.exit_code == 1 and "signer not authenticated" in unpinned.output
    in_bundle = FINGERPRINT.search(unpinned.output).group(1)
    from_command = FINGERPRINT.search(cli("audit", "key").output).group(1)
    page = signed_in(app, clerk.username).get("/audit/signing-key").get_data(as_text=True)
    on_page = re.search(r'<code id="fingerprint">([0-9a-f]{64})</code>', page).group(1)
    assert in_bundle == from_command == on_page

    pinned = cli("bundle", "verify", str(bundle), "--fingerprint", from_command)
    assert pinned.exit_code == 0 and "OK: every file matches the signed manifest" in pinned.output
    key_file = tmp_path / "registry-audit-key.pem"
    key_file.write_bytes(cli("audit", "key", "--pem").output.encode())
    assert cli("bundle", "verify", str(bundle), "--public-key", str(key_file)).exit_code == 0


def test_a_signing_key_file_others_can_read_is_refused_like_the_keyring(tmp_path):
    path = tmp_path / "audit-signing-key.pem"
    load_signing_key(str(path), create=True)
    os.chmod(path, 0o644)
    with pytest.raises(SettingsError, match="chmod 600"):
        load_signing_key(str(path), create=False)
    os.chmod(path, 0o600)
    assert load_signing_key(str(path), create=False) is not None
