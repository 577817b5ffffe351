"""A session that times out loses nothing typed: the form is kept server-side for its owner, sealed, for an
hour, and given back (once) when they have signed in again, with a plain message saying what happened."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from registry.accounts import drafts
from registry.accounts.models import FormDraft, StaffSession, User
from registry.db import utcnow
from tests.conftest import PASSWORD
from tests.web.browser import Browser, csrf_from, quick_hashing, signed_in  # noqa: F401 (fixture)

pytestmark = pytest.mark.usefixtures("quick_hashing")

TYPED = {
    "family_name_0": "Абдирасулова",
    "given_name_0": "Айгерим",
    "kind_0": "official",
    "script_0": "cyrillic",
    "sex": "female",
    "birth_date": "2016-03-01",
    "birth_date_precision": "year",
    "status": "returned",
    "categories": ["child", "orphan"],
    "restricted_notes": "Mother says the father died in 2018.",
}


def _idle(runtime, username: str, minutes: int) -> None:
    """The browser's session was last used this long ago."""
    with runtime.sessions() as db:
        user_id = db.scalar(sa.select(User.id).where(User.username == username))
        db.execute(
            sa.update(StaffSession)
            .where(StaffSession.user_id == user_id)
            .values(last_seen_at=utcnow() - timedelta(minutes=minutes))
        )
        db.commit()


def _form_page(browser: Browser) -> dict[str, str]:
    return {"csrf_token": csrf_from(browser.get("/persons/new").get_data(as_text=True))}


def _drafts(runtime) -> list[FormDraft]:
    with runtime.sessions() as db:
        return list(db.scalars(sa.select(FormDraft)))


def test_a_form_sent_after_the_idle_limit_is_kept_and_given_back_after_signing_in(app, runtime, staff):
    clerk = staff("clerk")
    browser = signed_in(app, clerk.username)
    form = _form_page(browser)
    _idle(runtime, clerk.username, 16)

    sent = browser.post("/persons/new", {**form, **TYPED}, csrf=False)
    assert sent.status_code == 302 and "/login" in sent.headers["Location"]
    login = browser.get(sent.headers["Location"]).get_data(as_text=True)
    assert "Your session ended after 15 minutes without activity" in login and "What you typed is kept" in login

    [kept] = _drafts(runtime)
    assert kept.path == "/persons/new" and kept.expires_at - utcnow() <= drafts.LIFETIME
    assert "Абдирасулова" not in kept.sealed and "Mother" not in kept.sealed, "sealed, not readable in the table"

    signed = browser.login(clerk.username, next="/persons/new")
    assert signed.status_code == 302
    page = browser.get("/persons/new").get_data(as_text=True)
    assert 'value="Абдирасулова"' in page and "Mother says the father died in 2018." in page
    assert 'value="orphan" checked' in page and 'value="child" checked' in page
    assert "filled in with what you typed before your session ended" in page
    assert _drafts(runtime) == [], "deleted when used"
    assert 'value="Абдирасулова"' not in browser.get("/persons/new").get_data(as_text=True)


def test_secrets_are_never_kept():
    kept = drafts.keepable(
        [
            ("csrf_token", "abc"),
            ("password", "x"),
            ("current_password", "y"),
            ("code", "123456"),
            ("token", "t"),
            ("text_sha256", "0" * 64),
            ("title", "Birth record"),
            ("kind", ""),
        ]
    )
    assert kept == [("title", "Birth record")]


def test_only_the_owner_gets_the_draft_back_and_not_after_an_hour(app, runtime, staff):
    clerk, other = staff("clerk"), staff("clerk")
    browser = signed_in(app, clerk.username)
    form = _form_page(browser)
    _idle(runtime, clerk.username, 30)
    browser.post("/persons/new", {**form, **TYPED}, csrf=False)
    assert len(_drafts(runtime)) == 1

    someone_else = signed_in(app, other.username, ip="192.0.2.77")
    assert "Абдирасулова" not in someone_else.get("/persons/new").get_data(as_text=True)
    with runtime.sessions() as db:
        db.execute(sa.update(FormDraft).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.commit()
    browser.login(clerk.username)
    assert "Абдирасулова" not in browser.get("/persons/new").get_data(as_text=True)


def test_signing_out_keeps_nothing_and_a_plain_timeout_just_says_so(app, runtime, staff):
    clerk = staff("clerk")
    browser = signed_in(app, clerk.username)
    form = _form_page(browser)
    browser.post("/logout", form, csrf=False)
    after_logout = browser.post("/persons/new", {**form, **TYPED}, csrf=False)
    assert after_logout.status_code in (302, 400)
    assert _drafts(runtime) == []

    browser.login(clerk.username, PASSWORD)
    _idle(runtime, clerk.username, 20)
    answer = browser.get("/persons")
    assert "/login" in answer.headers["Location"]
    page = browser.get(answer.headers["Location"]).get_data(as_text=True)
    assert "Sign in again to go on" in page
    assert _drafts(runtime) == []
