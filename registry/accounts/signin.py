"""The bridge between flask-login and server-side staff sessions."""
from __future__ import annotations

from datetime import timedelta

from flask_login import UserMixin

from registry.accounts import service
from registry.accounts.models import StaffSession, User
from registry.extensions import login_manager
from registry.runtime import current_runtime, db


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
    row = service.load_session(db(), token, idle=timedelta(minutes=settings.session_idle_minutes),
                               absolute=timedelta(hours=settings.session_absolute_hours))
    return SignedInUser(token, row) if row is not None else None
