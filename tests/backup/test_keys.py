"""The keys leave the registry only encrypted: under a passphrase, or split K-of-N; they come back whole, and
never over other keys."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from registry.cli import main

PASSPHRASE = "seven custodians, one vault"


@pytest.fixture
def environment(runtime, tmp_path):
    _ = runtime.audit_key  # made on first use
    return {
        "REGISTRY_INSTANCE_PATH": str(tmp_path / "instance"),
        "REGISTRY_DATABASE_URL": runtime.settings.database_url,
        "REGISTRY_STORAGE_URL": runtime.settings.storage_url,
    }


def run(env: dict[str, str], *args: str, passphrase: str | None = None, input: str | None = None):
    variables = (
        {**env, "REGISTRY_KEYS_PASSPHRASE": passphrase} if passphrase else {**env, "REGISTRY_KEYS_PASSPHRASE": ""}
    )
    return CliRunner().invoke(main, list(args), env=variables, input=input)


def fresh(tmp_path: Path, name: str) -> dict[str, str]:
    """The settings of a new machine: an instance folder without keys."""
    return {"REGISTRY_INSTANCE_PATH": str(tmp_path / name)}


def key_files(instance: Path) -> tuple[bytes, bytes]:
    return (instance / "master-keys.json").read_bytes(), (instance / "audit-signing-key.pem").read_bytes()


def same_keys(a: Path, b: Path) -> bool:
    return json.loads(key_files(a)[0]) == json.loads(key_files(b)[0]) and key_files(a)[1] == key_files(b)[1]


def test_keys_come_back_with_the_passphrase(environment, tmp_path):
    exported = run(environment, "keys", "export", str(tmp_path / "keys.json"), passphrase=PASSPHRASE)
    assert exported.exit_code == 0, exported.output
    data = (tmp_path / "keys.json").read_bytes()
    assert b"PRIVATE KEY" not in data
    assert not any(k.encode() in data for k in json.loads(key_files(tmp_path / "instance")[0])["keys"].values())

    wrong = run(
        fresh(tmp_path, "wrong"), "keys", "import", str(tmp_path / "keys.json"), passphrase="not the passphrase at all"
    )
    assert wrong.exit_code == 1 and "do not open" in wrong.output
    assert not (tmp_path / "wrong" / "master-keys.json").exists()

    imported = run(fresh(tmp_path, "new"), "keys", "import", str(tmp_path / "keys.json"), passphrase=PASSPHRASE)
    assert imported.exit_code == 0, imported.output
    assert same_keys(tmp_path / "instance", tmp_path / "new")
    assert (tmp_path / "new" / "master-keys.json").stat().st_mode & 0o077 == 0


def test_the_passphrase_is_asked_twice_on_a_terminal(environment, tmp_path):
    typed = f"{PASSPHRASE}\n{PASSPHRASE}\n"
    exported = run(environment, "keys", "export", str(tmp_path / "keys.json"), input=typed)
    assert exported.exit_code == 0, exported.output
    imported = run(fresh(tmp_path, "new"), "keys", "import", str(tmp_path / "keys.json"), input=f"{PASSPHRASE}\n")
    assert imported.exit_code == 0 and same_keys(tmp_path / "instance", tmp_path / "new")


def test_any_k_of_n_shares_bring_the_keys_back_and_k_minus_1_do_not(environment, tmp_path):
    exported = run(environment, "keys", "export", str(tmp_path / "keys.json"), "--shares", "5", "--threshold", "3")
    assert exported.exit_code == 0, exported.output
    shares = [tmp_path / f"keys-share-{i}-of-5.json" for i in range(1, 6)]
    assert all(s.exists() for s in shares)

    too_few = run(fresh(tmp_path, "two"), "keys", "import", str(shares[0]), str(shares[3]))
    assert too_few.exit_code == 1 and "3 different shares of 5 are needed" in too_few.output
    assert not (tmp_path / "two" / "master-keys.json").exists()

    for chosen, name in (((0, 2, 4), "a"), ((1, 3, 4), "b")):
        imported = run(fresh(tmp_path, name), "keys", "import", *(str(shares[i]) for i in chosen))
        assert imported.exit_code == 0, imported.output
        assert same_keys(tmp_path / "instance", tmp_path / name)


def test_a_mistyped_share_is_refused(environment, tmp_path):
    run(environment, "keys", "export", str(tmp_path / "keys.json"), "--shares", "3", "--threshold", "2")
    share = tmp_path / "keys-share-1-of-3.json"
    document = json.loads(share.read_bytes())
    words = document["share"]["words"].split()
    words[5] = "academic" if words[5] != "academic" else "acid"
    document["share"]["words"] = " ".join(words)
    share.write_text(json.dumps(document))
    imported = run(fresh(tmp_path, "new"), "keys", "import", str(share), str(tmp_path / "keys-share-2-of-3.json"))
    assert imported.exit_code == 1 and "do not combine" in imported.output


def test_import_never_overwrites_other_keys(environment, tmp_path):
    run(environment, "keys", "export", str(tmp_path / "keys.json"), passphrase=PASSPHRASE)
    other = fresh(tmp_path, "other")
    (tmp_path / "other").mkdir(mode=0o700)
    (tmp_path / "other" / "master-keys.json").write_text('{"current": "k1", "keys": {"k1": "' + "A" * 43 + '="}}')
    (tmp_path / "other" / "master-keys.json").chmod(0o600)
    before = (tmp_path / "other" / "master-keys.json").read_bytes()
    refused = run(other, "keys", "import", str(tmp_path / "keys.json"), passphrase=PASSPHRASE)
    assert refused.exit_code == 1 and "not overwritten" in refused.output
    assert (tmp_path / "other" / "master-keys.json").read_bytes() == before
    assert not (tmp_path / "other" / "audit-signing-key.pem").exists()

    again = run(environment, "keys", "import", str(tmp_path / "keys.json"), passphrase=PASSPHRASE)
    assert again.exit_code == 0 and "already in place" in again.output


def test_export_refuses_a_short_passphrase_and_an_existing_file(environment, tmp_path):
    short = run(environment, "keys", "export", str(tmp_path / "keys.json"), passphrase="short")
    assert short.exit_code == 1 and not (tmp_path / "keys.json").exists()
    (tmp_path / "keys.json").write_text("keep me")
    taken = run(environment, "keys", "export", str(tmp_path / "keys.json"), passphrase=PASSPHRASE)
    assert taken.exit_code == 1 and (tmp_path / "keys.json").read_text() == "keep me"


def test_a_refused_import_writes_nothing(environment, tmp_path):
    run(environment, "keys", "export", str(tmp_path / "keys.json"), passphrase=PASSPHRASE)
    (tmp_path / "other").mkdir(mode=0o700)
    (tmp_path / "other" / "audit-signing-key.pem").write_bytes(b"-----BEGIN PRIVATE KEY-----\nnot ours\n")
    refused = run(fresh(tmp_path, "other"), "keys", "import", str(tmp_path / "keys.json"), passphrase=PASSPHRASE)
    assert refused.exit_code == 1 and "not overwritten" in refused.output
    assert not (tmp_path / "other" / "master-keys.json").exists()
