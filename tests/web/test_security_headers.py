"""Security headers on every kind of answer, cookie flags, and what changes in production."""

from __future__ import annotations

import re
import uuid
from dataclasses import replace

import pytest
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from registry.app import create_app
from tests.conftest import PASSWORD
from tests.web.browser import Browser, csrf_from, quick_hashing, signed_in  # noqa: F401 (fixture)

pytestmark = pytest.mark.usefixtures("quick_hashing")

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|\son[a-z]+\s*=|javascript:", re.IGNORECASE)


def csp(response) -> dict[str, list[str]]:
    directives = {}
    for part in response.headers["Content-Security-Policy"].split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


def assert_locked_down(response, name: str = "") -> None:
    policy = csp(response)
    scripts = policy.get("script-src", policy.get("default-src"))
    assert "'self'" in scripts and "'unsafe-inline'" not in scripts and "'unsafe-eval'" not in scripts, name
    assert policy["frame-ancestors"] == ["'none'"] and policy["object-src"] == ["'none'"], name
    assert response.headers["X-Frame-Options"] == "DENY", name
    assert response.headers["X-Content-Type-Options"] == "nosniff", name
    assert "no-store" in response.headers["Cache-Control"], name


@pytest.fixture
def production_app(settings, app):
    """The same database and keys, run with production settings (served over HTTPS)."""
    production = create_app(replace(settings, env="production", secret_key="p" * 48, accept_unlockable_store=True))
    yield production
    production.extensions["registry"].engine.dispose()


def test_every_kind_of_page_is_locked_down(app, staff):
    clerk = staff("clerk")
    browser = signed_in(app, clerk.username)
    answers = {
        "login": Browser(app).get("/login"),
        "account": browser.get("/account"),
        "second factor": browser.get("/account/two-factor"),
        "persons": browser.get("/persons"),
        "not found": browser.get(f"/persons/{uuid.uuid4()}"),
        "forbidden": browser.get("/admin/users"),
        "no such page": browser.get("/no/such/page"),
        "csrf refusal": browser.post("/account/tokens", {"name": "x"}, csrf=False),
        "api": browser.get("/api/v1/persons"),
        "api error": Browser(app).get("/api/v1/nowhere"),
    }
    for name, response in answers.items():
        assert_locked_down(response, name)
        assert "Strict-Transport-Security" not in response.headers, name  # plain HTTP in development
        if response.mimetype == "text/html":
            assert not INLINE_SCRIPT.search(response.get_data(as_text=True)), name


def test_the_session_cookie_is_http_only_and_same_site(app, staff):
    response = Browser(app).login(staff("clerk").username)
    cookie = response.headers["Set-Cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "path=/" in cookie


def test_production_adds_hsts_and_a_secure_host_only_cookie(production_app, staff):
    clerk = staff("clerk")
    client = production_app.test_client()
    page = client.get("/login", base_url="https://registry.example")
    assert_locked_down(page)
    assert page.headers["Strict-Transport-Security"].startswith("max-age=")
    form = {"username": clerk.username, "password": PASSWORD, "csrf_token": csrf_from(page.get_data(as_text=True))}
    foreign = client.post(
        "/login", data=form, base_url="https://registry.example", headers={"Referer": "https://evil.example/phish"}
    )
    assert foreign.status_code == 400  # a post sent from another site is refused even with the token
    response = client.post(
        "/login", data=form, base_url="https://registry.example", headers={"Referer": "https://registry.example/login"}
    )
    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("__Host-registry=")
    assert {"Secure", "HttpOnly", "SameSite=Lax", "Path=/"} <= {part.strip() for part in cookie.split(";")}
    assert "Domain=" not in cookie
    assert client.get("/account", base_url="https://registry.example").status_code == 200


def test_the_request_id_echoed_back_is_a_plain_token(app):
    browser = Browser(app)
    kept = browser.get("/healthz", headers={"X-Request-Id": "trace-42.a"})
    assert kept.headers["X-Request-Id"] == "trace-42.a"
    for hostile in ("<script>alert(1)</script>", "a" * 65, "id\x00x", "ok; Set-Cookie=x"):
        echoed = browser.get("/healthz", headers={"X-Request-Id": hostile}).headers["X-Request-Id"]
        assert re.fullmatch(r"[0-9a-f]{32}", echoed), hostile


def test_the_answer_that_replaces_a_failed_commit_is_locked_down_too(app, staff, monkeypatch):
    clerk = staff("clerk")
    browser = signed_in(app, clerk.username)

    def commit_fails(_session):
        raise OperationalError("COMMIT", {}, Exception("the disk is full"))

    monkeypatch.setattr(Session, "commit", commit_fails)
    for path in ("/persons", "/api/v1/persons"):
        response = browser.get(path, headers={"Authorization": f"Bearer {clerk.token}"})
        assert response.status_code == 503
        assert_locked_down(response, path)
