"""Nothing a client can send makes the server fail: random paths, methods, bodies and headers.

The callers are an anonymous visitor, a signed-in clerk whose forms carry a valid
CSRF token (so the views themselves run), and API callers with a clerk's token.
"""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.web.browser import Browser, quick_hashing, signed_in  # noqa: F401 (fixture)

pytestmark = pytest.mark.usefixtures("quick_hashing")

NASTY = [
    "\x00",
    "\ud800",
    "9" * 30,
    "-1",
    "0",
    "../../etc/passwd",
    "%00",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "Ａｄｍｉｎ",
    "\u202e",
    "null",
    "[]",
    "{}",
    " ",
    "\t\n",
    "é" * 300,
    "1e309",
    "true",
]
FIELDS = [
    "username",
    "password",
    "code",
    "next",
    "full_name",
    "roles",
    "active",
    "title",
    "text",
    "name",
    "days",
    "current_password",
    "new_password",
    "typed_full_name",
    "version",
    "text_sha256",
    "reason",
    "locale",
    "user_id",
    "registry_number",
    "reference",
    "court_case_number",
    "kind",
    "role",
    "fields",
    "q",
    "page",
    "per_page",
    "person_id",
    "family_name_0",
    "given_name_0",
    "sex",
    "birth_date",
    "categories",
    "status",
]
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]

text = st.one_of(st.sampled_from(NASTY), st.text(max_size=40))
# What a form can carry: a browser encodes a lone surrogate as U+FFFD (raw bodies send broken UTF-8 instead).
form_text = text.map(lambda s: s.encode("utf-8", "replace").decode("utf-8"))
header_text = st.text(st.characters(max_codepoint=0xFF, blacklist_characters="\r\n"), max_size=60)
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False), text),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(FIELDS) | text, inner, max_size=6)
    ),
    max_leaves=12,
)


def wire(value: str) -> str:
    """Percent-encoded as sent on the wire; a lone surrogate becomes bytes that are not UTF-8."""
    return quote(value.encode("utf-8", "surrogatepass"), safe="")


@st.composite
def requests(draw, routes: list[tuple[str, list[str]]], person_id: str) -> tuple[str, str]:
    """(method, path): mostly a real route with a method it takes, its parameters filled with anything."""
    if draw(st.integers(0, 5)) == 0:
        segments = draw(st.lists(text, min_size=1, max_size=4))
        method, path = draw(st.sampled_from(METHODS)), "/" + "/".join(wire(s) or "-" for s in segments)
    else:
        path, methods = draw(st.sampled_from(routes))
        method = draw(st.sampled_from(methods if draw(st.integers(0, 5)) else METHODS))
        while "<" in path:
            start, end = path.index("<"), path.index(">")
            value = draw(st.one_of(st.just(person_id), st.uuids().map(str), text))
            path = path[:start] + wire(value) + path[end + 1 :]
    query = draw(st.dictionaries(st.sampled_from(FIELDS), text, max_size=3))
    return method, path + ("?" + "&".join(f"{k}={wire(v)}" for k, v in query.items()) if query else "")


@st.composite
def bodies(draw) -> dict:
    kind = draw(st.sampled_from(["none", "form", "json", "raw"]))
    if kind == "form":
        return {
            "data": draw(
                st.dictionaries(
                    st.sampled_from(FIELDS), st.one_of(form_text, st.lists(form_text, max_size=3)), max_size=8
                )
            )
        }
    if kind == "json":
        return {"data": json.dumps(draw(json_values)), "content_type": "application/json"}
    if kind == "raw":
        content_type = draw(
            st.sampled_from(
                [
                    "application/json",
                    "multipart/form-data; boundary=xyz",
                    "multipart/form-data",
                    "application/x-www-form-urlencoded",
                    "text/plain",
                    "application/octet-stream",
                ]
            )
        )
        return {"data": draw(st.binary(max_size=300)), "content_type": content_type}
    return {}


@pytest.fixture
def callers(app, staff, make_person):
    clerk = staff("clerk")
    person = make_person(clerk)
    return {
        "anonymous": Browser(app),
        "clerk": signed_in(app, clerk.username),
        "token": clerk.token,
        "person_id": person["id"],
        "username": clerk.username,
    }


def test_no_request_makes_the_server_fail(app, callers):
    routes = sorted((rule.rule, sorted(rule.methods)) for rule in app.url_map.iter_rules())

    @settings(
        max_examples=200,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(
        request=requests(routes, callers["person_id"]),
        body=bodies(),
        caller=st.sampled_from(["clerk", "token", "clerk", "token", "anonymous", "junk token"]),
        headers=st.dictionaries(
            st.sampled_from(
                ["X-Request-Id", "Accept-Language", "Referer", "User-Agent", "If-None-Match", "Range", "Cookie"]
            ),
            header_text,
            max_size=3,
        ),
        with_csrf=st.booleans(),
    )
    def attempt(request, body, caller, headers, with_csrf):
        method, path = request
        browser = callers["clerk" if caller == "clerk" else "anonymous"]
        if caller in ("token", "junk token"):
            token = callers["token"] if caller == "token" else "rgt_not-a-token-of-anyone"
            headers = {**headers, "Authorization": f"Bearer {token}"}
        if with_csrf and isinstance(body.get("data"), dict):
            body = {"data": {**body["data"], "csrf_token": browser.csrf_token()}}
        response = browser.open(path, method, headers=headers, **body)
        assert response.status_code < 500 or response.status_code == 503, (method, path, body, response.status_code)
        if path.startswith("/api/") and response.status_code >= 400 and method != "HEAD":
            assert response.get_json()["error"]["code"]
        if path.startswith("/logout") and caller == "clerk":  # keep exploring as a signed-in clerk
            callers["clerk"] = signed_in(app, callers["username"])

    attempt()


def test_text_the_database_cannot_store_is_refused_before_any_view(app, callers):
    """NUL bytes and lone surrogates (PostgreSQL refuses both) and JSON nested beyond the parser's depth."""
    clerk, api = callers["clerk"], {"Authorization": f"Bearer {callers['token']}"}
    answers = [
        clerk.get("/documents/%00"),
        clerk.get("/persons?q=a%00b"),
        clerk.post("/account/tokens", {"name": "laptop\x00"}),
        clerk.post("/login", {"username": "clerk\x00", "password": "x"}),
        clerk.open(
            "/api/v1/persons",
            "POST",
            headers=api,
            data='{"names": [{"family_name": "\\u0000"}]}',
            content_type="application/json",
        ),
        clerk.open(
            "/api/v1/nda/acknowledgements",
            "POST",
            headers=api,
            data='{"typed_full_name": "\\ud800"}',
            content_type="application/json",
        ),
        clerk.open(
            "/api/v1/persons", "POST", headers=api, data="[" * 100_000 + "]" * 100_000, content_type="application/json"
        ),
        clerk.get("/account", headers={"User-Agent": "curl\x00"}),
    ]
    assert [a.status_code for a in answers] == [400] * len(answers)
    assert clerk.is_signed_in()


def test_a_huge_page_number_is_an_ordinary_answer(app, staff, callers):
    auditor = staff("auditor")
    huge = "page=99999999999999999999"
    answers = [
        callers["clerk"].get(f"/persons?{huge}"),
        callers["clerk"].get(f"/api/v1/persons?{huge}", headers={"Authorization": f"Bearer {callers['token']}"}),
        signed_in(app, auditor.username).get(f"/audit?{huge}"),
        Browser(app).get(f"/api/v1/audit/events?{huge}", headers={"Authorization": f"Bearer {auditor.token}"}),
    ]
    assert [a.status_code for a in answers if a.status_code >= 500] == []
