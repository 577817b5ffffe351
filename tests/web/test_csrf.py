"""Every HTML form refuses a post without this session's CSRF token, and such a post changes nothing."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from registry.accounts.models import ApiToken
from registry.accounts.permissions import PERSONAL_DATA_ROLES
from tests.conftest import NDA_TEXT, PASSWORD
from tests.web.browser import Browser, everything, quick_hashing, signed_in  # noqa: F401 (fixture)

pytestmark = pytest.mark.usefixtures("quick_hashing")


def form_routes(app) -> list[tuple[str, list[str]]]:
    """(rule, argument names) of every HTML route that takes a POST."""
    return [
        (rule.rule, sorted(rule.arguments))
        for rule in app.url_map.iter_rules()
        if "POST" in rule.methods and not rule.rule.startswith("/api/")
    ]


@pytest.fixture
def victim(app, runtime, staff, api, make_person):
    """Signed-in members with every role between them (an administrator holds no other role), and real ids
    for each URL parameter, so a forged post would bite."""
    member = staff(*PERSONAL_DATA_ROLES)
    admin = staff("admin")
    other = staff("lawyer")
    person = make_person(member)
    case = api(admin).post("/cases", json={"reference": "CSRF-1", "title": "A case"}).get_json()["case"]
    with runtime.sessions() as db:
        token_id = db.scalar(sa.select(ApiToken.id).where(ApiToken.user_id == member.id))
    ids = {
        "user_id": other.id,
        "token_id": token_id,
        "case_id": case["id"],
        "person_id": person["id"],
        "document_id": str(uuid.uuid4()),
    }
    form = {
        "username": "mallory",
        "full_name": "Mallory Forger",
        "password": "forged passphrase 1234",
        "roles": ["admin"],
        "title": "Forged",
        "text": NDA_TEXT + " Forged.",
        "name": "forged",
        "days": "366",
        "current_password": PASSWORD,
        "new_password": "forged passphrase 1234",
        "user_id": other.id,
        "typed_full_name": member.full_name,
        "reason": "A forged emergency reason",
        "locale": "ru",
        "reference": "FORGED-1",
        "registry_number": person["registry_number"],
        "code": "123456",
        "version": "1",
        "next": "/",
    }
    return member, [signed_in(app, member.username), signed_in(app, admin.username)], ids, form


def test_every_form_refuses_a_post_without_a_csrf_token_and_changes_nothing(app, runtime, victim):
    _member, browsers, ids, form = victim
    routes = form_routes(app)
    assert len(routes) > 10
    before = everything(runtime)
    for browser in browsers:
        for rule, arguments in routes:
            path = rule
            for name in arguments:
                path = path.replace(f"<{name}>", ids.get(name, str(uuid.uuid4())))
            response = browser.post(path, form, csrf=False)
            assert response.status_code == 400, (path, response.status_code)
            forged = browser.post(path, {**form, "csrf_token": "forged-" + browser.csrf_token()[7:]}, csrf=False)
            assert forged.status_code == 400, (path, forged.status_code)
        assert browser.is_signed_in()  # the forged sign-out did not sign anyone out
    assert everything(runtime) == before


def test_a_token_from_another_session_is_refused(app, staff):
    clerk, lawyer = staff("clerk"), staff("lawyer")
    mine, theirs = signed_in(app, clerk.username), signed_in(app, lawyer.username)
    response = mine.post("/account/tokens", {"name": "stolen", "csrf_token": theirs.csrf_token()})
    assert response.status_code == 400


def test_the_token_from_before_sign_in_is_not_valid_after_it(app, staff):
    clerk = staff("clerk")
    browser = Browser(app)
    old_token = browser.csrf_token()
    assert browser.login(clerk.username).status_code == 302
    assert browser.post("/account/tokens", {"name": "x", "csrf_token": old_token}).status_code == 400
    assert browser.post("/account/tokens", {"name": "x"}).status_code == 200


def test_the_login_form_itself_needs_the_token(app, staff):
    clerk = staff("clerk")
    browser = Browser(app)
    response = browser.post("/login", {"username": clerk.username, "password": PASSWORD}, csrf=False)
    assert response.status_code == 400 and not browser.is_signed_in()


def test_a_head_request_never_acts_like_a_post(app, runtime, victim):
    """CSRF checks only POST-like methods and HEAD runs the GET view: a form sent with HEAD must do nothing."""
    member, browsers, ids, form = victim
    browser = browsers[0]
    before = everything(runtime)
    for rule in app.url_map.iter_rules():
        if {"GET", "POST"} <= rule.methods and not rule.rule.startswith("/api/"):
            path = rule.rule
            for name in rule.arguments:
                path = path.replace(f"<{name}>", ids.get(name, str(uuid.uuid4())))
            with_form = browser.open(path, "HEAD", data={**form, "username": member.username, "password": PASSWORD})
            assert with_form.status_code == 400, (path, with_form.status_code)
            bare = browser.open(path, "HEAD")
            if rule.endpoint.startswith("accounts."):  # the sign-in, NDA and second-factor forms show, never submit
                assert bare.status_code == 200, (path, bare.status_code)
    after = everything(runtime)
    # A bare HEAD runs the page's read, and reads of personal data are logged: only reads may be added.
    new_events = set(after.pop("audit_events")) - set(before.pop("audit_events"))
    assert all("'person.viewed'" in e or "'person.searched'" in e for e in new_events), new_events
    for table in ("audit_event_persons", "audit_chain_head"):
        after.pop(table), before.pop(table)
    assert after == before
