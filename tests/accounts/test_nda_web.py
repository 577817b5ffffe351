"""The undertaking in the browser: sent to sign it, sign it, return; new versions; no open redirect."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from registry.accounts import service as accounts
from registry.audit.service import SYSTEM
from tests.web.browser import Browser, csrf_from, page_error, quick_hashing, signed_in  # noqa: F401 (fixture)

pytestmark = pytest.mark.usefixtures("quick_hashing")

V2_TEXT = "The second version: I also will not photograph any screen of the registry."


def nda_form(browser: Browser, next: str = "/persons") -> dict[str, str]:
    """What the NDA page's form would send, read from the page itself."""
    html = browser.get("/nda", query_string={"next": next}).get_data(as_text=True)
    hidden = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', html))
    return {**hidden, "csrf_token": csrf_from(html)}


def publish(app, admin, text: str = V2_TEXT):
    response = signed_in(app, admin.username).post("/admin/nda", {"title": "Undertaking, second version", "text": text})
    assert response.status_code == 302, response.get_data(as_text=True)[:300]


def test_unsigned_staff_are_sent_to_sign_and_then_back_where_they_were_going(app, staff):
    clerk = staff("clerk", sign_nda=False)
    browser = signed_in(app, clerk.username)
    sent = browser.get("/persons?q=Aigerim")
    location = urlsplit(sent.headers["Location"])
    assert sent.status_code == 302 and location.path == "/nda"
    assert parse_qs(location.query)["next"] == ["/persons?q=Aigerim"]

    form = nda_form(browser, "/persons?q=Aigerim")
    wrong = browser.post("/nda", {**form, "typed_full_name": "Somebody Else"}, csrf=False)
    html = wrong.get_data(as_text=True)
    assert wrong.status_code == 422
    assert re.search(r'value="Somebody Else"[^>]*aria-invalid="true" aria-describedby="e-typed_full_name"', html)
    assert 'class="field-error" id="e-typed_full_name"' in html
    assert 'name="next" value="/persons?q=Aigerim"' in html
    assert browser.get("/persons").status_code == 302  # still not signed

    right = browser.post("/nda", {**form, "typed_full_name": f"  {clerk.full_name.upper()} "}, csrf=False)
    assert right.status_code == 302 and right.headers["Location"] == "/persons?q=Aigerim"
    assert browser.get("/persons").status_code == 200


def sign(browser: Browser, full_name: str, next: str = "/persons"):
    return browser.post("/nda", {**nda_form(browser, next), "typed_full_name": full_name}, csrf=False)


def signed_versions(overview: str, username: str) -> list[str]:
    row = re.search(rf"\({username}\)</td>\s*<td>(.*?)</td></tr>", overview, re.DOTALL)
    assert row, f"{username} is not listed"
    return re.findall(r"v(\d+) ·", row.group(1))


def test_a_new_version_blocks_everyone_until_they_sign_it_and_admins_see_who_signed_what(app, staff):
    clerk, lawyer, admin = staff("clerk"), staff("lawyer"), staff("admin")
    browser, admin_browser = signed_in(app, clerk.username), signed_in(app, admin.username)
    assert browser.get("/persons").status_code == 200
    publish(app, admin)
    for blocked, path in ((browser, "/persons"), (admin_browser, "/admin/users")):
        assert urlsplit(blocked.get(path).headers["Location"]).path == "/nda"
    page = browser.get("/nda").get_data(as_text=True)
    assert V2_TEXT in page and "version 2" in page
    assert sign(browser, clerk.full_name).status_code == 302
    assert browser.get("/persons").status_code == 200
    assert sign(admin_browser, admin.full_name).status_code == 302

    overview = admin_browser.get("/admin/nda").get_data(as_text=True)
    assert signed_versions(overview, clerk.username) == ["1", "2"]
    assert signed_versions(overview, admin.username) == ["1", "2"]
    assert signed_versions(overview, lawyer.username) == ["1"]


def test_signing_a_page_that_went_stale_does_not_sign_the_new_version(app, staff):
    clerk, admin = staff("clerk", sign_nda=False), staff("admin")
    browser = signed_in(app, clerk.username)
    stale = nda_form(browser)
    publish(app, admin)
    response = browser.post("/nda", {**stale, "typed_full_name": clerk.full_name}, csrf=False)
    assert response.status_code == 409 and page_error(response).startswith("conflict:")
    assert browser.get("/persons").status_code == 302


def test_a_mangled_version_number_is_refused_in_words(app, staff):
    clerk = staff("clerk", sign_nda=False)
    browser = signed_in(app, clerk.username)
    form = nda_form(browser)
    for version in ("two", "", "1e3", "²", "99999999999999999999999"):
        response = browser.post("/nda", {**form, "version": version, "typed_full_name": clerk.full_name}, csrf=False)
        assert response.status_code in (409, 422), version
    assert browser.get("/persons").status_code == 302


EVIL = [
    "//evil.example/",
    "https://evil.example/",
    "/\\evil.example",
    "\\\\evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\n/evil.example",
    " //evil.example",
    "http:evil.example",
    "javascript:alert(1)",
]


def test_sign_in_never_redirects_off_the_site(app, staff):
    clerk = staff("clerk")
    for target in EVIL:
        response = Browser(app).login(clerk.username, next=target)
        assert response.status_code == 302 and response.headers["Location"] == "/", target


def test_signing_the_nda_never_redirects_off_the_site(app, runtime, staff):
    clerk = staff("clerk", sign_nda=False)
    browser = signed_in(app, clerk.username)
    for target in EVIL:
        response = sign(browser, clerk.full_name, next=target)
        assert response.status_code == 302 and response.headers["Location"] == "/", target
        with runtime.sessions() as db:  # a new version, so there is something to sign again
            accounts.publish_nda(db, SYSTEM, title="Again", text=f"{V2_TEXT} Revision for {target!r}.")
            db.commit()


def test_choosing_a_language_never_redirects_off_the_site(app):
    for target in EVIL:
        response = Browser(app).post("/language", {"locale": "ru", "next": target})
        assert response.status_code == 302 and response.headers["Location"] == "/", target
