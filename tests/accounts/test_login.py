"""Signing in and out through the web form: failures, throttling, session lifetime and revocation."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from registry.accounts import passwords
from registry.accounts.models import LoginAttempt, RoleChangeRequest, StaffSession
from registry.db import utcnow
from tests.conftest import PASSWORD
from tests.web.browser import Browser, quick_hashing, signed_in  # noqa: F401 (fixture)

pytestmark = pytest.mark.usefixtures("quick_hashing")

NEW_PASSWORD = "a quite different passphrase 7"


class CountingHasher:
    """The real argon2 hasher, counting the verifications it performs."""

    def __init__(self, real):
        self.real = real
        self.verifications = 0

    def verify(self, stored_hash, password):
        self.verifications += 1
        return self.real.verify(stored_hash, password)

    def __getattr__(self, name):
        return getattr(self.real, name)


@pytest.fixture
def limits(runtime):
    """Small throttling limits so a test reaches them in a few attempts."""

    def set_limits(per_account: int = 3, per_ip: int = 50) -> None:
        runtime.settings = runtime.settings.with_overrides(
            login_max_failures_per_account=per_account, login_max_failures_per_ip=per_ip
        )

    return set_limits


def login_message(response) -> str:
    return response.get_data(as_text=True).split('role="alert">', 1)[1].split("<", 1)[0]


def sessions_of(runtime, user_id: str) -> list[StaffSession]:
    with runtime.sessions() as db:
        return list(db.scalars(sa.select(StaffSession).where(StaffSession.user_id == user_id)))


def age_sessions(runtime, user_id: str, **ago: timedelta) -> None:
    with runtime.sessions() as db:
        db.execute(
            sa.update(StaffSession)
            .where(StaffSession.user_id == user_id)
            .values({column: utcnow() - delta for column, delta in ago.items()})
        )
        db.commit()


def admin_saves(app, admin, member, roles: list[str], active: bool):
    """Roles taken away apply at once; roles added are proposed (a second administrator approves them)."""
    form = {"roles": roles, "reason": "Moved to another team", **({"active": "on"} if active else {})}
    response = signed_in(app, admin.username).post(f"/admin/users/{member.id}", form)
    assert response.status_code == 302, response.status_code


def second_admin_approves(app, runtime, approver, member):
    with runtime.sessions() as db:
        waiting = db.scalar(
            sa.select(RoleChangeRequest.id).where(
                RoleChangeRequest.user_id == member.id, RoleChangeRequest.status == "pending"
            )
        )
    response = signed_in(app, approver.username).post(f"/admin/role-changes/{waiting}/approve")
    assert response.status_code == 302, response.status_code


# ---------------------------------------------------------------- failures and throttling


def test_wrong_password_and_unknown_user_get_the_same_answer_after_the_same_work(app, staff, monkeypatch):
    clerk = staff("clerk")
    hasher = CountingHasher(passwords._hasher)
    monkeypatch.setattr(passwords, "_hasher", hasher)
    browser = Browser(app)
    wrong = browser.login(clerk.username, "not the password at all")
    assert hasher.verifications == 1
    unknown = browser.login("nobody-by-this-name", "not the password at all")
    assert hasher.verifications == 2
    assert wrong.status_code == unknown.status_code == 401
    assert login_message(wrong) == login_message(unknown)
    assert 'value="nobody-by-this-name"' in unknown.get_data(as_text=True)  # the name stays typed in
    assert not browser.is_signed_in()


def test_a_disabled_account_gets_the_same_answer_as_a_wrong_password(app, staff, runtime):
    clerk, admin = staff("clerk"), staff("admin")
    wrong = Browser(app).login(clerk.username, "not the password at all")
    admin_saves(app, admin, clerk, ["clerk"], active=False)
    disabled = Browser(app).login(clerk.username)
    assert disabled.status_code == 401 and login_message(disabled) == login_message(wrong)


def test_after_too_many_failures_even_the_right_password_is_refused(app, staff, limits, runtime):
    limits(per_account=3)
    clerk, lawyer = staff("clerk"), staff("lawyer")
    attacker = Browser(app, ip="198.51.100.7")
    for _ in range(3):
        assert attacker.login(clerk.username, "guessing the password").status_code == 401
    # The account is throttled from every address, with the right password too.
    owner = Browser(app, ip="203.0.113.5")
    refused = owner.login(clerk.username.upper())
    assert refused.status_code == 429 and not owner.is_signed_in()
    # Other accounts are not affected.
    assert attacker.login(lawyer.username).status_code == 302
    # The window passes: the owner can sign in again.
    with runtime.sessions() as db:
        db.execute(sa.update(LoginAttempt).values(at=utcnow() - timedelta(minutes=16)))
        db.commit()
    assert owner.login(clerk.username).status_code == 302 and owner.is_signed_in()


def test_one_address_trying_many_accounts_is_throttled(app, staff, limits):
    limits(per_account=50, per_ip=4)
    clerk = staff("clerk")
    sprayer = Browser(app, ip="198.51.100.9")
    for n in range(4):
        assert sprayer.login(f"guess-{n}", "Summer2024!Summer2024!").status_code == 401
    assert sprayer.login(clerk.username).status_code == 429
    assert not sprayer.is_signed_in()
    assert Browser(app, ip="203.0.113.6").login(clerk.username).status_code == 302


def test_failed_and_successful_logins_are_in_the_access_log(app, staff, api):
    clerk, auditor = staff("clerk"), staff("auditor")
    Browser(app).login(clerk.username, "wrong password here")
    signed_in(app, clerk.username)
    failed = api(auditor).get("/audit/events?action=auth.login_failed").get_json()["events"]
    succeeded = api(auditor).get("/audit/events?action=auth.login").get_json()["events"]
    assert [e["outcome"] for e in failed] == ["failed"]
    assert [e["actor"] for e in succeeded] == [clerk.username]


# ---------------------------------------------------------------- the session


def test_the_session_cookie_is_replaced_at_login_and_the_old_one_is_not_signed_in(app, staff):
    clerk = staff("clerk")
    browser = Browser(app)
    browser.get("/login")
    before = browser.cookie
    assert before
    assert browser.login(clerk.username).status_code == 302
    assert browser.cookie != before and browser.is_signed_in()
    planted = Browser(app)
    planted.cookie = before  # a cookie an attacker obtained (or planted) before the victim signed in
    assert not planted.is_signed_in()


def test_signing_in_again_ends_the_session_the_browser_had(app, staff):
    clerk, lawyer = staff("clerk"), staff("lawyer")
    browser = signed_in(app, clerk.username)
    copied = browser.cookie
    assert browser.login(lawyer.username).status_code == 302
    stale = Browser(app)
    stale.cookie = copied
    assert not stale.is_signed_in()


def test_no_remember_me_cookie_and_the_session_cookie_dies_with_the_browser(app, staff):
    clerk = staff("clerk")
    response = Browser(app).post("/login", {"username": clerk.username, "password": PASSWORD, "remember": "on"})
    cookies = response.headers.getlist("Set-Cookie")
    assert len(cookies) == 1 and cookies[0].startswith("registry_session=")
    assert "expires" not in cookies[0].lower() and "max-age" not in cookies[0].lower()


def test_logout_ends_the_session_on_the_server(app, staff):
    clerk = staff("clerk")
    browser = signed_in(app, clerk.username)
    stolen = browser.cookie
    assert browser.get("/logout").status_code == 405  # a link or an image cannot sign anyone out
    assert browser.post("/logout").status_code == 302
    assert not browser.is_signed_in()
    replay = Browser(app)
    replay.cookie = stolen
    assert not replay.is_signed_in()
    assert replay.get("/persons").status_code == 302


def test_an_idle_session_ends_after_the_idle_timeout(app, staff, runtime):
    clerk = staff("clerk")
    browser = signed_in(app, clerk.username)
    age_sessions(runtime, clerk.id, last_seen_at=timedelta(minutes=14))
    assert browser.is_signed_in()  # still within 15 minutes; this click counts as activity
    age_sessions(runtime, clerk.id, last_seen_at=timedelta(minutes=16))
    assert not browser.is_signed_in()
    assert all(row.revoked_at is not None for row in sessions_of(runtime, clerk.id))


def test_an_active_session_still_ends_after_the_absolute_timeout(app, staff, runtime):
    clerk = staff("clerk")
    browser = signed_in(app, clerk.username)
    age_sessions(runtime, clerk.id, created_at=timedelta(hours=11, minutes=50), last_seen_at=timedelta(0))
    assert browser.is_signed_in()
    age_sessions(runtime, clerk.id, created_at=timedelta(hours=12, minutes=1), last_seen_at=timedelta(0))
    assert not browser.is_signed_in()


def test_disabling_an_account_ends_its_sessions_and_tokens_for_good(app, staff, api):
    clerk, admin = staff("clerk"), staff("admin")
    browsers = [signed_in(app, clerk.username, ip) for ip in ("192.0.2.1", "192.0.2.2")]
    assert api(clerk).get("/persons").status_code == 200
    admin_saves(app, admin, clerk, ["clerk"], active=False)
    assert not any(b.is_signed_in() for b in browsers)
    assert api(clerk).get("/persons").status_code == 401
    # Enabling the account again does not bring back what was ended.
    admin_saves(app, admin, clerk, ["clerk"], active=True)
    assert not any(b.is_signed_in() for b in browsers)
    assert api(clerk).get("/persons").status_code == 401
    assert Browser(app).login(clerk.username).status_code == 302


def test_a_password_change_ends_the_other_sessions_and_the_tokens(app, staff, api):
    clerk = staff("clerk")
    mine, other = signed_in(app, clerk.username), signed_in(app, clerk.username, "192.0.2.77")
    wrong = mine.post("/account/password", {"current_password": "not it at all", "new_password": NEW_PASSWORD})
    assert wrong.status_code == 422 and other.is_signed_in()
    changed = mine.post("/account/password", {"current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert changed.status_code == 302
    assert mine.is_signed_in() and not other.is_signed_in()
    assert api(clerk).get("/persons").status_code == 401
    assert Browser(app).login(clerk.username).status_code == 401
    assert Browser(app).login(clerk.username, NEW_PASSWORD).status_code == 302


def test_a_weak_new_password_is_refused_next_to_the_field(app, staff):
    clerk = staff("clerk")
    browser = signed_in(app, clerk.username)
    response = browser.post("/account/password", {"current_password": PASSWORD, "new_password": "password1234"})
    assert response.status_code == 422
    assert 'id="e-new_password"' in response.get_data(as_text=True)
    assert Browser(app).login(clerk.username).status_code == 302


def test_a_role_change_applies_on_the_next_request(app, runtime, staff):
    clerk, admin, other_admin = staff("clerk"), staff("admin"), staff("admin")
    browser = signed_in(app, clerk.username)
    assert browser.get("/persons").status_code == 200
    assert browser.get("/audit").status_code == 403
    admin_saves(app, admin, clerk, ["auditor"], active=True)
    assert browser.get("/persons").status_code == 403  # taken away at once
    assert browser.get("/audit").status_code == 403  # added only when approved
    second_admin_approves(app, runtime, other_admin, clerk)
    assert browser.get("/audit").status_code == 200


def test_every_account_event_is_in_the_access_log(app, staff, api):
    clerk, admin, auditor = staff("clerk", sign_nda=False), staff("admin"), staff("auditor")
    browser = signed_in(app, clerk.username)
    nda = api(clerk).get("/nda").get_json()["nda"]
    browser.post(
        "/nda", {"version": nda["version"], "text_sha256": nda["text_sha256"], "typed_full_name": clerk.full_name}
    )
    browser.post("/account/tokens", {"name": "laptop", "days": "7"})
    browser.post("/account/password", {"current_password": PASSWORD, "new_password": NEW_PASSWORD})
    browser.post("/logout")
    admin_saves(app, admin, clerk, ["lawyer"], active=False)
    events = api(auditor).get("/audit/events?per_page=200").get_json()["events"]
    by_clerk = {e["action"] for e in events if e["actor"] == clerk.username}
    by_admin = {e["action"] for e in events if e["actor"] == admin.username}
    assert {"auth.login", "nda.signed", "auth.token_created", "auth.password_changed", "auth.logout"} <= by_clerk
    assert {"admin.roles_changed", "admin.role_change_proposed", "admin.user_changed"} <= by_admin
