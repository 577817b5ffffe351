"""Walk the whole URL map: every route declares its access rule, and the gate enforces it.

Each route is called with random ids as an anonymous caller, as signed-in staff
whose roles lack the route's permission, and as staff with every role who have
not signed the current undertaking. The gate answers before any view runs, so
the ids need not exist.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask, Response

from registry.accounts.permissions import PERSONAL_DATA_ROLES, ROLE_PERMISSIONS, Role, permissions_for
from registry.app import create_app
from registry.web.policy import AccessRule, rule_for
from tests.conftest import error_code
from tests.web.browser import Browser, page_error, quick_hashing, signed_in  # noqa: F401 (fixture)

pytestmark = pytest.mark.usefixtures("quick_hashing")

# Reachable without signing in. A new public route must be added here on purpose.
PUBLIC = {
    "static",
    "web.index",
    "web.healthz",
    "web.readyz",
    "web.choose_language",
    "accounts.login",
    "accounts.account_setup",
    "api.openapi",
    "metrics",
}  # counts only; its own bearer token (REGISTRY_METRICS_TOKEN), else 404
# The caller's own account, reachable before the undertaking is signed, and the registry's public signing
# key (published for courts): none shows personal data.
OWN_ACCOUNT = {
    "audit.signing_key",
    "accounts.logout",
    "accounts.enrol_two_factor",
    "accounts.nda",
    "accounts.my_account",
    "accounts.change_password",
    "accounts.create_token",
    "accounts.revoke_token",
    "api.me",
    "api.get_nda",
    "api.acknowledge_nda",
}
ALL_ROLES = tuple(Role)


def routes(app: Flask) -> Iterator[tuple[str, str, str]]:
    """(endpoint, method, url) for every route and method, URL parameters filled with random uuids."""
    adapter = app.url_map.bind("localhost")
    for rule in app.url_map.iter_rules():
        values = {name: "registry.css" if name == "filename" else str(uuid.uuid4()) for name in rule.arguments}
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule.endpoint, method, adapter.build(rule.endpoint, values, method=method)


def access_rules(app: Flask) -> dict[str, AccessRule | None]:
    with app.app_context():
        return {endpoint: rule_for(endpoint) for endpoint, _method, _url in routes(app)}


def undeclared_endpoints(app: Flask) -> set[str]:
    return {endpoint for endpoint, rule in access_rules(app).items() if rule is None}


def guarded(app: Flask) -> list[tuple[str, str, str, AccessRule]]:
    rules = access_rules(app)
    return [(e, m, u, rules[e]) for e, m, u in routes(app) if rules[e] and rules[e].permission]


def caller(browser: Browser, token: str) -> Callable[[str, str], Response]:
    """Calls as this browser with its CSRF token (so CSRF is not what refuses them), or with this API token."""
    csrf = browser.csrf_token()

    def call(method: str, url: str) -> Response:
        if url.startswith("/api/"):
            return browser.open(url, method, headers={"Authorization": f"Bearer {token}"} if token else {})
        return browser.open(url, method, data={"csrf_token": csrf} if method != "GET" else None)

    return call


def redirected_to(response, path: str, original: str) -> bool:
    if response.status_code != 302:
        return False
    location = urlsplit(response.headers["Location"])
    return location.path == path and parse_qs(location.query).get("next", [""])[0].startswith(original)


def test_every_route_declares_an_access_rule(app):
    assert undeclared_endpoints(app) == set()


def test_only_the_known_routes_are_public_or_skip_the_permission_check(app):
    rules = access_rules(app)
    assert {e for e, r in rules.items() if r and r.public} == PUBLIC
    assert {e for e, r in rules.items() if r and not r.public and r.permission is None} == OWN_ACCOUNT


def test_a_route_added_without_a_rule_is_caught_by_the_walk_and_refused(settings, app, staff):
    fresh = create_app(settings)
    fresh.add_url_rule("/sneaky/<person_id>", "sneaky", lambda person_id: "a person's secrets")
    fresh.add_url_rule("/api/v1/sneaky", "api_sneaky", lambda: {"secret": 1})
    assert undeclared_endpoints(fresh) == {"sneaky", "api_sneaky"}
    clerk = staff("clerk")
    browser = signed_in(fresh, clerk.username)
    page = browser.get(f"/sneaky/{uuid.uuid4()}")
    assert page.status_code == 403 and "secrets" not in page.get_data(as_text=True)
    api_call = fresh.test_client().get("/api/v1/sneaky", headers={"Authorization": f"Bearer {clerk.token}"})
    assert api_call.status_code == 403 and error_code(api_call) == "forbidden"
    fresh.extensions["registry"].engine.dispose()


def test_every_non_public_route_refuses_an_anonymous_caller(app):
    call = caller(Browser(app), token="")
    rules = access_rules(app)
    checked = 0
    for endpoint, method, url in routes(app):
        if rules[endpoint].public:
            continue
        response = call(method, url)
        if url.startswith("/api/"):
            assert response.status_code == 401 and error_code(response) == "unauthenticated", (method, url)
        else:
            assert redirected_to(response, "/login", url.split("?")[0]), (method, url, response.status_code)
        checked += 1
    assert checked > 30


def test_every_guarded_route_refuses_staff_without_its_permission(app, staff):
    """Staff with no role, then with each single role, against every route that role does not grant."""
    for roles in [(), *[(r,) for r in ALL_ROLES]]:
        member = staff(*roles)
        call = caller(signed_in(app, member.username), member.token)
        granted = frozenset().union(*(ROLE_PERMISSIONS[r] for r in roles))
        refused = 0
        for _endpoint, method, url, rule in guarded(app):
            if rule.permission in granted:
                continue
            response = call(method, url)
            assert response.status_code == 403, (roles, method, url, response.status_code)
            if url.startswith("/api/"):
                assert error_code(response) == "forbidden"
            else:
                assert page_error(response).startswith("forbidden:")
            refused += 1
        assert refused > 0, roles


def test_every_guarded_route_sends_staff_who_have_not_signed_the_nda_to_sign_it(app, staff):
    walked = set()
    for roles in (sorted(PERSONAL_DATA_ROLES), [Role.ADMIN]):  # an administrator holds no other role
        member = staff(*roles, sign_nda=False)
        call = caller(signed_in(app, member.username), member.token)
        granted = permissions_for(roles)
        for endpoint, method, url, rule in guarded(app):
            if rule.permission not in granted:
                continue
            walked.add(endpoint)
            response = call(method, url)
            if url.startswith("/api/"):
                assert response.status_code == 403 and error_code(response) == "nda_required", (method, url)
            else:
                assert redirected_to(response, "/nda", url.split("?")[0]), (method, url, response.status_code)
    assert walked == {endpoint for endpoint, _m, _u, _r in guarded(app)}
