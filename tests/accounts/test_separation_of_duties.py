"""Separation of duties on staff accounts (issue #16, finding 2: an administrator could give itself
personal data).

Nobody changes their own roles; an account never holds admin together with a role that reaches
personal data; a role added on the web waits for a second administrator; a new account's password
is chosen by its owner through a one-time link, so no administrator can sign in as a clerk.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from registry.accounts import service as accounts
from registry.accounts.models import AccountSetupLink, RoleChangeRequest, RoleGrant, User
from registry.accounts.permissions import Role
from registry.audit.models import AuditEvent
from registry.audit.service import SYSTEM
from registry.cli import main
from registry.db import utcnow
from registry.errors import ValidationFailed
from tests.conftest import PASSWORD
from tests.web.browser import Browser, everything, page_error, quick_hashing, signed_in  # noqa: F401 (fixture)

pytestmark = pytest.mark.usefixtures("quick_hashing")

NEW_PASSWORD = "violet lantern orchard 93 quietly"
SETUP_LINK = re.compile(r'<code id="setup-link">([^<]+)</code>')


def roles_of(runtime, user_id: str) -> set[str]:
    with runtime.sessions() as db:
        return set(db.scalars(sa.select(RoleGrant.role).where(RoleGrant.user_id == user_id)))


def events(runtime, action: str) -> list[AuditEvent]:
    with runtime.sessions() as db:
        return list(db.scalars(sa.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)))


def proposals(runtime, user_id: str) -> list[RoleChangeRequest]:
    with runtime.sessions() as db:
        return list(db.scalars(sa.select(RoleChangeRequest).where(RoleChangeRequest.user_id == user_id)))


def without_log(tables: dict[str, list[str]]) -> dict[str, list[str]]:
    """Every table but the access log (a refusal adds its event there) and the sign-in bookkeeping."""
    return {
        t: rows
        for t, rows in tables.items()
        if t not in ("audit_events", "audit_event_persons", "audit_chain_head", "staff_sessions")
    }


def propose(browser: Browser, user_id: str, roles: list[str], reason: str = "Appointed by order 17-K"):
    return browser.post(f"/admin/users/{user_id}", {"roles": roles, "active": "on", "reason": reason})


def pending_id(runtime, user_id: str) -> str:
    (waiting,) = [p for p in proposals(runtime, user_id) if p.status == "pending"]
    return waiting.id


# ---------------------------------------------------------------- nobody changes their own roles


def test_an_administrator_cannot_give_itself_personal_data(app, runtime, staff):
    admin = staff("admin")
    browser = signed_in(app, admin.username)
    before = without_log(everything(runtime))

    response = propose(browser, admin.id, ["admin", "clerk", "lawyer"])

    assert response.status_code == 403 and page_error(response).startswith("forbidden:")
    assert "another administrator" in page_error(response)
    assert without_log(everything(runtime)) == before  # nothing saved, no proposal filed
    assert roles_of(runtime, admin.id) == {"admin"}
    assert browser.get("/persons").status_code == 403
    (denied,) = [e for e in events(runtime, "admin.roles_changed") if e.outcome == "denied"]
    assert denied.actor_id == admin.id and denied.target_id == admin.id
    assert json.loads(denied.details)["refused"] == "own_account"


def test_an_administrator_cannot_disable_itself_nor_propose_for_itself(app, runtime, staff):
    admin = staff("admin")
    browser = signed_in(app, admin.username)
    assert browser.post(f"/admin/users/{admin.id}", {"roles": ["admin"]}).status_code == 403
    assert propose(browser, admin.id, ["admin", "auditor"]).status_code == 403
    assert browser.is_signed_in() and roles_of(runtime, admin.id) == {"admin"}
    assert proposals(runtime, admin.id) == []
    # Saving one's own row unchanged is no change at all.
    assert browser.post(f"/admin/users/{admin.id}", {"roles": ["admin"], "active": "on"}).status_code == 302


# ---------------------------------------------------------------- two administrators grant a role


def test_a_role_added_waits_for_a_second_administrator(app, runtime, staff):
    first, second, newcomer = staff("admin"), staff("admin"), staff()
    proposer, approver = signed_in(app, first.username), signed_in(app, second.username)
    member = signed_in(app, newcomer.username)

    assert propose(proposer, newcomer.id, ["clerk"]).status_code == 302
    assert roles_of(runtime, newcomer.id) == set()
    assert member.get("/persons").status_code == 403
    request_id = pending_id(runtime, newcomer.id)

    # The proposer approving their own proposal is refused, and nothing is granted.
    refused = proposer.post(f"/admin/role-changes/{request_id}/approve")
    assert refused.status_code == 403 and page_error(refused).startswith("forbidden:")
    assert roles_of(runtime, newcomer.id) == set() and proposals(runtime, newcomer.id)[0].status == "pending"

    assert approver.post(f"/admin/role-changes/{request_id}/approve").status_code == 302
    assert roles_of(runtime, newcomer.id) == {"clerk"}
    assert member.get("/persons").status_code == 200
    (decided,) = proposals(runtime, newcomer.id)
    assert (decided.status, decided.proposed_by_id, decided.decided_by_id) == ("approved", first.id, second.id)
    assert decided.reason == "Appointed by order 17-K"
    # A decided proposal cannot be decided again.
    assert approver.post(f"/admin/role-changes/{request_id}/reject").status_code == 409

    proposed = [e for e in events(runtime, "admin.role_change_proposed") if e.target_id == newcomer.id]
    approved = [e for e in events(runtime, "admin.role_change_approved") if e.target_id == newcomer.id]
    assert [(e.actor_id, e.outcome) for e in proposed] == [(first.id, "allowed")]
    assert [(e.actor_id, e.outcome) for e in approved] == [(first.id, "denied"), (second.id, "allowed")]
    assert proposed[0].reason == "Appointed by order 17-K"
    assert json.loads(approved[1].details)["after"] == ["clerk"]


def test_the_account_itself_never_decides_on_its_roles(app, runtime, staff):
    first, second, newcomer = staff("admin"), staff("admin"), staff()
    assert propose(signed_in(app, first.username), newcomer.id, ["admin"]).status_code == 302
    request_id = pending_id(runtime, newcomer.id)
    with runtime.sessions() as db:  # meanwhile the operator made the account an administrator too
        db.add(RoleGrant(user_id=newcomer.id, role="admin"))
        db.commit()
    target = signed_in(app, newcomer.username)
    for decision in ("approve", "reject"):
        response = target.post(f"/admin/role-changes/{request_id}/{decision}")
        assert response.status_code == 403, decision
    assert proposals(runtime, newcomer.id)[0].status == "pending"
    assert signed_in(app, second.username).post(f"/admin/role-changes/{request_id}/reject").status_code == 302
    assert proposals(runtime, newcomer.id)[0].status == "rejected"
    assert [e.actor_id for e in events(runtime, "admin.role_change_rejected") if e.outcome == "allowed"] == [second.id]


def test_taking_roles_away_and_disabling_need_one_administrator(app, runtime, staff, api):
    admin, clerk = staff("admin"), staff("clerk", "lawyer")
    browser = signed_in(app, admin.username)
    assert browser.post(f"/admin/users/{clerk.id}", {"roles": ["lawyer"], "active": "on"}).status_code == 302
    assert roles_of(runtime, clerk.id) == {"lawyer"}
    # A form refused (a role added with no reason) keeps none of its changes, the removal neither.
    refused = browser.post(f"/admin/users/{clerk.id}", {"roles": ["caseworker"], "active": "on"})
    assert refused.status_code == 422 and "Say why" in refused.get_data(as_text=True)
    assert roles_of(runtime, clerk.id) == {"lawyer"}
    assert browser.post(f"/admin/users/{clerk.id}", {"roles": ["lawyer"]}).status_code == 302
    assert api(clerk).get("/me").status_code == 401
    assert proposals(runtime, clerk.id) == []


def test_a_proposer_may_withdraw_and_only_one_proposal_waits_per_account(app, runtime, staff):
    admin, newcomer = staff("admin"), staff()
    browser = signed_in(app, admin.username)
    assert propose(browser, newcomer.id, ["lawyer"]).status_code == 302
    second = propose(browser, newcomer.id, ["lawyer", "caseworker"])
    assert second.status_code == 409 and len(proposals(runtime, newcomer.id)) == 1
    assert propose(browser, newcomer.id, ["caseworker"], reason="  ").status_code == 422  # a reason is needed
    assert browser.post(f"/admin/role-changes/{pending_id(runtime, newcomer.id)}/reject").status_code == 302
    assert roles_of(runtime, newcomer.id) == set() and proposals(runtime, newcomer.id)[0].status == "rejected"


# ---------------------------------------------------------------- never admin with a personal-data role


def test_admin_and_a_personal_data_role_are_refused_on_every_path(
    app, runtime, staff, tmp_path, database_url, storage_url, monkeypatch
):
    first, second, clerk, newcomer = staff("admin"), staff("admin"), staff("clerk"), staff()
    browser = signed_in(app, first.username)
    before = without_log(everything(runtime))

    # The web: a new account, and an existing one.
    created = browser.post(
        "/admin/users",
        {"username": "both-hats", "full_name": "Both Hats", "roles": ["admin", "clerk"], "reason": "Short of staff"},
    )
    assert created.status_code == 422 and "two separate accounts" in created.get_data(as_text=True)
    updated = propose(browser, clerk.id, ["clerk", "admin"])
    assert updated.status_code == 422
    assert without_log(everything(runtime)) == before
    denied = [e for e in events(runtime, "admin.roles_changed") if e.outcome == "denied"]
    assert [json.loads(e.details)["refused"] for e in denied] == ["admin_with_personal_data_role"] * 2

    # The service (the operator's bootstrap, the demo, the tests' own staff).
    with runtime.sessions() as db, pytest.raises(ValidationFailed):
        accounts.create_user(
            db, SYSTEM, username="both-hats", full_name="Both Hats", password=PASSWORD, roles={Role.ADMIN, Role.AUDITOR}
        )

    # An approval re-checks: the account became an administrator after the proposal was filed.
    assert propose(browser, newcomer.id, ["auditor"]).status_code == 302
    with runtime.sessions() as db:
        db.add(RoleGrant(user_id=newcomer.id, role="admin"))
        db.commit()
    approval = signed_in(app, second.username).post(f"/admin/role-changes/{pending_id(runtime, newcomer.id)}/approve")
    assert approval.status_code == 422 and roles_of(runtime, newcomer.id) == {"admin"}

    # The command line.
    for name, value in {
        "REGISTRY_DATABASE_URL": database_url,
        "REGISTRY_STORAGE_URL": storage_url,
        "REGISTRY_INSTANCE_PATH": str(tmp_path / "instance"),
    }.items():
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(
        main,
        [
            "users",
            "create",
            "both-hats",
            "--role",
            "admin",
            "--role",
            "clerk",
            "--full-name",
            "Both Hats",
            "--password",
            NEW_PASSWORD,
        ],
    )
    assert result.exit_code != 0 and "two separate accounts" in result.output
    with runtime.sessions() as db:
        assert db.scalar(sa.select(User).where(User.username == "both-hats")) is None


# ---------------------------------------------------------------- auditors see the proposals


def test_auditors_see_every_proposal_and_decision(app, runtime, staff):
    first, second, newcomer, auditor, clerk = staff("admin"), staff("admin"), staff(), staff("auditor"), staff("clerk")
    assert (
        propose(signed_in(app, first.username), newcomer.id, ["caseworker"], "Psychologist, case 4").status_code == 302
    )
    signed_in(app, second.username).post(f"/admin/role-changes/{pending_id(runtime, newcomer.id)}/approve")
    assert propose(signed_in(app, first.username), clerk.id, ["clerk", "lawyer"], "Court duty").status_code == 302

    page = signed_in(app, auditor.username).get("/audit/role-changes")

    text = page.get_data(as_text=True)
    assert page.status_code == 200
    for expected in (
        newcomer.username,
        clerk.username,
        first.username,
        second.username,
        "Psychologist, case 4",
        "Court duty",
        "caseworker",
        "lawyer",
        "approved",
        "waiting",
    ):
        assert expected in text, expected
    assert "/approve" not in text and "/reject" not in text  # auditors read, they do not decide
    assert signed_in(app, clerk.username).get("/audit/role-changes").status_code == 403
    admin_page = signed_in(app, second.username).get("/audit/role-changes").get_data(as_text=True)
    assert f"/admin/role-changes/{pending_id(runtime, clerk.id)}/approve" in admin_page


# ---------------------------------------------------------------- the one-time set-up link


def create_account(browser: Browser, username: str, roles: list[str]) -> str:
    """Create the account on the staff page; returns the set-up link's path and query, as shown once."""
    response = browser.post(
        "/admin/users",
        {"username": username, "full_name": "Dana Newcomer", "roles": roles, "reason": "New registry clerk, order 5"},
    )
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    (link,) = SETUP_LINK.findall(response.get_data(as_text=True))
    parts = urlsplit(link.replace("&amp;", "&"))
    return f"{parts.path}?{parts.query}"


def set_up(link: str, password: str = NEW_PASSWORD, repeated: str | None = None, app=None, browser=None):
    browser = browser or Browser(app, ip="203.0.113.40")
    page = browser.get(link)
    token = dict(p.split("=", 1) for p in link.split("?", 1)[1].split("&"))["token"]
    return page, browser.post(
        "/account/setup",
        {"token": token, "new_password": password, "repeat_password": password if repeated is None else repeated},
    )


def test_a_new_account_is_set_up_by_its_owner_once(app, runtime, staff):
    admin = staff("admin")
    creator = signed_in(app, admin.username)
    link = create_account(creator, "dana", ["clerk"])
    with runtime.sessions() as db:
        user = db.scalar(sa.select(User).where(User.username == "dana"))
    # No roles until a second administrator approves; the roles wait as a proposal.
    assert roles_of(runtime, user.id) == set()
    assert [p.proposed_roles for p in proposals(runtime, user.id)] == [frozenset({Role.CLERK})]
    # The creator knows no password of the account: theirs, or anything else, does not open it.
    assert Browser(app).login("dana", PASSWORD).status_code == 401
    # Only the token's hash is stored.
    token = link.split("token=", 1)[1]
    assert token not in repr(everything(runtime))

    owner = Browser(app, ip="203.0.113.40")
    page, weak = set_up(link, "password1234", browser=owner)
    assert page.status_code == 200 and "dana" in page.get_data(as_text=True)
    assert weak.status_code == 422 and 'id="e-new_password"' in weak.get_data(as_text=True)
    _page, different = set_up(link, NEW_PASSWORD, repeated=NEW_PASSWORD + "x", browser=owner)
    assert different.status_code == 422
    _page, done = set_up(link, browser=owner)
    assert done.status_code == 302 and urlsplit(done.headers["Location"]).path == "/login"
    assert Browser(app).login("dana", NEW_PASSWORD).status_code == 302

    # Used up: the link answers exactly as a link that never existed.
    unknown = "/account/setup?token=" + "A" * 43
    assert page_error(Browser(app).get(link)) == page_error(Browser(app).get(unknown))
    _page, again = set_up(unknown, "another long passphrase 77", app=app)
    assert _page.status_code == 404
    reused = Browser(app).post(
        "/account/setup",
        {"token": token, "new_password": "another long passphrase 77", "repeat_password": "another long passphrase 77"},
    )
    assert reused.status_code == 404 and page_error(reused) == page_error(again)
    assert Browser(app).login("dana", NEW_PASSWORD).status_code == 302

    issued = [e for e in events(runtime, "admin.account_setup_issued") if e.target_id == user.id]
    set_up_events = [e for e in events(runtime, "auth.account_set_up") if e.target_id == user.id]
    assert [(e.actor_id, e.outcome) for e in issued] == [(admin.id, "allowed")]
    assert [(e.actor_id, e.outcome) for e in set_up_events][0] == (user.id, "allowed")
    assert ("denied", "used") in [(e.outcome, json.loads(e.details).get("refused")) for e in set_up_events]
    # Once set up, no administrator can make a new link for the account (it would set a new password).
    assert creator.post(f"/admin/users/{user.id}/setup-link").status_code == 409


def test_a_set_up_link_expires_and_a_new_one_replaces_it(app, runtime, staff):
    admin = staff("admin")
    creator = signed_in(app, admin.username)
    first = create_account(creator, "dana", [])
    with runtime.sessions() as db:
        user_id = db.scalar(sa.select(User.id).where(User.username == "dana"))
        db.execute(sa.update(AccountSetupLink).values(expires_at=utcnow() - timedelta(minutes=1)))
        db.commit()
    _page, expired = set_up(first, app=app)
    assert expired.status_code == 404 and Browser(app).login("dana", NEW_PASSWORD).status_code == 401

    renewed = creator.post(f"/admin/users/{user_id}/setup-link")
    assert renewed.status_code == 200
    (second,) = SETUP_LINK.findall(renewed.get_data(as_text=True))
    second = second.replace("&amp;", "&")
    with runtime.sessions() as db:  # the first link would have expired anyway: make it current again
        db.execute(
            sa.update(AccountSetupLink)
            .where(AccountSetupLink.used_at.is_(None))
            .values(expires_at=utcnow() + timedelta(hours=1))
        )
        db.commit()
    _page, replaced = set_up(first, app=app)
    assert replaced.status_code == 404  # a newer link replaced it
    parts = urlsplit(second)
    _page, done = set_up(f"{parts.path}?{parts.query}", app=app)
    assert done.status_code == 302 and Browser(app).login("dana", NEW_PASSWORD).status_code == 302


def test_the_set_up_page_without_a_link_only_explains(app):
    page = Browser(app).get("/account/setup")
    assert page.status_code == 200 and 'name="new_password"' not in page.get_data(as_text=True)
