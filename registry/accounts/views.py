"""Sign-in, second factor, the NDA page, the user's own account, and staff administration."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import segno
from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_login import current_user, login_user, logout_user
from markupsafe import Markup

from registry.accounts import (
    duties,
    service,
    signin,  # noqa: F401  (registers the flask-login loader)
)
from registry.accounts.models import User
from registry.accounts.permissions import Permission, Role
from registry.accounts.schemas import NdaSignature
from registry.api.schema import form_fields, parse
from registry.errors import Conflict, RegistryError, TooManyAttempts, Unauthenticated, ValidationFailed
from registry.i18n import LOCALES, _
from registry.runtime import current_runtime, db
from registry.web.errors import refused
from registry.web.forms import render_form
from registry.web.labels import label
from registry.web.policy import current_actor, public, requires, safe_next, signed_in_before_gates

bp = Blueprint("accounts", __name__, template_folder="templates")


def _throttle_policy() -> service.ThrottlePolicy:
    s = current_runtime().settings
    return service.ThrottlePolicy(
        s.login_max_failures_per_account, s.login_max_failures_per_ip, timedelta(minutes=s.login_failure_window_minutes)
    )


@bp.route("/login", methods=["GET", "POST"])
@public
def login() -> ResponseReturnValue:
    if request.method != "POST":  # GET and HEAD only show the form; CSRF checks POST alone
        return render_form("accounts/login.html", next=request.args.get("next", ""))
    form = request.form
    runtime = current_runtime()
    try:
        user, mfa_passed = service.authenticate(
            db(),
            current_actor(),
            form.get("username", ""),
            form.get("password", ""),
            form.get("code"),
            _throttle_policy(),
            runtime.keyring,
        )
    except (Unauthenticated, TooManyAttempts) as refusal:
        return _refused_login(refusal)
    previous = current_user.staff_session if current_user.is_authenticated else None
    language = session.get("locale")
    session.clear()  # a new session id at every sign-in: nothing from before survives but the language chosen
    if language:
        session["locale"] = language
    token, staff_session = service.open_session(db(), current_actor(), user, mfa_passed=mfa_passed, replacing=previous)
    login_user(signin.SignedInUser(token, staff_session))
    return redirect(safe_next(form.get("next")) or url_for("web.index"))


def _refused_login(refusal: RegistryError) -> ResponseReturnValue:
    """The form again, with the same words whatever was wrong, so a clerk can simply retry."""
    return refused(
        refusal,
        lambda failed: render_form(
            "accounts/login.html",
            status=failed.http_status,
            errors={"form": failed.message},
            next=request.form.get("next", ""),
        ),
    )


@bp.post("/logout")
@signed_in_before_gates
def logout() -> ResponseReturnValue:
    service.end_session(db(), current_actor(), current_user.staff_session)
    logout_user()
    session.clear()
    flash(_("You have signed out."), "info")
    return redirect(url_for("accounts.login"))


@bp.route("/account/two-factor", methods=["GET", "POST"])
@signed_in_before_gates
def enrol_two_factor() -> ResponseReturnValue:
    user = current_actor().user
    key = current_runtime().keyring
    secret = service.open_pending_totp(user, session.get("totp_pending"), key) or service.new_totp_secret()
    session["totp_pending"] = service.seal_pending_totp(user, secret, key)
    qr = Markup(segno.make(service.totp_uri(user, secret)).svg_inline(scale=4, omitsize=True))
    if request.method != "POST":
        return render_form("accounts/two_factor.html", qr=qr, secret=secret)
    try:
        service.enrol_totp(
            db(),
            current_actor(),
            user,
            secret,
            request.form.get("code", ""),
            key,
            password=request.form.get("current_password", ""),
            policy=_throttle_policy(),
            keep_session=current_user.staff_session,
        )
    except ValidationFailed as error:
        return render_form("accounts/two_factor.html", error, qr=qr, secret=secret)
    session.pop("totp_pending", None)
    flash(_("The second factor is set up. Other sessions of yours were signed out."), "info")
    return redirect(safe_next(request.args.get("next")) or url_for("accounts.my_account"))


@bp.route("/nda", methods=["GET", "POST"])
@signed_in_before_gates
def nda() -> ResponseReturnValue:
    """The undertaking in the reader's language (or another they choose); they sign the text they read."""
    actor = current_actor()
    current = service.current_nda(db())
    if current is None:
        return render_template("accounts/nda.html", nda=None, signed=False)
    signed = service.has_signed_current(db(), actor.user)
    texts = service.nda_texts(current)
    language = request.values.get("language") or str(get_locale())
    shown = texts.get(language) or texts["en"]
    page = {"nda": current, "texts": texts, "shown": shown, "spellings": actor.user.spellings}
    if request.method != "POST":
        return render_form("accounts/nda.html", signed=signed, next=request.args.get("next", ""), **page)
    try:
        signature = parse(NdaSignature, form_fields(NdaSignature, request.form))
        service.acknowledge_nda(db(), actor, actor.user, **signature.model_dump(mode="json"))
    except ValidationFailed as error:
        return render_form("accounts/nda.html", error, signed=False, next=request.form.get("next", ""), **page)
    flash(_("Thank you. Your signature is recorded."), "info")
    return redirect(safe_next(request.form.get("next")) or url_for("web.index"))


def _whole_number(text: str) -> int:
    """A number typed into a form; anything else is 0, which the service refuses in words."""
    try:
        return int(text)
    except ValueError:
        return 0


@bp.get("/account")
@signed_in_before_gates
def my_account() -> ResponseReturnValue:
    user = current_actor().user
    return render_form("accounts/account.html", user=user, tokens=service.list_tokens(db(), user), new_token=None)


@bp.post("/account/password")
@signed_in_before_gates
def change_password() -> ResponseReturnValue:
    user = current_actor().user
    try:
        service.change_password(
            db(),
            current_actor(),
            user,
            request.form.get("current_password", ""),
            request.form.get("new_password", ""),
            _throttle_policy(),
            keep_session=current_user.staff_session,
        )
    except ValidationFailed as error:
        return render_form(
            "accounts/account.html", error, user=user, tokens=service.list_tokens(db(), user), new_token=None
        )
    flash(_("Your password is changed. Your other sessions and API tokens were ended."), "info")
    return redirect(url_for("accounts.my_account"))


@bp.post("/account/tokens")
@signed_in_before_gates
def create_token() -> ResponseReturnValue:
    user = current_actor().user
    days = _whole_number(request.form.get("days", "90") or "90")
    try:
        token = service.create_api_token(db(), current_actor(), user, name=request.form.get("name", ""), days=days)
    except ValidationFailed as error:
        return render_form(
            "accounts/account.html", error, user=user, tokens=service.list_tokens(db(), user), new_token=None
        )
    # Shown once, in this answer only: never kept in the session cookie, which is signed but readable.
    return render_form(
        "accounts/account.html", user=user, tokens=service.list_tokens(db(), user), new_token=token, values={}
    )


@bp.post("/account/tokens/<token_id>/revoke")
@signed_in_before_gates
def revoke_token(token_id: str) -> ResponseReturnValue:
    actor = current_actor()
    assert actor.user is not None  # the route is for signed-in staff
    service.revoke_token(db(), actor, actor.user, token_id)
    flash(_("The token is revoked."), "info")
    return redirect(url_for("accounts.my_account"))


# ---------------------------------------------------------------- administration


def _staff_page(
    error: RegistryError | None = None, *, setup: tuple[User, str] | None = None, **context: Any
) -> ResponseReturnValue:
    """The staff page; ``setup`` is an account and its set-up link, shown in this answer only."""
    setup_link = url_for("accounts.account_setup", token=setup[1], _external=True) if setup else None
    context.setdefault("chosen", [])  # the roles ticked in the new-account form when it is shown again
    return render_form(
        "accounts/admin_users.html",
        error,
        **context,
        users=service.list_users(db()),
        roles=list(Role),
        pending=duties.pending_by_user(db()),
        awaiting=duties.awaiting_setup(db()),
        me=current_actor().user_id,
        setup_user=setup[0] if setup else None,
        setup_link=setup_link,
        lifetime_hours=int(duties.SETUP_LINK_LIFETIME.total_seconds() // 3600),
    )


@bp.get("/admin/users")
@requires(Permission.USER_MANAGE)
def admin_users() -> ResponseReturnValue:
    return _staff_page()


@bp.post("/admin/users")
@requires(Permission.USER_MANAGE)
def admin_create_user() -> ResponseReturnValue:
    form = request.form
    try:
        user, token, proposal = duties.create_account(
            db(),
            current_actor(),
            username=form.get("username", ""),
            full_name=form.get("full_name", ""),
            roles=service.parse_roles(form.getlist("roles")),
            reason=form.get("reason", ""),
        )
        service.set_other_spellings(db(), current_actor(), user, form.get("other_spellings", ""))
    except (ValidationFailed, Conflict) as error:
        return _staff_page(error, chosen=form.getlist("roles"))
    if proposal is not None:
        flash(
            _("The account is created without roles; the roles you chose wait for another administrator's approval."),
            "info",
        )
    # Shown once, in this answer only: never kept in the session cookie, which is signed but readable.
    return _staff_page(setup=(user, token))


@bp.post("/admin/users/<user_id>")
@requires(Permission.USER_MANAGE)
def admin_update_user(user_id: str) -> ResponseReturnValue:
    user = service.get_user(db(), user_id)
    try:
        proposal = duties.update_account(
            db(),
            current_actor(),
            user,
            roles=service.parse_roles(request.form.getlist("roles")),
            active=request.form.get("active") == "on",
            reason=request.form.get("reason", ""),
        )
        if "other_spellings" in request.form:
            service.set_other_spellings(db(), current_actor(), user, request.form["other_spellings"])
    except (ValidationFailed, Conflict) as error:  # shown above the table: the new-account form stays empty
        return _staff_page(error, errors={"form": f"{user.username}: {error.message}"}, values={})
    if proposal is not None:
        flash(_("Saved. The added roles wait for another administrator's approval."), "info")
    else:
        flash(_("Saved. The change applies from the user's next click."), "info")
    return redirect(url_for("accounts.admin_users"))


@bp.post("/admin/users/<user_id>/setup-link")
@requires(Permission.USER_MANAGE)
def admin_new_setup_link(user_id: str) -> ResponseReturnValue:
    user = service.get_user(db(), user_id)
    token = duties.reissue_setup_link(db(), current_actor(), user)
    return _staff_page(setup=(user, token))


@bp.get("/audit/role-changes")
@requires(Permission.ROLE_CHANGE_READ)
def role_changes() -> ResponseReturnValue:
    """Every role proposal and its decision: auditors check them, administrators decide from here."""
    return render_form(
        "accounts/role_changes.html",
        proposals=duties.list_role_changes(db()),
        can_decide=current_actor().can(Permission.USER_MANAGE),
        me=current_actor().user_id,
    )


@bp.post("/admin/role-changes/<request_id>/approve")
@requires(Permission.USER_MANAGE)
def approve_role_change(request_id: str) -> ResponseReturnValue:
    proposal = duties.approve_role_change(db(), current_actor(), request_id)
    flash(
        _(
            "Approved: %(name)s now has the roles %(roles)s.",
            name=proposal.user.username,
            roles=", ".join(sorted(label(r, "staff_role") for r in proposal.proposed_roles)),
        ),
        "info",
    )
    return redirect(url_for("accounts.role_changes"))


@bp.post("/admin/role-changes/<request_id>/reject")
@requires(Permission.USER_MANAGE)
def reject_role_change(request_id: str) -> ResponseReturnValue:
    duties.reject_role_change(db(), current_actor(), request_id)
    flash(_("Rejected: no role was granted."), "info")
    return redirect(url_for("accounts.role_changes"))


# ---------------------------------------------------------------- a new staff member's own set-up


@bp.route("/account/setup", methods=["GET", "POST"])
@public
def account_setup() -> ResponseReturnValue:
    """The one-time link a new staff member got from their administrator: they choose their password.

    The token travels in the query string and the form, never in the path, which servers write to their logs.
    """
    if request.method != "POST":
        token = request.args.get("token", "")
        user = duties.setup_account_for(db(), token) if token else None
        return render_form("accounts/setup.html", user=user, token=token)
    token = request.form.get("token", "")
    try:
        user = duties.complete_setup(
            db(),
            current_actor(),
            token,
            password=request.form.get("new_password", ""),
            repeated=request.form.get("repeat_password", ""),
        )
    except ValidationFailed as error:
        return render_form("accounts/setup.html", error, user=duties.setup_account_for(db(), token), token=token)
    flash(_("Your password is set, %(name)s. Sign in with it now.", name=user.username), "info")
    return redirect(url_for("accounts.login"))


@bp.get("/admin/nda")
@requires(Permission.NDA_MANAGE)
def admin_nda() -> ResponseReturnValue:
    return render_form(
        "accounts/admin_nda.html", versions=service.list_nda_versions(db()), signatures=service.nda_signatures(db())
    )


@bp.post("/admin/nda")
@requires(Permission.NDA_MANAGE)
def admin_publish_nda() -> ResponseReturnValue:
    form = request.form
    translations = {
        lang: (form.get(f"title_{lang}", ""), form.get(f"text_{lang}", ""))
        for lang in LOCALES
        if lang != "en" and (form.get(f"title_{lang}") or form.get(f"text_{lang}"))
    }
    try:
        service.publish_nda(
            db(), current_actor(), title=form.get("title", ""), text=form.get("text", ""), translations=translations
        )
    except ValidationFailed as error:
        return render_form(
            "accounts/admin_nda.html",
            error,
            versions=service.list_nda_versions(db()),
            signatures=service.nda_signatures(db()),
        )
    flash(_("The new version is published. Everyone must sign it before their next access."), "info")
    return redirect(url_for("accounts.admin_nda"))
