"""Outages look like outages: a database or store that cannot be reached is a 503 with a stable code and
Retry-After (JSON for the API, a page for people), and a download the store cannot serve is logged as failed,
never as an allowed read followed by a broken body."""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa

from registry.audit.events import Action
from storage import StorageUnavailable
from tests.conftest import PASSWORD
from tests.documents import files
from tests.documents_api.support import events, upload, uploaded


@pytest.fixture
def storage_url(each_store) -> str:
    return each_store


def _signed_in(app, staff_member):
    web = app.test_client()
    page = web.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    assert (
        web.post(
            "/login", data={"username": staff_member.username, "password": PASSWORD, "csrf_token": token}
        ).status_code
        == 302
    )
    return web


def test_a_database_that_refuses_connections_is_a_503_to_retry(app, client, clerk, person, runtime):
    web = _signed_in(app, clerk)
    refuse = _refuse(runtime)
    try:
        api_answer = client.get(f"/persons/{person['id']}")
        page = web.get(f"/persons/{person['id']}")
    finally:
        sa.event.remove(runtime.engine, "do_connect", refuse)

    assert api_answer.status_code == 503 and api_answer.headers["Retry-After"] == "30"
    assert api_answer.get_json()["error"]["code"] == "database_unavailable"
    assert page.status_code == 503 and page.headers["Retry-After"] == "30" and page.mimetype == "text/html"
    assert "database cannot be reached" in page.get_data(as_text=True)
    # Back again: the same calls answer, and only the read that was answered is in the log.
    assert client.get(f"/persons/{person['id']}").status_code == 200
    assert len(events(runtime, Action.PERSON_VIEWED, person["id"])) == 1


def _refuse(runtime):
    """New connections are refused, as by a PostgreSQL that went away; pooled ones are dropped."""

    def refuse(*_args, **_kwargs):
        raise runtime.engine.dialect.loaded_dbapi.OperationalError("connection refused")

    sa.event.listen(runtime.engine, "do_connect", refuse)
    runtime.engine.dispose()
    return refuse


@pytest.mark.parametrize("fails_at", ["open", "first segment"])
def test_a_download_the_store_cannot_serve_is_a_503_logged_as_failed(
    client, person, runtime, tmp_path, make_copies, monkeypatch, fails_at
):
    content = files.simple_pdf(tmp_path / "scan.pdf").read_bytes()
    document = uploaded(upload(client, person["id"], content, "scan.pdf"))
    make_copies()
    store = runtime.raw_store
    opened = store.open

    def unreachable(key):
        if fails_at == "open":
            raise StorageUnavailable("cannot reach the store: connection refused")
        return _BrokenAfterHeader(opened(key))

    monkeypatch.setattr(store, "open", unreachable)
    answer = client.get(f"/documents/{document['id']}/original")

    assert answer.status_code == 503 and answer.headers["Retry-After"] == "30"
    assert answer.get_json()["error"]["code"] == "storage_unavailable"
    [read] = events(runtime, Action.DOCUMENT_ORIGINAL_READ, document["id"])
    assert read.outcome == "failed"

    monkeypatch.setattr(store, "open", opened)
    assert client.get(f"/documents/{document['id']}/original").data == content


class _BrokenAfterHeader(io.RawIOBase):
    """The object's header arrives, then the connection to the store drops."""

    def __init__(self, raw) -> None:
        super().__init__()
        self._raw, self._given = raw, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self._given >= 16:
            raise StorageUnavailable("cannot reach the store: connection reset")
        data = self._raw.read(min(len(buffer), 16 - self._given))
        buffer[: len(data)] = data
        self._given += len(data)
        return len(data)

    def close(self) -> None:
        self._raw.close()
        super().close()
