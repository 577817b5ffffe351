"""A named member of staff acting from the command line (an import, a disposal proposal): the access log names
them, so they must be able to act as they could on a page."""

from __future__ import annotations

import click
from sqlalchemy.orm import Session

from registry.accounts import service as accounts
from registry.accounts.actor import Actor
from registry.accounts.permissions import Permission


def staff_acting(db: Session, username: str, permission: Permission, may_not: str) -> Actor:
    """``username`` as an actor: active, holding ``permission``, the current undertaking signed; else the command
    stops with the reason (``may_not`` says what they may not do)."""
    user = accounts.user_by_name(db, username)
    actor = Actor(user, user_agent="registry-cli", via="cli")
    if not user.is_active:
        raise click.ClickException(f"{username} is deactivated")
    if not actor.can(permission):
        raise click.ClickException(f"{username} {may_not} (the {permission.value} permission is missing)")
    if not accounts.has_signed_current(db, user):
        raise click.ClickException(f"{username} has not signed the current non-disclosure undertaking")
    return actor
