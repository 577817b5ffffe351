"""API tokens from the account page: shown once, stored hashed, revocable, expiring."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from registry.accounts.models import ApiToken
from registry.db import utcnow
from tests.conftest import ApiClient, error_code
from tests.web.browser import Browser, everything, quick_hashing, signed_in  # noqa: F401 (fixture)

pytestmark = pytest.mark.usefixtures("quick_hashing")


def create(browser: Browser, name: str = "laptop", days: str = "30"):
    return browser.post("/account/tokens", {"name": name, "days": days})


def shown_token(response) -> str | None:
    found = re.search(r'<code id="new-token">([^<]+)</code>', response.get_data(as_text=True))
    return found.group(1) if found else None


def token_ids(runtime, user_id: str) -> list[str]:
    with runtime.sessions() as db:
        return list(db.scalars(sa.select(ApiToken.id).where(ApiToken.user_id == user_id, ApiToken.name != "test")))


def test_a_new_token_is_shown_once_works_and_is_stored_only_as_a_hash(app, staff, runtime):
    clerk = staff("clerk")
    browser = signed_in(app, clerk.username)
    response = create(browser)
    token = shown_token(response)
    assert response.status_code == 200 and token and token.startswith("rgt_")
    assert ApiClient(app.test_client(), token).get("/persons").status_code == 200
    assert shown_token(browser.get("/account")) is None
    assert token[:12] in browser.get("/account").get_data(as_text=True)  # listed by its first characters
    assert not any(token in repr(rows) for rows in everything(runtime).values())
    session = app.session_interface.get_signing_serializer(app).loads(browser.cookie)
    assert token not in repr(session)


def test_a_revoked_token_is_refused_at_once(app, staff, runtime):
    clerk = staff("clerk")
    browser = signed_in(app, clerk.username)
    token = shown_token(create(browser))
    [token_id] = token_ids(runtime, clerk.id)
    assert browser.post(f"/account/tokens/{token_id}/revoke").status_code == 302
    response = ApiClient(app.test_client(), token).get("/persons")
    assert response.status_code == 401 and error_code(response) == "unauthenticated"
    assert "revoked" in browser.get("/account").get_data(as_text=True)


def test_nobody_can_revoke_someone_elses_token(app, staff, runtime):
    clerk, lawyer = staff("clerk"), staff("lawyer")
    token = shown_token(create(signed_in(app, clerk.username)))
    [token_id] = token_ids(runtime, clerk.id)
    other = signed_in(app, lawyer.username)
    assert other.post(f"/account/tokens/{token_id}/revoke").status_code == 404
    assert ApiClient(app.test_client(), token).get("/persons").status_code == 200


def test_an_expired_token_is_refused(app, staff, runtime):
    clerk = staff("clerk")
    token = shown_token(create(signed_in(app, clerk.username), days="1"))
    client = ApiClient(app.test_client(), token)
    assert client.get("/persons").status_code == 200
    with runtime.sessions() as db:
        db.execute(
            sa.update(ApiToken).where(ApiToken.user_id == clerk.id).values(expires_at=utcnow() - timedelta(seconds=1))
        )
        db.commit()
    assert client.get("/persons").status_code == 401


def test_a_lifetime_outside_one_day_to_a_year_is_refused_next_to_the_field(app, staff, runtime):
    clerk = staff("clerk")
    browser = signed_in(app, clerk.username)
    for days in ("0", "367", "ninety", "1e9"):
        response = create(browser, days=days)
        assert response.status_code == 422 and 'id="e-days"' in response.get_data(as_text=True), days
    assert token_ids(runtime, clerk.id) == []


def test_a_token_does_not_open_the_web_pages_and_a_session_cookie_does_not_open_the_api(app, staff):
    clerk = staff("clerk")
    browser = signed_in(app, clerk.username)
    assert browser.get("/api/v1/persons").status_code == 401
    bearer_only = Browser(app).get("/persons", headers={"Authorization": f"Bearer {clerk.token}"})
    assert bearer_only.status_code == 302
