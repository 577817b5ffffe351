"""The second factor: enrolment, codes at sign-in, replays, far-off codes, and the setting that requires it."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import pyotp
import pytest
import sqlalchemy as sa

from registry.accounts import service as accounts
from registry.accounts.actor import Actor
from registry.accounts.models import ApiToken, User
from registry.errors import Unauthenticated
from tests.conftest import PASSWORD
from tests.web.browser import Browser, everything, quick_hashing, signed_in  # noqa: F401 (fixture)

pytestmark = pytest.mark.usefixtures("quick_hashing")


def enrolment_secret(browser: Browser, path: str = "/account/two-factor") -> str:
    page = browser.get(path).get_data(as_text=True)
    assert "<svg" in page  # the QR code, drawn inline (no script, no external image)
    return re.search(r"<code>([A-Z2-7]{16,})</code>", page).group(1)


def enrol(browser: Browser) -> tuple[pyotp.TOTP, int]:
    """Set up a second factor; returns it and the time step of the code used to confirm it."""
    totp = pyotp.TOTP(enrolment_secret(browser))
    step = totp.timecode(datetime.now())
    confirmed = browser.post("/account/two-factor", {"code": totp.generate_otp(step), "current_password": PASSWORD})
    assert confirmed.status_code == 302
    return totp, step


def test_enrolment_then_every_sign_in_needs_a_fresh_code(app, staff, runtime):
    clerk = staff("clerk")
    browser, elsewhere = signed_in(app, clerk.username), signed_in(app, clerk.username, "192.0.2.99")
    secret = enrolment_secret(browser)
    wrong = browser.post("/account/two-factor", {"code": "000000", "current_password": PASSWORD})
    assert wrong.status_code == 422 and 'id="e-code"' in wrong.get_data(as_text=True)
    totp, step = enrol(browser)
    assert totp.secret == secret
    assert browser.is_signed_in() and not elsewhere.is_signed_in()

    assert Browser(app).login(clerk.username).status_code == 401
    assert Browser(app).login(clerk.username, code=totp.generate_otp(step)).status_code == 401  # used at enrolment
    assert Browser(app).login(clerk.username, code=totp.generate_otp(step + 3)).status_code == 401  # too far ahead
    assert Browser(app).login(clerk.username, code=totp.generate_otp(step - 3)).status_code == 401
    fresh = Browser(app)
    assert fresh.login(clerk.username, code=totp.generate_otp(step + 1)).status_code == 302
    assert fresh.get("/persons").status_code == 200
    replay = Browser(app, ip="198.51.100.20")  # someone who saw the code over the shoulder
    assert replay.login(clerk.username, code=totp.generate_otp(step + 1)).status_code == 401
    assert not replay.is_signed_in()
    assert not any(secret in repr(rows) for rows in everything(runtime).values())  # stored sealed


def test_the_secret_being_set_up_is_not_readable_from_the_cookie(app, staff):
    clerk = staff("clerk")
    browser = signed_in(app, clerk.username)
    secret = enrolment_secret(browser)
    cookie = app.session_interface.get_signing_serializer(app).loads(browser.cookie)
    assert secret not in repr(cookie)
    enrol(browser)  # the sealed pending secret still confirms


def test_when_the_registry_requires_a_second_factor_nothing_else_opens_before_it_is_set_up(app, staff, runtime):
    runtime.settings = runtime.settings.with_overrides(require_mfa=True)
    clerk = staff("clerk")
    browser = signed_in(app, clerk.username)
    for path in ("/persons", "/account", "/nda", "/cases"):
        response = browser.get(path)
        assert response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/account/two-factor"
    assert browser.post("/account/tokens", {"name": "sneaky"}).status_code == 302
    with runtime.sessions() as db:
        assert db.scalar(sa.select(sa.func.count()).select_from(ApiToken).where(ApiToken.name == "sneaky")) == 0

    totp = pyotp.TOTP(enrolment_secret(browser, "/account/two-factor?next=/cases"))
    confirmed = browser.post("/account/two-factor?next=/cases", {"code": totp.now(), "current_password": PASSWORD})
    assert confirmed.status_code == 302 and confirmed.headers["Location"] == "/cases"
    assert browser.get("/persons").status_code == 200
    assert browser.post("/logout").status_code == 302
    assert Browser(app).login(clerk.username).status_code == 401  # from now on the code is needed


def test_a_code_cannot_pass_twice_even_when_the_second_sign_in_read_the_account_first(app, staff, runtime):
    clerk = staff("clerk")
    totp, step = enrol(signed_in(app, clerk.username))
    code = totp.generate_otp(step + 1)
    policy = accounts.ThrottlePolicy(5, 30, timedelta(minutes=15))
    with runtime.sessions() as late:
        early_read = late.scalar(sa.select(User).where(User.id == clerk.id))  # this sign-in read the account...
        assert early_read.totp_last_step == step
        late.commit()
        assert Browser(app).login(clerk.username, code=code).status_code == 302  # ...another used the code...
        with pytest.raises(Unauthenticated):  # ...and the late one must not pass with the same code
            accounts.authenticate(
                late, Actor(None, "192.0.2.50"), clerk.username, PASSWORD, code, policy, runtime.keyring
            )


def test_a_stolen_session_cannot_set_up_a_second_factor_and_lock_the_owner_out(app, staff):
    clerk = staff("clerk")
    owner = signed_in(app, clerk.username)
    thief = Browser(app, ip="198.51.100.66")
    thief.cookie = owner.cookie
    totp = pyotp.TOTP(enrolment_secret(thief))
    for password in ("", "a guess at the password"):
        refused = thief.post("/account/two-factor", {"code": totp.now(), "current_password": password})
        assert refused.status_code == 422 and 'id="e-current_password"' in refused.get_data(as_text=True)
    assert owner.is_signed_in()
    assert Browser(app).login(clerk.username).status_code == 302  # still no second factor on the account


def test_guessing_the_password_through_account_forms_is_throttled_like_sign_in(app, staff, runtime):
    runtime.settings = runtime.settings.with_overrides(login_max_failures_per_account=3)
    clerk = staff("clerk")
    owner = signed_in(app, clerk.username)
    thief = Browser(app, ip="198.51.100.67")
    thief.cookie = owner.cookie
    totp = pyotp.TOTP(enrolment_secret(thief))
    guesses = [
        thief.post("/account/two-factor", {"code": totp.now(), "current_password": f"guess number {n}"})
        for n in range(2)
    ]
    guesses.append(
        thief.post(
            "/account/password", {"current_password": "guess number 2", "new_password": "the thief's own passphrase"}
        )
    )
    assert [g.status_code for g in guesses] == [422, 422, 422]
    for path, form in (
        ("/account/two-factor", {"code": totp.now()}),
        ("/account/password", {"new_password": "the thief's own passphrase"}),
    ):
        throttled = thief.post(path, {**form, "current_password": PASSWORD})  # even the right one now
        assert throttled.status_code == 429, path
    assert Browser(app).login(clerk.username).status_code == 429


def test_a_code_in_other_digits_is_refused_like_a_wrong_code(app, staff):
    clerk = staff("clerk")
    browser = signed_in(app, clerk.username)
    enrolment_secret(browser)
    arabic_indic = browser.post("/account/two-factor", {"code": "١٢٣٤٥٦", "current_password": PASSWORD})
    assert arabic_indic.status_code == 422 and 'id="e-code"' in arabic_indic.get_data(as_text=True)
    totp, step = enrol(browser)
    stranger_digits = Browser(app).login(
        clerk.username, code="".join(chr(0x0660 + int(d)) for d in totp.generate_otp(step + 1))
    )
    assert stranger_digits.status_code == 401


def test_a_new_cookie_secret_neither_breaks_nor_opens_the_second_factor(app, staff, runtime, settings):
    """TOTP secrets are sealed under the master keyring, not under the session-signing secret."""
    from dataclasses import replace

    from registry.app import create_app

    clerk = staff("clerk")
    totp, step = enrol(signed_in(app, clerk.username))
    with runtime.sessions() as db:
        sealed = db.get(User, clerk.id).totp_secret
    assert sealed.startswith(runtime.keyring.current_key_id + ":") and settings.secret_key not in sealed
    rotated = create_app(replace(settings, secret_key="a-new-session-secret-" + "x" * 40))
    try:
        assert Browser(rotated).login(clerk.username, code=totp.generate_otp(step + 1)).status_code == 302
    finally:
        rotated.extensions["registry"].close()


def test_a_second_factor_the_keyring_cannot_open_is_a_plain_refusal(app, staff, runtime):
    clerk = staff("clerk")
    totp, step = enrol(signed_in(app, clerk.username))
    with runtime.engine.begin() as conn:  # sealed under a key this registry does not hold
        conn.execute(
            sa.update(User.__table__)
            .where(User.__table__.c.id == clerk.id)
            .values(totp_secret="mk-unknown:" + "A" * 40)
        )
    response = Browser(app).login(clerk.username, code=totp.generate_otp(step + 1))
    assert response.status_code == 503
    assert "cannot be checked" in response.get_data(as_text=True)


def test_a_key_rotation_reseals_every_second_factor(app, staff, runtime, tmp_path):
    clerk = staff("clerk")
    totp, step = enrol(signed_in(app, clerk.username))
    old = runtime.keyring.current_key_id
    runtime.keyring.add_new_key(runtime.settings.master_key_file)
    with runtime.sessions() as db:
        assert accounts.reseal_totp_secrets(db, runtime.keyring) == 1
        db.commit()
        assert accounts.totp_key_ids(db) == {runtime.keyring.current_key_id: 1}
    runtime.keyring.retire(runtime.settings.master_key_file, old)
    assert Browser(app).login(clerk.username, code=totp.generate_otp(step + 1)).status_code == 302
