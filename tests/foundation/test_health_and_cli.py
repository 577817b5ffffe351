"""Health probes, `registry init` (idempotent), and the schema agreeing with the migrations."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from click.testing import CliRunner

from registry.cli import main
from registry.db import make_engine
from registry.models import metadata


def test_healthz_and_readyz(app):
    client = app.test_client()
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json()["status"] == "ready"


def test_readyz_names_the_failing_storage(app, runtime, monkeypatch):
    from storage import StorageUnavailable

    def down():
        raise StorageUnavailable("store does not answer")

    monkeypatch.setattr(runtime.raw_store, "health", down)
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert set(response.get_json()["failing"]) == {"storage"}


def test_models_and_migrations_agree(database_url):
    engine = make_engine(database_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
    engine.dispose()
    assert diff == [], f"models differ from migrations: {diff}"


def test_init_is_safe_to_run_twice(tmp_path, monkeypatch):
    monkeypatch.setenv("REGISTRY_INSTANCE_PATH", str(tmp_path / "inst"))
    runner = CliRunner()
    first = runner.invoke(main, ["init"])
    assert first.exit_code == 0, first.output
    assert "user name: admin" in first.output and "password:" in first.output
    second = runner.invoke(main, ["init"])
    assert second.exit_code == 0, second.output
    assert "no administrator was created" in second.output
    engine = make_engine(f"sqlite:///{tmp_path / 'inst' / 'registry.sqlite3'}")
    with engine.connect() as conn:
        assert conn.scalar(sa.text("SELECT count(*) FROM users")) == 1
        assert conn.scalar(sa.text("SELECT count(*) FROM nda_versions")) == 1
    engine.dispose()
    keyring = tmp_path / "inst" / "master-keys.json"
    assert keyring.stat().st_mode & 0o077 == 0


def test_worm_is_not_proven_on_moto_at_start_up(settings, s3_storage_url):
    from registry.app import create_app
    from storage import open_store

    open_store(s3_storage_url).ensure_container()
    app = create_app(settings.with_overrides(storage_url=s3_storage_url, worm_selftest=True))
    body = app.test_client().get("/readyz").get_json()
    assert body["worm"] == "not_proven"
