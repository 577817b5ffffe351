"""The commands as an operator runs them: back up, verify, restore into a new deployment, which then passes
`audit verify` and `storage scrub`; a second restore is refused."""

from __future__ import annotations

from click.testing import CliRunner

from registry.audit.checkpoints import published_key
from registry.cli import main
from tests.backup.conftest import copy_keys


def test_backup_verify_and_restore_from_the_command_line(runtime, origin, tmp_path, empty_database_url):
    fingerprint = published_key(runtime.audit_key.public_key()).fingerprint
    source = {
        "REGISTRY_INSTANCE_PATH": str(tmp_path / "instance"),
        "REGISTRY_DATABASE_URL": runtime.settings.database_url,
        "REGISTRY_STORAGE_URL": runtime.settings.storage_url,
    }
    destination = (tmp_path / "backups").as_uri()
    runner = CliRunner()

    made = runner.invoke(main, ["backup", destination], env=source)
    assert made.exit_code == 0, made.output
    assert "copied" in made.output and fingerprint in made.output

    verified = runner.invoke(main, ["backup", "verify", destination, "--fingerprint", fingerprint])
    assert verified.exit_code == 0 and "OK:" in verified.output, verified.output
    other = runner.invoke(main, ["backup", "verify", destination, "--fingerprint", "ab" * 32])
    assert other.exit_code == 1 and "not by the pinned key" in other.output

    target = {
        "REGISTRY_INSTANCE_PATH": str(tmp_path / "target"),
        "REGISTRY_DATABASE_URL": empty_database_url,
        "REGISTRY_STORAGE_URL": (tmp_path / "target-objects").as_uri(),
    }
    keyless = runner.invoke(main, ["restore", destination], env=target)
    assert keyless.exit_code == 1 and "keys import" in keyless.output
    copy_keys(runtime.settings, tmp_path / "target")
    restored = runner.invoke(main, ["restore", destination], env=target)
    assert restored.exit_code == 0, restored.output
    assert "OK: the access log is intact." in restored.output
    assert "0 missing, 0 corrupt, 0 orphans" in restored.output

    again = runner.invoke(main, ["restore", destination], env=target)
    assert again.exit_code == 1 and "not empty" in again.output
