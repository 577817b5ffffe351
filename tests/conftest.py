"""Shared fixtures: a migrated database per test (SQLite, or PostgreSQL when
REGISTRY_TEST_DATABASE_URL names a server), an app, staff members of every role,
and API / browser-like clients."""

from __future__ import annotations

import itertools
import os
import shutil
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from registry.accounts import service as accounts
from registry.accounts.permissions import Role
from registry.app import create_app
from registry.audit.service import SYSTEM, ensure_chain_head
from registry.db import make_engine
from registry.migrate import upgrade
from registry.settings import load_settings
from tests.support.moto_server import start_moto_server

# The S3 servers (moto, Ceph RGW) and the [moto]/[ceph] parametrisation of tests/storage and tests/real_s3.
pytest_plugins = ["tests.real_s3.servers"]

PG_URL = os.environ.get("REGISTRY_TEST_DATABASE_URL", "")
PASSWORD = "correct horse battery staple 42"
NDA_TEXT = "I will keep everything I see in this registry to myself and use it only for my cases."


# ---------------------------------------------------------------- databases


def _pg_admin_url() -> sa.URL:
    return sa.make_url(PG_URL).set(database="postgres")


@pytest.fixture(scope="session")
def template_database(tmp_path_factory) -> str:
    """A database migrated once; each test gets a fresh copy of it."""
    if PG_URL:
        name = f"registry_tmpl_{uuid.uuid4().hex[:8]}"
        admin = sa.create_engine(_pg_admin_url(), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        url = sa.make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        yield url
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    else:
        path = tmp_path_factory.mktemp("template") / "registry.sqlite3"
        engine = make_engine(f"sqlite:///{path}")
        upgrade(engine)
        engine.dispose()
        yield str(path)


_counter = itertools.count()


@pytest.fixture
def database_url(template_database, tmp_path) -> str:
    if PG_URL:
        name = f"registry_t{next(_counter)}_{uuid.uuid4().hex[:6]}"
        admin = sa.create_engine(_pg_admin_url(), isolation_level="AUTOCOMMIT")
        tmpl = sa.make_url(template_database).database
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{tmpl}"'))
        yield sa.make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    else:
        path = tmp_path / "registry.sqlite3"
        shutil.copy(template_database, path)
        yield f"sqlite:///{path}"


# ---------------------------------------------------------------- S3 over real HTTP


@pytest.fixture(scope="session")
def moto_endpoint() -> str:
    endpoint, stop = start_moto_server()
    yield endpoint
    stop()


@pytest.fixture
def s3_storage_url(moto_endpoint) -> str:
    bucket = f"reg-{uuid.uuid4().hex[:12]}"
    return (
        f"s3://{bucket}?endpoint_url={moto_endpoint}&region=us-east-1&path_style=true"
        "&access_key=testing&secret_key=testing"
    )


# ---------------------------------------------------------------- the application


@pytest.fixture
def storage_url(tmp_path) -> str:
    return (tmp_path / "objects").as_uri()


@pytest.fixture
def settings(tmp_path, database_url, storage_url):
    # Viewing copies (and timed checkpoints) are made when a test says so (`make_copies`), not by a thread racing it.
    return load_settings(
        {},
        instance_path=str(tmp_path / "instance"),
        database_url=database_url,
        storage_url=storage_url,
        testing=True,
        audit_checkpoint_every=50,
        worm_selftest=False,
        copy_workers=0,
        copy_sweep_seconds=0,
        audit_checkpoint_minutes=0,
    )


@pytest.fixture
def app(settings):
    app = create_app(settings)
    runtime = app.extensions["registry"]
    runtime.raw_store.ensure_container()
    with runtime.sessions() as db:
        ensure_chain_head(db)
        accounts.publish_nda(db, SYSTEM, title="Undertaking", text=NDA_TEXT)
        db.commit()
    yield app
    runtime.close()


@pytest.fixture
def runtime(app):
    return app.extensions["registry"]


@pytest.fixture
def db(runtime):
    with runtime.sessions() as session:
        yield session


@dataclass
class Staff:
    username: str
    full_name: str
    id: str
    token: str


class StaffFactory:
    def __init__(self, runtime):
        self.runtime = runtime
        self.count = itertools.count(1)

    def __call__(self, *roles: Role | str, sign_nda: bool = True, name: str | None = None) -> Staff:
        username = name or f"{'-'.join(str(r) for r in roles) or 'nobody'}{next(self.count)}"
        full_name = f"Test {username.title()}"
        with self.runtime.sessions() as db:
            user = accounts.create_user(
                db, SYSTEM, username=username, full_name=full_name, password=PASSWORD, roles={Role(r) for r in roles}
            )
            token = accounts.create_api_token(db, SYSTEM, user, name="test")
            if sign_nda:
                nda = accounts.current_nda(db)
                from registry.accounts.actor import Actor

                accounts.acknowledge_nda(
                    db, Actor(user), user, version=nda.version, text_sha256=nda.text_sha256, typed_full_name=full_name
                )
            db.commit()
            return Staff(username, full_name, user.id, token)


@pytest.fixture
def staff(runtime) -> StaffFactory:
    return StaffFactory(runtime)


class ApiClient:
    """Bearer-token calls to /api/v1 that return (status, json)."""

    def __init__(self, client: FlaskClient, token: str | None):
        self.client = client
        self.token = token

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        headers.update(extra or {})
        return headers

    def call(self, method: str, path: str, **kwargs: Any):
        headers = self._headers(kwargs.pop("headers", None))
        return self.client.open(f"/api/v1{path}", method=method, headers=headers, **kwargs)

    def get(self, path: str, **kw):
        return self.call("GET", path, **kw)

    def post(self, path: str, **kw):
        return self.call("POST", path, **kw)

    def patch(self, path: str, **kw):
        return self.call("PATCH", path, **kw)


@pytest.fixture
def api(app):
    def for_staff(member: Staff | None) -> ApiClient:
        return ApiClient(app.test_client(), member.token if member else None)

    return for_staff


def error_code(response) -> str:
    return response.get_json()["error"]["code"]


PERSON = {
    "names": [
        {"family_name": "Абдирасулова", "given_name": "Айгерим", "script": "cyrillic", "kind": "official"},
        {"family_name": "Abdirasulova", "given_name": "Aigerim", "script": "latin", "kind": "recorded_abroad"},
    ],
    "sex": "female",
    "birth_date": "2016-03-01",
    "birth_date_precision": "year",
    "categories": ["child"],
    "status": "returned",
    "place_of_birth_recorded": "Raqqa",
    "restricted_notes": "secret",
}


@pytest.fixture
def make_person(api):
    def make(clerk: Staff, **overrides: Any) -> dict:
        response = api(clerk).post("/persons", json={**PERSON, **overrides})
        assert response.status_code == 201, response.get_json()
        return response.get_json()["person"]

    return make


@pytest.fixture
def make_copies(runtime):
    """Make every waiting viewing copy now, as the copy worker would after the upload answered."""

    def make() -> dict[str, int]:
        return dict(runtime.viewing_copies.make_waiting())

    return make
