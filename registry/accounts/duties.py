"""Separation of duties on staff accounts: roles granted by two administrators, passwords chosen by their owner.

One administrator proposes roles for an account and another approves them (never the proposer, never
the account itself); taking roles away or disabling an account reduces access and needs one person.
A new account gets no password an administrator knows: a one-time set-up link, kept only as a hash,
lets its owner choose one. Rules only: no ``request`` here.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from registry.accounts.actor import Actor
from registry.accounts.models import AccountSetupLink, RoleChangeRequest, RoleChangeStatus, RoleGrant, User
from registry.accounts.passwords import hash_password, password_problem
from registry.accounts.permissions import Role
from registry.accounts.service import (
    acting_as,
    check_combination,
    digest,
    new_user,
    refuse_own_account,
    refuse_own_proposal,
    revoke_all_sessions,
    revoke_all_tokens,
    set_active,
)
from registry.audit.events import Action
from registry.audit.service import record
from registry.db import rows_changed, utcnow
from registry.errors import AuditNote, Conflict, NotFound, validation
from registry.i18n import _

SETUP_LINK_LIFETIME = timedelta(hours=72)
REASON_MAX = 500


def _values(roles: set[Role] | frozenset[Role]) -> list[str]:
    return sorted(r.value for r in roles)


def _locked(db: Session, user: User) -> User:
    """The account re-read under a row lock: role changes of one account happen one at a time, so two
    approvals racing cannot together give it admin and a personal-data role."""
    db.refresh(user, with_for_update=True)
    return user


def _reason(reason: str) -> str:
    reason = " ".join(reason.split())
    if not reason:
        raise validation(
            reason=str(
                _(
                    "Say why these roles are needed (for example the order that appoints "
                    "the person); the approving administrator reads it."
                )
            )
        )
    return reason[:REASON_MAX]


# ---------------------------------------------------------------- accounts made on the web


def create_account(
    db: Session, who: Actor, *, username: str, full_name: str, roles: set[Role], reason: str
) -> tuple[User, str, RoleChangeRequest | None]:
    """A new account with no roles and no password anyone knows; the roles asked for become a proposal.

    Returns the account, its set-up link token (shown once, to hand over) and the proposal.
    """
    if roles:
        check_combination(roles, username=username.strip().lower())
        reason = _reason(reason)
    unknowable = hash_password(secrets.token_urlsafe(32))  # until its owner sets one through the link
    user = new_user(db, who, username=username, full_name=full_name, password_hash=unknowable, roles=set())
    token = issue_setup_link(db, who, user)
    proposal = propose_roles(db, who, user, roles, reason) if roles else None
    return user, token, proposal


def update_account(
    db: Session, who: Actor, user: User, *, roles: set[Role], active: bool, reason: str
) -> RoleChangeRequest | None:
    """Roles taken away and the account disabled or enabled at once; roles added are proposed."""
    _locked(db, user)
    if roles != user.roles or active != user.is_active:
        refuse_own_account(who, user, Action.ROLES_CHANGED, roles=_values(roles), active=active)
    check_combination(roles, user_id=user.id, username=user.username)
    added, removed = roles - user.roles, user.roles - roles
    if added:  # checked before anything changes, so a refused form never shows a half-made change
        reason = _reason(reason)
        _refuse_second_proposal(db, user)
    proposal = None
    if removed:
        before = _values(user.roles)
        user.role_grants = [g for g in user.role_grants if Role(g.role) not in removed]
        db.flush()
        record(
            db,
            who,
            Action.ROLES_CHANGED,
            target_type="user",
            target_id=user.id,
            details={"before": before, "after": _values(user.roles)},
        )
    if added:
        proposal = propose_roles(db, who, user, added, reason)
    if active != user.is_active:
        set_active(db, who, user, active)
    return proposal


# ---------------------------------------------------------------- proposals and decisions


def propose_roles(db: Session, who: Actor, user: User, roles: set[Role], reason: str) -> RoleChangeRequest:
    """File a proposal to add ``roles``; nothing is granted until another administrator approves."""
    _locked(db, user)
    refuse_own_account(who, user, Action.ROLE_CHANGE_PROPOSED, roles=_values(roles))
    adding = roles - user.roles
    if not adding:
        raise validation(roles=str(_("Choose a role the account does not have yet.")))
    check_combination(user.roles | adding, user_id=user.id, username=user.username)
    reason = _reason(reason)
    _refuse_second_proposal(db, user)
    proposal = RoleChangeRequest(
        user_id=user.id,
        roles=",".join(_values(adding)),
        reason=reason,
        proposed_by_id=who.user_id,
        status=RoleChangeStatus.PENDING,
    )
    db.add(proposal)
    db.flush()
    record(
        db,
        who,
        Action.ROLE_CHANGE_PROPOSED,
        target_type="user",
        target_id=user.id,
        reason=reason,
        details={"request": proposal.id, "roles": _values(adding)},
    )
    return proposal


def _refuse_second_proposal(db: Session, user: User) -> None:
    """One proposal waits per account: the approver decides on one clear change, not on a pile."""
    if db.scalar(
        sa.select(RoleChangeRequest.id).where(
            RoleChangeRequest.user_id == user.id, RoleChangeRequest.status == RoleChangeStatus.PENDING
        )
    ):
        raise Conflict(
            str(
                _(
                    "A role proposal for %(name)s is waiting already: have it approved or rejected first.",
                    name=user.username,
                )
            )
        )


def _pending(db: Session, request_id: str) -> RoleChangeRequest:
    proposal = db.get(RoleChangeRequest, request_id)
    if proposal is None:
        raise NotFound(str(_("No such role proposal.")))
    if proposal.status != RoleChangeStatus.PENDING:
        raise Conflict(str(_("This proposal has been decided already.")))
    return proposal


def _decide(db: Session, who: Actor, proposal: RoleChangeRequest, status: RoleChangeStatus) -> None:
    """Claim the decision in one conditional UPDATE: of two administrators deciding at once, one wins."""
    now = utcnow()
    claimed = rows_changed(
        db,
        sa.update(RoleChangeRequest)
        .where(RoleChangeRequest.id == proposal.id, RoleChangeRequest.status == RoleChangeStatus.PENDING)
        .values(status=status, decided_by_id=who.user_id, decided_at=now)
        .execution_options(synchronize_session=False),
    )
    if claimed != 1:
        raise Conflict(str(_("This proposal has been decided already.")))
    db.refresh(proposal)


def approve_role_change(db: Session, who: Actor, request_id: str) -> RoleChangeRequest:
    """The second administrator grants the proposed roles."""
    proposal = _pending(db, request_id)
    note = {"request": proposal.id, "roles": _values(proposal.proposed_roles)}
    refuse_own_proposal(
        who,
        proposal.proposed_by_id,
        str(_("You proposed this change: another administrator must approve it.")),
        AuditNote(
            Action.ROLE_CHANGE_APPROVED,
            target_type="user",
            target_id=proposal.user_id,
            details={**note, "refused": "own_proposal"},
        ),
    )
    user = _locked(db, proposal.user)
    refuse_own_account(who, user, Action.ROLE_CHANGE_APPROVED, **note)
    before = user.roles
    check_combination(before | proposal.proposed_roles, user_id=user.id, username=user.username)
    _decide(db, who, proposal, RoleChangeStatus.APPROVED)
    user.role_grants.extend(RoleGrant(role=r.value) for r in sorted(proposal.proposed_roles - before))
    db.flush()
    record(
        db,
        who,
        Action.ROLE_CHANGE_APPROVED,
        target_type="user",
        target_id=user.id,
        details={
            **note,
            "proposed_by": proposal.proposed_by.username,
            "before": _values(before),
            "after": _values(user.roles),
        },
    )
    return proposal


def reject_role_change(db: Session, who: Actor, request_id: str) -> RoleChangeRequest:
    """Another administrator turns the proposal down, or its proposer withdraws it; nothing is granted."""
    proposal = _pending(db, request_id)
    refuse_own_account(who, proposal.user, Action.ROLE_CHANGE_REJECTED, request=proposal.id)
    _decide(db, who, proposal, RoleChangeStatus.REJECTED)
    record(
        db,
        who,
        Action.ROLE_CHANGE_REJECTED,
        target_type="user",
        target_id=proposal.user_id,
        details={
            "request": proposal.id,
            "roles": _values(proposal.proposed_roles),
            "proposed_by": proposal.proposed_by.username,
        },
    )
    return proposal


def list_role_changes(db: Session, *, limit: int = 300) -> list[RoleChangeRequest]:
    """Waiting proposals first, then the latest decisions."""
    waiting = RoleChangeRequest.status == RoleChangeStatus.PENDING
    return list(
        db.scalars(
            sa.select(RoleChangeRequest)
            .order_by(sa.case((waiting, 0), else_=1), RoleChangeRequest.proposed_at.desc())
            .limit(limit)
        )
    )


def pending_by_user(db: Session) -> dict[str, RoleChangeRequest]:
    return {
        p.user_id: p
        for p in db.scalars(sa.select(RoleChangeRequest).where(RoleChangeRequest.status == RoleChangeStatus.PENDING))
    }


# ---------------------------------------------------------------- set-up links


def issue_setup_link(db: Session, who: Actor, user: User) -> str:
    """A new one-time link for the account (any earlier unused one stops working); returns its token."""
    now = utcnow()
    db.execute(
        sa.update(AccountSetupLink)
        .where(
            AccountSetupLink.user_id == user.id,
            AccountSetupLink.used_at.is_(None),
            AccountSetupLink.revoked_at.is_(None),
        )
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    token = secrets.token_urlsafe(32)
    link = AccountSetupLink(
        user_id=user.id, token_hash=digest(token), issued_by_id=who.user_id, expires_at=now + SETUP_LINK_LIFETIME
    )
    db.add(link)
    db.flush()
    record(
        db,
        who,
        Action.ACCOUNT_SETUP_ISSUED,
        target_type="user",
        target_id=user.id,
        details={"link": link.id, "hours": int(SETUP_LINK_LIFETIME.total_seconds() // 3600)},
    )
    return token


def awaiting_setup(db: Session) -> set[str]:
    """Accounts made on the web whose owner has not used a set-up link yet."""
    used = sa.select(AccountSetupLink.user_id).where(AccountSetupLink.used_at.is_not(None))
    return set(db.scalars(sa.select(AccountSetupLink.user_id).distinct().where(AccountSetupLink.user_id.not_in(used))))


def reissue_setup_link(db: Session, who: Actor, user: User) -> str:
    """A fresh link for an account never set up (the first one expired or was lost).

    Once the owner has chosen a password no administrator can make a link for the account: that would
    let them choose a new password and sign in as a clerk.
    """
    if user.id not in awaiting_setup(db):
        raise Conflict(
            str(_("%(name)s has set up the account already; only its owner changes its password.", name=user.username)),
            audit=AuditNote(
                Action.ACCOUNT_SETUP_ISSUED,
                target_type="user",
                target_id=user.id,
                details={"refused": "already_set_up"},
            ),
        )
    return issue_setup_link(db, who, user)


def _unusable_link() -> NotFound:
    """One answer for a mistyped, used, replaced or expired link: a guess learns nothing."""
    return NotFound(
        str(
            _(
                "This set-up link cannot be used: it is mistyped, used up or expired. "
                "Ask your administrator for a new one."
            )
        )
    )


def _usable(db: Session, token: str) -> tuple[AccountSetupLink | None, str]:
    """The link and why it cannot be used ('' if it can)."""
    link = db.scalar(sa.select(AccountSetupLink).where(AccountSetupLink.token_hash == digest(token))) if token else None
    if link is None:
        return None, "unknown"
    if link.used_at is not None:
        return link, "used"
    if link.revoked_at is not None:
        return link, "replaced"
    if link.expires_at <= utcnow():
        return link, "expired"
    if not link.user.is_active:
        return link, "disabled"
    return link, ""


def setup_account_for(db: Session, token: str) -> User:
    """The account a link sets up, to greet its owner by name; an unusable link is refused."""
    link, problem = _usable(db, token)
    if link is None or problem:
        raise _unusable_link()
    return link.user


def complete_setup(db: Session, who: Actor, token: str, *, password: str, repeated: str) -> User:
    """The owner chooses their password; the link is used up with it."""
    link, problem = _usable(db, token)
    if link is None or problem:
        error = _unusable_link()
        error.audit = AuditNote(
            Action.ACCOUNT_SET_UP,
            target_type="user" if link else "",
            target_id=link.user_id if link else "",
            details={"refused": problem},
        )
        raise error
    user = link.user
    weakness = password_problem(password, username=user.username, full_name=user.full_name)
    if weakness:
        raise validation(new_password=weakness)
    if repeated != password:
        raise validation(repeat_password=str(_("The two passwords are not the same.")))
    now = utcnow()
    claimed = rows_changed(
        db,
        sa.update(AccountSetupLink)
        .where(
            AccountSetupLink.id == link.id,
            AccountSetupLink.used_at.is_(None),
            AccountSetupLink.revoked_at.is_(None),
            AccountSetupLink.expires_at > now,
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False),
    )
    if claimed != 1:  # the same link sent twice at once: the other request won
        raise _unusable_link()
    user.password_hash = hash_password(password)
    user.password_changed_at = now
    revoke_all_sessions(db, user)
    revoke_all_tokens(db, user)
    record(
        db,
        acting_as(who, user),
        Action.ACCOUNT_SET_UP,
        target_type="user",
        target_id=user.id,
        details={"link": link.id},
    )
    return user
