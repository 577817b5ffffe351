"""The master-key file: created private, refused when exposed, rotated without loss."""

from __future__ import annotations

import base64
import json
import os
import stat

import pytest

from storage import IntegrityError, Keyring, KeyringError


def test_generated_file_is_private_and_loads_back(tmp_path) -> None:
    path = tmp_path / "master.key"

    created = Keyring.generate(path)

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    loaded = Keyring.load(path)
    assert loaded.current_key_id == created.current_key_id
    key_id, wrapped = created.wrap(b"k" * 32, b"objects/a")
    assert loaded.unwrap(key_id, wrapped, b"objects/a") == b"k" * 32


def test_generate_never_overwrites(tmp_path) -> None:
    path = tmp_path / "master.key"
    Keyring.generate(path)
    before = path.read_bytes()

    with pytest.raises(KeyringError, match="already exists"):
        Keyring.generate(path)

    assert path.read_bytes() == before


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644])
def test_file_readable_by_others_is_refused_with_the_fix(tmp_path, mode: int) -> None:
    path = tmp_path / "master.key"
    Keyring.generate(path)
    os.chmod(path, mode)

    with pytest.raises(KeyringError, match=f"chmod 600 {path}"):
        Keyring.load(path)


def test_missing_and_malformed_files_are_explained(tmp_path) -> None:
    with pytest.raises(KeyringError, match="does not exist"):
        Keyring.load(tmp_path / "absent.key")
    broken = tmp_path / "broken.key"
    broken.write_text("{not json")
    broken.chmod(0o600)
    with pytest.raises(KeyringError, match="not readable JSON"):
        Keyring.load(broken)
    short = tmp_path / "short.key"
    short.write_text(json.dumps({"current": "a", "keys": {"a": base64.b64encode(b"x" * 16).decode()}}))
    short.chmod(0o600)
    with pytest.raises(KeyringError, match="16 bytes"):
        Keyring.load(short)


def test_env_value_accepts_file_json_and_a_single_key(tmp_path) -> None:
    path = tmp_path / "master.key"
    from_file = Keyring.generate(path)
    key = os.urandom(32)

    from_json = Keyring.from_env_value(path.read_text())
    single = Keyring.from_env_value(base64.b64encode(key).decode() + "\n")

    assert from_json.current_key_id == from_file.current_key_id
    same_key = Keyring.from_env_value(base64.b64encode(key).decode())
    other_key = Keyring.from_env_value(base64.b64encode(os.urandom(32)).decode())
    assert single.current_key_id == same_key.current_key_id
    assert single.current_key_id != other_key.current_key_id


def test_env_value_errors_do_not_echo_the_secret() -> None:
    secret = base64.b64encode(os.urandom(20)).decode()

    with pytest.raises(KeyringError) as caught:
        Keyring.from_env_value(secret)

    assert secret not in str(caught.value)
    assert "20 bytes" in str(caught.value)


def test_repr_shows_ids_not_keys(tmp_path) -> None:
    path = tmp_path / "master.key"
    keyring = Keyring.generate(path)
    encoded = json.loads(path.read_text())["keys"][keyring.current_key_id]

    assert encoded not in repr(keyring)
    assert keyring.current_key_id in repr(keyring)


def test_added_key_becomes_current_and_old_keys_still_unwrap(tmp_path) -> None:
    path = tmp_path / "master.key"
    keyring = Keyring.generate(path)
    old_id, wrapped = keyring.wrap(b"d" * 32, b"objects/a")

    new_id = keyring.add_new_key(path)

    reloaded = Keyring.load(path)
    assert reloaded.current_key_id == new_id == keyring.current_key_id
    assert reloaded.key_ids == {old_id, new_id}
    assert reloaded.unwrap(old_id, wrapped, b"objects/a") == b"d" * 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_wrapped_key_is_bound_to_its_object(tmp_path) -> None:
    keyring = Keyring.generate(tmp_path / "master.key")
    key_id, wrapped = keyring.wrap(b"d" * 32, b"objects/a")

    with pytest.raises(IntegrityError):
        keyring.unwrap(key_id, wrapped, b"objects/b")
