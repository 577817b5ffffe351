"""A registry with documents to back up, and a second, empty deployment holding the same keys to restore into."""

from __future__ import annotations

import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

from registry.accounts.permissions import Role
from registry.app import create_app
from registry.audit.checkpoints import write_checkpoint
from registry.settings import load_settings
from tests.conftest import PG_URL, Staff, _pg_admin_url
from tests.kinship.helpers import scan, upload


@dataclass
class Origin:
    clerk: Staff
    person_id: str
    originals: dict[str, bytes]  # document id -> the bytes uploaded


def add_document(api, origin: Origin, text: str) -> str:
    content = scan(text)
    document = upload(api(origin.clerk), origin.person_id, "passport", text, content=content)
    origin.originals[document["id"]] = content
    return document["id"]


@pytest.fixture
def origin(runtime, staff, api, make_person, make_copies) -> Origin:
    clerk = staff(Role.CLERK)
    found = Origin(clerk, make_person(clerk)["id"], {})
    for page in ("Passport page 2", "Birth record"):
        add_document(api, found, page)
    make_copies()
    write_checkpoint(runtime.sessions, runtime.raw_store, runtime.audit_key)
    return found


@pytest.fixture
def empty_database_url(tmp_path) -> str:
    """A database nobody has migrated or written to, as a new deployment starts."""
    if not PG_URL:
        yield f"sqlite:///{tmp_path / 'restored.sqlite3'}"
        return
    name = f"registry_restore_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(_pg_admin_url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield sa.make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def copy_keys(settings, instance: Path) -> None:
    """What `registry keys import` leaves: the origin's keyring and audit key in the new instance folder."""
    instance.mkdir(mode=0o700, exist_ok=True)
    runtime_key = Path(settings.master_key_file)
    shutil.copy(runtime_key, instance / "master-keys.json")
    shutil.copy(settings.audit_signing_key_file, instance / "audit-signing-key.pem")
    for name in ("master-keys.json", "audit-signing-key.pem"):
        (instance / name).chmod(0o600)


def target_settings(tmp_path: Path, database_url: str):
    return load_settings(
        {},
        instance_path=str(tmp_path / "target"),
        database_url=database_url,
        storage_url=(tmp_path / "target-objects").as_uri(),
        testing=True,
        worm_selftest=False,
        copy_workers=0,
        copy_sweep_seconds=0,
        audit_checkpoint_minutes=0,
    )


@pytest.fixture
def target_app(tmp_path, empty_database_url, runtime, origin):
    _ = runtime.audit_key  # the origin's audit key file exists from here on
    copy_keys(runtime.settings, tmp_path / "target")
    app = create_app(target_settings(tmp_path, empty_database_url))
    yield app
    app.extensions["registry"].close()


@pytest.fixture
def target(target_app):
    return target_app.extensions["registry"]


@pytest.fixture(params=["folder", "s3"])
def destination_url(request, tmp_path) -> str:
    if request.param == "folder":
        return str(tmp_path / "backups")
    return request.getfixturevalue("s3_storage_url")
