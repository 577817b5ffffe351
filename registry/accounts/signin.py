"""The bridge between flask-login and server-side staff sessions.

When a session has ended by time, the first request that still carries it says so in plain words on the
sign-in page, and a form it was sending is kept for its owner (``drafts``) instead of being lost.
"""

from __future__ import annotations

from datetime import timedelta

from flask import flash, request, session
from flask_login import UserMixin

from registry.accounts import drafts, service
from registry.accounts.models import StaffSession, User
from registry.extensions import login_manager
from registry.i18n import _
from registry.runtime import current_runtime, db
from registry.web.policy import rule_for


class SignedInUser(UserMixin):
    """flask-login keeps only the session secret in the cookie; everything else is in the database."""

    def __init__(self, token: str, staff_session: StaffSession):
        self.token = token
        self.staff_session = staff_session

    @property
    def user(self) -> User:
        return self.staff_session.user

    def get_id(self) -> str:
        return self.token


@login_manager.user_loader
def load_signed_in_user(token: str) -> SignedInUser | None:
    settings = current_runtime().settings
    idle, absolute = timedelta(minutes=settings.session_idle_minutes), timedelta(hours=settings.session_absolute_hours)
    row = service.load_session(db(), token, idle=idle, absolute=absolute)
    if row is not None:
        return SignedInUser(token, row)
    ended = service.session_by_token(db(), token)
    session.pop("_user_id", None)  # said once: later requests are simply not signed in
    if ended is not None and ended.user.is_active and drafts.timed_out(ended, idle=idle, absolute=absolute):
        _say_session_ended(ended, settings.session_idle_minutes, settings.secret_key)
    return None


def _say_session_ended(ended: StaffSession, minutes: int, secret_key: str) -> None:
    rule = rule_for(request.endpoint)
    kept = (
        request.method == "POST"
        and rule is not None
        and rule.permission is not None
        and drafts.keep(db(), ended.user_id, request.path, list(request.form.items(multi=True)), secret_key)
    )
    if kept:
        flash(
            _(
                "Your session ended after %(m)d minutes without activity. What you typed is kept: sign in again "
                "and the form opens filled in, ready to save.",
                m=minutes,
            ),
            "warning",
        )
    else:
        flash(
            _("Your session ended after %(m)d minutes without activity. Sign in again to go on.", m=minutes), "warning"
        )
