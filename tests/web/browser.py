"""A browser-like client for the HTML side: real cookies, real CSRF tokens, sign-in through the form."""

from __future__ import annotations

import re
from typing import Any

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from flask import Flask

from registry.accounts import passwords
from tests.conftest import PASSWORD

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
SESSION_COOKIE = "registry_session"


def csrf_from(html: str) -> str:
    found = CSRF_FIELD.search(html)
    assert found, "the page has no csrf_token field"
    return found.group(1)


class Browser:
    """One browser: its own cookie jar and its own address (for per-address throttling)."""

    def __init__(self, app: Flask, ip: str = "192.0.2.10"):
        self.client = app.test_client()
        self.ip = ip

    def _env(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        kwargs.setdefault("environ_overrides", {})["REMOTE_ADDR"] = self.ip
        return kwargs

    def get(self, path: str, **kwargs: Any):
        return self.client.get(path, **self._env(kwargs))

    def open(self, path: str, method: str, **kwargs: Any):
        return self.client.open(path, method=method, **self._env(kwargs))

    def csrf_token(self) -> str:
        """A token for this browser's current session, read from the sign-in page (public, logs nothing; the start
        page sends signed-in staff on to their work page)."""
        return csrf_from(self.get("/login").get_data(as_text=True))

    def post(self, path: str, data: dict[str, Any] | None = None, *, csrf: bool = True, **kwargs: Any):
        form = dict(data or {})
        if csrf:
            form.setdefault("csrf_token", self.csrf_token())
        return self.client.post(path, data=form, **self._env(kwargs))

    def login(self, username: str, password: str = PASSWORD, code: str | None = None, next: str = ""):
        form = {"username": username, "password": password, "next": next}
        if code is not None:
            form["code"] = code
        return self.post("/login", form)

    @property
    def cookie(self) -> str | None:
        found = self.client.get_cookie(SESSION_COOKIE)
        return found.value if found else None

    @cookie.setter
    def cookie(self, value: str) -> None:
        self.client.set_cookie(SESSION_COOKIE, value)

    def is_signed_in(self) -> bool:
        """The account page answers only a live session; anyone else is sent to the login page."""
        response = self.get("/account")
        if response.status_code == 200:
            return True
        assert response.status_code == 302 and "/login" in response.headers["Location"], response.status_code
        return False


def signed_in(app: Flask, username: str, ip: str = "192.0.2.10") -> Browser:
    browser = Browser(app, ip)
    response = browser.login(username)
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return browser


def everything(runtime) -> dict[str, list[str]]:
    """Every row of every table, to show that a refused request changed nothing (or stored no secret)."""
    with runtime.engine.connect() as conn:
        tables = sa.inspect(conn).get_table_names()
        return {t: sorted(map(repr, conn.execute(sa.text(f'SELECT * FROM "{t}"')))) for t in tables}


def page_error(response) -> str:
    """The message an error page shows (the same words whatever the page around it)."""
    found = re.search(r'<p class="error" data-code="([^"]*)">([^<]*)</p>', response.get_data(as_text=True))
    assert found, response.get_data(as_text=True)[:500]
    return f"{found.group(1)}: {found.group(2)}"


@pytest.fixture
def quick_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2id at its lowest cost, for tests about access rather than about the hash.

    A module uses it with ``pytestmark = pytest.mark.usefixtures("quick_hashing")`` after importing it.
    """
    monkeypatch.setattr(passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
