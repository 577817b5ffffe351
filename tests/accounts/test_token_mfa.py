"""When the registry requires a second factor, an API token is no way around it.

A token is made from a sign-in (the account page) or by an operator (``registry users token``);
either way it stands for the account, so it lets in only an account that has a second factor.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from registry.accounts.models import ApiToken, User
from tests.accounts.test_tokens_page import create, shown_token
from tests.accounts.test_totp import enrol
from tests.audit.conftest import cli  # noqa: F401 (fixture)
from tests.conftest import ApiClient, error_code
from tests.web.browser import quick_hashing, signed_in  # noqa: F401 (fixture)

pytestmark = pytest.mark.usefixtures("quick_hashing")


@pytest.fixture
def mfa_required(runtime, monkeypatch):
    """REGISTRY_REQUIRE_MFA=true, for the running app and for the ``registry`` command alike."""
    runtime.settings = runtime.settings.with_overrides(require_mfa=True)
    monkeypatch.setenv("REGISTRY_REQUIRE_MFA", "true")


def token_names(runtime, user_id: str) -> list[str]:
    with runtime.sessions() as db:
        return sorted(db.scalars(sa.select(ApiToken.name).where(ApiToken.user_id == user_id)))


@pytest.mark.usefixtures("mfa_required")
def test_a_token_of_an_account_without_a_second_factor_opens_nothing(api, staff):
    clerk = staff("clerk")  # its token was made by the operator, and it never set up a second factor
    for path in ("/persons", "/me", "/nda"):  # not even the pages open before the undertaking
        response = api(clerk).get(path)
        assert response.status_code == 401 and error_code(response) == "unauthenticated", path
        assert set(response.get_json()["error"]) == {"code", "message"}
        assert "second factor" in response.get_json()["error"]["message"]
    refused = api(clerk).post("/persons", json={"names": []})
    assert refused.status_code == 401


@pytest.mark.usefixtures("mfa_required")
def test_the_refused_token_is_logged_with_the_account_it_belongs_to(app, api, staff, runtime):
    clerk, auditor = staff("clerk"), staff("auditor")
    assert api(clerk).get("/persons").status_code == 401
    enrol(signed_in(app, auditor.username))
    events = api(auditor).get("/audit/events?action=auth.token_rejected").get_json()["events"]
    assert [(e["actor"], e["outcome"], e["details"].get("reason")) for e in events] == [
        (clerk.username, "denied", "second_factor_missing")
    ]
    with runtime.sessions() as db:  # the refused call did not count as a use of the token
        assert db.scalar(sa.select(ApiToken.last_used_at).where(ApiToken.user_id == clerk.id)) is None


@pytest.mark.usefixtures("mfa_required")
def test_once_the_account_has_a_second_factor_its_tokens_work(app, api, staff):
    clerk = staff("clerk")
    browser = signed_in(app, clerk.username)
    enrol(browser)
    assert api(clerk).get("/persons").status_code == 200
    made_after = shown_token(create(browser))  # from a session that passed the second factor
    assert ApiClient(app.test_client(), made_after).get("/persons").status_code == 200


def test_without_the_setting_a_token_works_with_or_without_a_second_factor(app, api, staff):
    clerk, lawyer = staff("clerk"), staff("lawyer")
    enrol(signed_in(app, lawyer.username))
    assert api(clerk).get("/persons").status_code == 200
    assert api(lawyer).get("/persons").status_code == 200


@pytest.mark.usefixtures("mfa_required")
def test_a_disabled_account_with_a_second_factor_is_refused_too(app, api, staff, runtime):
    clerk = staff("clerk")
    enrol(signed_in(app, clerk.username))
    with runtime.sessions() as db:  # switched off behind the service's back: its tokens were not revoked
        db.execute(sa.update(User).where(User.id == clerk.id).values(is_active=False))
        db.commit()
    assert error_code(api(clerk).get("/persons")) == "unauthenticated"


def test_a_session_without_the_second_factor_cannot_make_a_token(app, staff, runtime):
    clerk = staff("clerk")
    browser = signed_in(app, clerk.username)  # signed in before the registry started requiring it
    runtime.settings = runtime.settings.with_overrides(require_mfa=True)
    response = create(browser, name="before")
    assert response.status_code == 302 and "/account/two-factor" in response.headers["Location"]
    assert token_names(runtime, clerk.id) == ["test"]


@pytest.mark.usefixtures("mfa_required")
def test_the_command_refuses_a_token_for_an_account_without_a_second_factor(app, staff, runtime, cli):  # noqa: F811
    clerk = staff("clerk")
    refused = cli("users", "token", clerk.username, "--name", "script")
    assert refused.exit_code != 0
    assert "second factor" in refused.output and "REGISTRY_REQUIRE_MFA" in refused.output
    assert "rgt_" not in refused.output and token_names(runtime, clerk.id) == ["test"]

    enrol(signed_in(app, clerk.username))
    made = cli("users", "token", clerk.username, "--name", "script")
    assert made.exit_code == 0, made.output
    token = made.output.strip()
    assert ApiClient(app.test_client(), token).get("/persons").status_code == 200


@pytest.mark.usefixtures("mfa_required")
def test_the_command_refuses_a_token_for_a_disabled_account(app, staff, runtime, cli):  # noqa: F811
    clerk = staff("clerk")
    enrol(signed_in(app, clerk.username))
    with runtime.sessions() as db:
        db.execute(sa.update(User).where(User.id == clerk.id).values(is_active=False))
        db.commit()
    refused = cli("users", "token", clerk.username)
    assert refused.exit_code != 0 and "disabled" in refused.output
    assert token_names(runtime, clerk.id) == ["test"]
