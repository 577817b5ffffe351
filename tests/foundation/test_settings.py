"""Settings are validated once at start-up; each wrong value stops the start with a clear reason."""

from __future__ import annotations

import pytest

from registry.settings import SettingsError, load_settings


def test_embedded_default_needs_no_server(tmp_path):
    s = load_settings({}, instance_path=str(tmp_path))
    assert s.database_url.startswith("sqlite:///") and s.storage_url.startswith("file://")
    assert s.secret_key and s.max_upload_mb == 100
    assert (tmp_path / "dev-secret-key").stat().st_mode & 0o077 == 0


@pytest.mark.parametrize(
    "env, words",
    [
        ({"REGISTRY_DATABASE_URL": "mysql://x"}, "REGISTRY_DATABASE_URL"),
        ({"REGISTRY_STORAGE_URL": "ftp://host/x"}, "REGISTRY_STORAGE_URL"),
        ({"REGISTRY_MAX_UPLOAD_MB": "lots"}, "whole number"),
        ({"REGISTRY_MAX_UPLOAD_MB": "0"}, "between 1 and 10240"),
        ({"REGISTRY_ENV": "staging"}, "REGISTRY_ENV"),
        ({"REGISTRY_REQUIRE_MFA": "perhaps"}, "true or false"),
        ({"REGISTRY_ENV": "production", "REGISTRY_DATABASE_URL": "postgresql://db/x"}, "REGISTRY_SECRET_KEY"),
        (
            {
                "REGISTRY_ENV": "production",
                "REGISTRY_DATABASE_URL": "postgresql://db/x",
                "REGISTRY_SECRET_KEY": "dev-insecure-" + "x" * 40,
            },
            "REGISTRY_SECRET_KEY",
        ),
        ({"REGISTRY_ENV": "production", "REGISTRY_SECRET_KEY": "s" * 48}, "PostgreSQL"),
        ({"REGISTRY_CONFIG": "/nonexistent/registry.toml"}, "cannot be read"),
        ({"REGISTRY_COPY_WORKERS": "-1"}, "REGISTRY_COPY_WORKERS must be between 0"),
        ({"REGISTRY_COPY_WORKERS": "200"}, "REGISTRY_COPY_WORKERS must be between 0"),
        ({"REGISTRY_COPY_SWEEP_SECONDS": "-5"}, "REGISTRY_COPY_SWEEP_SECONDS"),
    ],
)
def test_bad_settings_refuse_to_start(tmp_path, env, words):
    env = {"REGISTRY_INSTANCE_PATH": str(tmp_path), **env}
    with pytest.raises(SettingsError, match=words):
        load_settings(env)


def test_toml_file_then_environment(tmp_path):
    config = tmp_path / "registry.toml"
    config.write_text("max_upload_mb = 7\nsession_idle_minutes = 5\n")
    s = load_settings(
        {"REGISTRY_CONFIG": str(config), "REGISTRY_INSTANCE_PATH": str(tmp_path), "REGISTRY_SESSION_IDLE_MINUTES": "9"}
    )
    assert s.max_upload_mb == 7 and s.session_idle_minutes == 9


def test_unknown_toml_key_is_named(tmp_path):
    config = tmp_path / "registry.toml"
    config.write_text("max_uplod_mb = 7\n")
    with pytest.raises(SettingsError, match="max_uplod_mb"):
        load_settings({"REGISTRY_CONFIG": str(config), "REGISTRY_INSTANCE_PATH": str(tmp_path)})


def test_production_without_keyring_names_the_file(tmp_path):
    from registry.app import create_app

    settings = load_settings(
        {
            "REGISTRY_INSTANCE_PATH": str(tmp_path),
            "REGISTRY_ENV": "production",
            "REGISTRY_SECRET_KEY": "s" * 48,
            "REGISTRY_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/x",
        }
    )
    with pytest.raises(SettingsError, match="REGISTRY_MASTER_KEY_FILE"):
        create_app(settings)
