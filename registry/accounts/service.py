"""Accounts: staff, roles, login with throttling and TOTP, sessions, API tokens, the NDA.

Rules only: no ``request`` here. Callers pass an ``Actor`` (who, from where).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import re
import secrets
import unicodedata
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pyotp
import sqlalchemy as sa
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from registry.accounts.actor import Actor
from registry.accounts.models import (
    ApiToken,
    LoginAttempt,
    NdaAcknowledgement,
    NdaTranslation,
    NdaVersion,
    RoleGrant,
    StaffSession,
    User,
)
from registry.accounts.passwords import hash_password, needs_rehash, password_problem, verify_password
from registry.accounts.permissions import PERSONAL_DATA_ROLES, Role
from registry.audit.events import Action, Outcome
from registry.audit.service import AuditSubject, record
from registry.db import rows_changed, utcnow
from registry.errors import (
    AuditNote,
    Conflict,
    Forbidden,
    NotFound,
    ServiceUnavailable,
    TooManyAttempts,
    Unauthenticated,
    ValidationFailed,
    validation,
)
from registry.i18n import LOCALES, _
from storage import Keyring, KeyringError

log = logging.getLogger("registry.accounts")

TOKEN_PREFIX = "rgt_"


def digest(token: str) -> str:
    """What is stored of a secret token (session, API token, set-up link): never the token itself."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


# ---------------------------------------------------------------- users and roles


def parse_roles(names: list[str] | tuple[str, ...]) -> set[Role]:
    try:
        return {Role(n.strip()) for n in names if n.strip()}
    except ValueError:
        valid = ", ".join(r.value for r in Role)
        raise validation(roles=str(_("Unknown role. Valid roles: %(roles)s", roles=valid))) from None


def check_combination(roles: set[Role] | frozenset[Role], *, user_id: str = "", username: str = "") -> None:
    """An account never holds admin together with a role that reaches personal data.

    Every path that gives an account roles calls this (the CLI, the admin pages, an approval), and a
    refused attempt is logged: whoever manages accounts must not be able to read the files.
    """
    if Role.ADMIN in roles and roles & PERSONAL_DATA_ROLES:
        message = str(
            _("An administrator cannot also be a clerk, lawyer, caseworker or auditor: use two separate accounts.")
        )
        raise ValidationFailed(
            message,
            fields={"roles": message},
            audit=AuditNote(
                Action.ROLES_CHANGED,
                target_type="user",
                target_id=user_id,
                details={
                    "username": username,
                    "roles": sorted(r.value for r in roles),
                    "refused": "admin_with_personal_data_role",
                },
            ),
        )


def refuse_own_account(who: AuditSubject, user: User, action: Action, **details: Any) -> None:
    """Nobody changes their own roles or access, nor decides on a change of them."""
    if who.user_id is not None and who.user_id == user.id:
        raise Forbidden(
            str(_("Nobody changes their own roles or access: ask another administrator.")),
            audit=AuditNote(
                action, target_type="user", target_id=user.id, details={**details, "refused": "own_account"}
            ),
        )


def refuse_own_proposal(who: AuditSubject, proposed_by_id: str | None, message: str, audit: AuditNote) -> None:
    """Powerful acts need a second person: whoever proposed one may not approve it (refused, and logged)."""
    if who.user_id == proposed_by_id:
        raise Forbidden(message, audit=audit)


def new_user(
    db: Session, who: AuditSubject, *, username: str, full_name: str, password_hash: str, roles: set[Role]
) -> User:
    """An account with the roles given; the caller has checked its password and the separation of duties."""
    username = username.strip().lower()
    if not username or len(username) > 64 or not all(c.isalnum() or c in "._-" for c in username):
        raise validation(username=str(_("A user name is 1 to 64 letters, digits, dots, dashes or underscores.")))
    if db.scalar(sa.select(User.id).where(User.username == username)):
        taken = str(_("The user name %(name)s is taken.", name=username))
        raise Conflict(taken, fields={"username": taken})
    check_combination(roles, username=username)
    user = User(username=username, full_name=full_name.strip()[:200], password_hash=password_hash)
    user.role_grants = [RoleGrant(role=r.value) for r in sorted(roles)]
    db.add(user)
    db.flush()
    record(
        db,
        who,
        Action.USER_CREATED,
        target_type="user",
        target_id=user.id,
        details={"username": username, "roles": sorted(r.value for r in roles)},
    )
    return user


def create_user(
    db: Session, who: AuditSubject, *, username: str, full_name: str, password: str, roles: set[Role]
) -> User:
    """An account with a password and its roles at once: the operator's bootstrap (CLI, demo, tests).

    On the web an account is made by ``duties.create_account`` instead: no password, roles by approval.
    """
    problem = password_problem(password, username=username.strip().lower(), full_name=full_name)
    if problem:
        raise validation(password=problem)
    return new_user(db, who, username=username, full_name=full_name, password_hash=hash_password(password), roles=roles)


def get_user(db: Session, user_id: str) -> User:
    user = db.get(User, user_id)
    if user is None:
        raise NotFound(str(_("No such user.")))
    return user


def user_by_name(db: Session, username: str) -> User:
    user = db.scalar(sa.select(User).where(User.username == username.strip().lower()))
    if user is None:
        raise NotFound(str(_("No user named %(name)s.", name=username)))
    return user


def set_active(db: Session, who: AuditSubject, user: User, active: bool) -> None:
    refuse_own_account(who, user, Action.USER_CHANGED, active=active)
    user.is_active = active
    if not active:  # ended for good: enabling the account again must not bring them back
        revoke_all_sessions(db, user)
        revoke_all_tokens(db, user)
    record(db, who, Action.USER_CHANGED, target_type="user", target_id=user.id, details={"active": active})


MAX_SPELLINGS = 5


def set_other_spellings(db: Session, who: AuditSubject, user: User, text: str) -> None:
    """Other ways the staff member writes their full name (Cyrillic, Latin...), one a line.

    Any of them signs the undertaking, so only an administrator sets them, and the change is logged.
    """
    lines = list(dict.fromkeys(" ".join(line.split()) for line in text.splitlines() if line.strip()))
    if len(lines) > MAX_SPELLINGS or any(len(line) > 200 for line in lines):
        raise validation(
            other_spellings=str(_("At most %(n)d spellings, one a line, each up to 200 characters.", n=MAX_SPELLINGS))
        )
    joined = "\n".join(lines)
    if joined != user.other_spellings:
        user.other_spellings = joined
        record(
            db, who, Action.USER_CHANGED, target_type="user", target_id=user.id, details={"other_spellings": len(lines)}
        )


def change_password(
    db: Session,
    who: AuditSubject,
    user: User,
    current: str,
    new: str,
    policy: ThrottlePolicy,
    *,
    keep_session: StaffSession | None = None,
) -> None:
    confirm_password(db, who, user, current, policy)
    problem = password_problem(new, username=user.username, full_name=user.full_name)
    if problem:
        raise validation(new_password=problem)
    user.password_hash = hash_password(new)
    user.password_changed_at = utcnow()
    revoke_all_sessions(db, user, except_session=keep_session)
    revoke_all_tokens(db, user)
    record(db, who, Action.PASSWORD_CHANGED, target_type="user", target_id=user.id)


# ---------------------------------------------------------------- login, throttling, sessions


@dataclass(frozen=True)
class ThrottlePolicy:
    max_per_account: int
    max_per_ip: int
    window: timedelta


def _recent_failures(db: Session, column, value: str, since: datetime) -> int:
    return (
        db.scalar(
            sa.select(sa.func.count())
            .select_from(LoginAttempt)
            .where(column == value, LoginAttempt.at >= since, LoginAttempt.succeeded.is_(False))
        )
        or 0
    )


def check_throttle(db: Session, username: str, ip: str, policy: ThrottlePolicy) -> None:
    since = utcnow() - policy.window
    if (
        _recent_failures(db, LoginAttempt.username, username, since) >= policy.max_per_account
        or _recent_failures(db, LoginAttempt.ip, ip, since) >= policy.max_per_ip
    ):
        minutes = int(policy.window.total_seconds() // 60)
        raise TooManyAttempts(
            str(_("Too many failed sign-in attempts. Wait %(m)d minutes, or ask an administrator.", m=minutes)),
            audit=AuditNote(Action.LOGIN_FAILED, details={"username": username, "reason": "throttled"}),
        )


def confirm_password(db: Session, who: AuditSubject, user: User, password: str, policy: ThrottlePolicy) -> None:
    """The password asked again before a change to the account: a wrong one counts as a failed sign-in,
    so a stolen session cannot be used to guess it."""
    check_throttle(db, user.username, who.ip, policy)
    if not verify_password(user.password_hash, password):
        wrong = validation(current_password=str(_("The current password is not right.")))
        wrong.keep = (LoginAttempt(username=user.username, ip=who.ip[:64], succeeded=False),)  # survives the rollback
        raise wrong


def authenticate(
    db: Session,
    who: Actor,
    username: str,
    password: str,
    totp_code: str | None,
    policy: ThrottlePolicy,
    keyring: Keyring,
) -> tuple[User, bool]:
    """Check the credentials; returns the user and whether a second factor was passed."""
    username = username.strip().lower()[:64]
    check_throttle(db, username, who.ip, policy)
    user = db.scalar(sa.select(User).where(User.username == username))
    ok = verify_password(user.password_hash if user else None, password) and user is not None and user.is_active
    mfa_passed = False
    if ok and user is not None and user.has_totp:
        mfa_passed = bool(totp_code) and verify_totp(db, user, totp_code or "", keyring)
        ok = mfa_passed
    attempt = LoginAttempt(username=username, ip=who.ip[:64], succeeded=ok)
    if not ok or user is None:
        raise Unauthenticated(
            str(_("The user name, password or one-time code is not right.")),
            audit=AuditNote(Action.LOGIN_FAILED, outcome=Outcome.FAILED, details={"username": username}),
            keep=(attempt,),
        )
    db.add(attempt)
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user, mfa_passed


def open_session(
    db: Session, who: Actor, user: User, *, mfa_passed: bool, replacing: StaffSession | None = None
) -> tuple[str, StaffSession]:
    """A fresh session id at every login (no fixation); returns the secret for the cookie and the row.

    The session the browser had before (``replacing``) ends, so a copy of its old cookie is worthless.
    """
    if replacing is not None and replacing.revoked_at is None:
        end_session(db, acting_as(who, replacing.user), replacing)
    token = secrets.token_urlsafe(32)
    row = StaffSession(token_hash=digest(token), user=user, mfa_passed=mfa_passed, ip=who.ip[:64])
    db.add(row)
    record(
        db,
        acting_as(who, user),
        Action.LOGIN,
        target_type="user",
        target_id=user.id,
        details={"mfa": mfa_passed, "via": who.via},
    )
    return token, row


def acting_as(who: Actor, user: User) -> Actor:
    return Actor(user, who.ip, who.user_agent, who.request_id, who.via)


def load_session(db: Session, token: str, *, idle: timedelta, absolute: timedelta) -> StaffSession | None:
    row = db.scalar(sa.select(StaffSession).where(StaffSession.token_hash == digest(token)))
    now = utcnow()
    if row is None or row.revoked_at is not None or not row.user.is_active:
        return None
    if now - row.last_seen_at > idle or now - row.created_at > absolute:
        row.revoked_at = now
        return None
    if now - row.last_seen_at > timedelta(seconds=30):  # spare a write on every click
        row.last_seen_at = now
    return row


def session_by_token(db: Session, token: str) -> StaffSession | None:
    """The session row of a cookie's secret, whatever its state (to tell a timed-out session from none)."""
    return db.scalar(sa.select(StaffSession).where(StaffSession.token_hash == digest(token)))


def end_session(db: Session, who: Actor, row: StaffSession) -> None:
    row.revoked_at = utcnow()
    record(db, who, Action.LOGOUT, target_type="user", target_id=row.user_id)


def revoke_all_sessions(db: Session, user: User, *, except_session: StaffSession | None = None) -> None:
    query = sa.update(StaffSession).where(StaffSession.user_id == user.id, StaffSession.revoked_at.is_(None))
    if except_session is not None:
        query = query.where(StaffSession.id != except_session.id)
    db.execute(query.values(revoked_at=utcnow()))


# ---------------------------------------------------------------- TOTP second factor

_TOTP_LABEL = b"totp secrets"


def _seal(secret: str, bound_to: str, keyring: Keyring) -> str:
    """Sealed under a key derived from the current master key (named in the result), never from the cookie
    secret: rotating or leaking that one neither bricks nor opens anyone's second factor."""
    key_id, key = keyring.derive(_TOTP_LABEL)
    nonce = secrets.token_bytes(12)
    return (
        f"{key_id}:{base64.b64encode(nonce + AESGCM(key).encrypt(nonce, secret.encode(), bound_to.encode())).decode()}"
    )


def _unseal(sealed: str, bound_to: str, keyring: Keyring) -> str:
    key_id, _sep, body = sealed.rpartition(":")
    _key_id, key = keyring.derive(_TOTP_LABEL, key_id or None)
    raw = base64.b64decode(body, validate=True)
    return AESGCM(key).decrypt(raw[:12], raw[12:], bound_to.encode()).decode()


def _open_totp(user: User, keyring: Keyring) -> str:
    try:
        return _unseal(user.totp_secret or "", user.id, keyring)
    except (KeyringError, InvalidTag, ValueError, binascii.Error):
        log.error("the second factor of user %s cannot be opened with this keyring", user.id)
        raise ServiceUnavailable(
            str(
                _(
                    "Your second factor cannot be checked on this server. Ask an administrator: the registry's keys "
                    "may have been changed."
                )
            ),
            audit=AuditNote(
                Action.LOGIN_FAILED,
                outcome="failed",
                target_type="user",
                target_id=user.id,
                details={"second_factor": "unreadable"},
            ),
        ) from None


def seal_pending_totp(user: User, secret: str, keyring: Keyring) -> str:
    """The secret being set up waits in the session cookie, which is signed but readable: seal it."""
    return _seal(secret, f"pending:{user.id}", keyring)


def open_pending_totp(user: User, sealed: str | None, keyring: Keyring) -> str | None:
    if not sealed:
        return None
    try:
        return _unseal(sealed, f"pending:{user.id}", keyring)
    except (KeyringError, InvalidTag, ValueError, binascii.Error):
        return None


def reseal_totp_secrets(db: Session, keyring: Keyring) -> int:
    """After a master key rotation: every second factor sealed again under the current key (so the old
    key can be retired)."""
    count = 0
    for user in db.scalars(sa.select(User).where(User.totp_secret.is_not(None))):
        user.totp_secret = _seal(_open_totp(user, keyring), user.id, keyring)
        count += 1
    return count


def totp_key_ids(db: Session) -> Counter[str]:
    """Master key id -> how many second factors it seals."""
    return Counter(
        (sealed or "").rpartition(":")[0]
        for sealed in db.scalars(sa.select(User.totp_secret).where(User.totp_secret.is_not(None)))
    )


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_uri(user: User, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name="Kinship Registry")


def _matching_step(secret: str, code: str) -> int | None:
    code = "".join(ch for ch in code if ch in "0123456789")  # ASCII only: "١٢٣" is a digit to str.isdigit
    if len(code) != 6:
        return None
    totp = pyotp.TOTP(secret)
    now_step = totp.timecode(datetime.now())
    for step in (now_step - 1, now_step, now_step + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def verify_totp(db: Session, user: User, code: str, keyring: Keyring) -> bool:
    """A code is accepted once: the step it belongs to must be later than the last one used.

    The step is claimed in one conditional UPDATE, so two sign-ins racing with the same code
    (or one working from a stale read) cannot both pass.
    """
    step = _matching_step(_open_totp(user, keyring), code)
    if step is None:
        return False
    claimed = rows_changed(
        db,
        sa.update(User)
        .where(User.id == user.id, sa.or_(User.totp_last_step.is_(None), User.totp_last_step < step))
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False),
    )
    if claimed != 1:
        return False
    set_committed_value(user, "totp_last_step", step)
    return True


def enrol_totp(
    db: Session,
    who: Actor,
    user: User,
    secret: str,
    code: str,
    keyring: Keyring,
    *,
    password: str,
    policy: ThrottlePolicy,
    keep_session: StaffSession | None = None,
) -> None:
    """Set up (or replace) the second factor; the password is asked again, so that a stolen
    session cookie alone cannot take the account over and lock its owner out."""
    confirm_password(db, who, user, password, policy)
    step = _matching_step(secret, code)
    if step is None:
        raise validation(code=str(_("That code does not match. Check the time on your phone and try again.")))
    user.totp_secret = _seal(secret, user.id, keyring)
    user.totp_last_step = step
    revoke_all_sessions(db, user, except_session=keep_session)
    if keep_session is not None:
        keep_session.mfa_passed = True
    record(db, who, Action.MFA_ENROLLED, target_type="user", target_id=user.id)


# ---------------------------------------------------------------- API tokens


def create_api_token(db: Session, who: AuditSubject, user: User, *, name: str = "", days: int = 90) -> str:
    if not 1 <= days <= 366:
        raise validation(days=str(_("A token lasts from 1 to 366 days.")))
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        user_id=user.id,
        name=name.strip()[:100],
        token_hash=digest(token),
        prefix=token[:12],
        expires_at=utcnow() + timedelta(days=days),
    )
    db.add(row)
    db.flush()
    record(
        db,
        who,
        Action.TOKEN_CREATED,
        target_type="api_token",
        target_id=row.id,
        details={"user": user.username, "days": days},
    )
    return token


def second_factor_missing(user: User, *, required: bool) -> bool:
    """Where the registry requires a second factor, an account without one may not use the API.

    A token is only a stand-in for a sign-in: it must not let in an account that could not pass the whole one.
    """
    return required and not user.has_totp


def user_for_token(db: Session, token: str) -> User | None:
    if not token.startswith(TOKEN_PREFIX):
        return None
    row = db.scalar(sa.select(ApiToken).where(ApiToken.token_hash == digest(token)))
    now = utcnow()
    if row is None or row.revoked_at is not None or row.expires_at <= now or not row.user.is_active:
        return None
    if row.last_used_at is None or now - row.last_used_at > timedelta(minutes=1):
        row.last_used_at = now
    return row.user


def list_tokens(db: Session, user: User) -> list[ApiToken]:
    return list(db.scalars(sa.select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.created_at.desc())))


def revoke_token(db: Session, who: Actor, user: User, token_id: str) -> None:
    row = db.get(ApiToken, token_id)
    if row is None or row.user_id != user.id:
        raise NotFound(str(_("No such token.")))
    row.revoked_at = row.revoked_at or utcnow()
    record(db, who, Action.TOKEN_REVOKED, target_type="api_token", target_id=row.id)


def revoke_all_tokens(db: Session, user: User) -> None:
    db.execute(
        sa.update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


# ---------------------------------------------------------------- the non-disclosure undertaking


@dataclass(frozen=True)
class NdaText:
    """One language's text of an undertaking version: what a signer reads, and the hash their signature binds."""

    language: str
    title: str
    text: str
    text_sha256: str


def current_nda(db: Session) -> NdaVersion | None:
    return db.scalar(
        sa.select(NdaVersion).where(NdaVersion.effective_at <= utcnow()).order_by(NdaVersion.version.desc()).limit(1)
    )


def nda_texts(nda: NdaVersion) -> dict[str, NdaText]:
    """The version's texts by language; the version's own title and text are the English."""
    texts = {"en": NdaText("en", nda.title, nda.text, nda.text_sha256)}
    texts.update((t.language, NdaText(t.language, t.title, t.text, t.text_sha256)) for t in nda.translations)
    return texts


def nda_text(nda: NdaVersion, language: str | None) -> NdaText:
    """The text in this language, or the English where the version has none in it."""
    texts = nda_texts(nda)
    return texts.get(language or "en", texts["en"])


def _normal_text(text: str) -> str:
    return unicodedata.normalize("NFC", text.replace("\r\n", "\n").strip()) + "\n"


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _checked_text(language: str, title: str, text: str) -> tuple[str, str]:
    suffix = "" if language == "en" else f"_{language}"
    text = _normal_text(text)
    if len(text.strip()) < 20:
        raise validation(**{f"text{suffix}": str(_("The undertaking text is too short."))})
    if not title.strip():
        raise validation(**{f"title{suffix}": str(_("Give the undertaking a title."))})
    return title.strip()[:200], text


def publish_nda(
    db: Session,
    who: AuditSubject,
    *,
    title: str,
    text: str,
    translations: Mapping[str, tuple[str, str]] | None = None,
    effective_at: datetime | None = None,
) -> NdaVersion:
    """A new version, in English and in the ``translations`` given (language: (title, text))."""
    title, text = _checked_text("en", title, text)
    others = {}
    for language, (other_title, other_text) in (translations or {}).items():
        if language not in LOCALES or language == "en":
            raise validation(language=str(_("Unknown language.")))
        others[language] = _checked_text(language, other_title, other_text)
    last = db.scalar(sa.select(sa.func.max(NdaVersion.version))) or 0
    nda = NdaVersion(
        version=last + 1,
        title=title,
        text=text,
        text_sha256=_sha256(text),
        effective_at=effective_at or utcnow(),
        published_by_id=who.user_id,
    )
    nda.translations = [
        NdaTranslation(language=lang, title=t, text=x, text_sha256=_sha256(x))
        for lang, (t, x) in sorted(others.items())
    ]
    db.add(nda)
    db.flush()
    record(
        db,
        who,
        Action.NDA_PUBLISHED,
        target_type="nda",
        target_id=nda.id,
        details={
            "version": nda.version,
            "sha256": nda.text_sha256,
            "translations": {t.language: t.text_sha256 for t in nda.translations},
        },
    )
    return nda


def has_signed_current(db: Session, user: User) -> bool:
    nda = current_nda(db)
    if nda is None:
        return False  # nothing to sign yet means nobody may see personal data yet
    return (
        db.scalar(
            sa.select(NdaAcknowledgement.id).where(
                NdaAcknowledgement.user_id == user.id, NdaAcknowledgement.nda_version_id == nda.id
            )
        )
        is not None
    )


def _same_name(a: str, b: str) -> bool:
    def normal(name: str) -> str:
        return " ".join(unicodedata.normalize("NFC", name).split()).casefold()

    return bool(normal(a)) and normal(a) == normal(b)


def acknowledge_nda(
    db: Session, who: Actor, user: User, *, version: int, text_sha256: str, typed_full_name: str, language: str = "en"
) -> NdaAcknowledgement:
    """Sign the current version in one language: the hash given must be that language's text, and the name
    typed any of the signer's registered spellings."""
    nda = current_nda(db)
    if nda is None or nda.version != version:
        raise Conflict(str(_("A newer version of the undertaking has been published; read it and sign again.")))
    read = nda_texts(nda).get(language)
    if read is None:
        raise validation(language=str(_("This undertaking is not published in that language.")))
    given = (text_sha256 or "").lower()
    if not re.fullmatch(r"[0-9a-f]{64}", given) or not hmac.compare_digest(read.text_sha256, given):
        raise validation(text_sha256=str(_("The text you signed is not the current text; reload the page.")))
    typed = " ".join(typed_full_name.split())
    if not any(_same_name(typed, spelling) for spelling in user.spellings):
        raise validation(
            typed_full_name=str(_("Type your full name as registered: %(names)s", names=" / ".join(user.spellings)))
        )
    existing = db.scalar(
        sa.select(NdaAcknowledgement).where(
            NdaAcknowledgement.user_id == user.id, NdaAcknowledgement.nda_version_id == nda.id
        )
    )
    if existing is not None:
        return existing
    ack = NdaAcknowledgement(
        user_id=user.id,
        nda_version_id=nda.id,
        text_sha256=read.text_sha256,
        language=read.language,
        typed_full_name=typed[:200],
        ip=who.ip[:64],
        user_agent=who.user_agent[:400],
    )
    db.add(ack)
    db.flush()
    record(
        db,
        who,
        Action.NDA_SIGNED,
        target_type="nda",
        target_id=nda.id,
        details={"version": nda.version, "language": read.language, "sha256": read.text_sha256},
    )
    return ack


def nda_signatures(db: Session) -> list[tuple[User, list[NdaAcknowledgement]]]:
    users = db.scalars(sa.select(User).order_by(User.username)).all()
    acks = db.scalars(sa.select(NdaAcknowledgement).order_by(NdaAcknowledgement.signed_at)).all()
    by_user: dict[str, list[NdaAcknowledgement]] = {}
    for ack in acks:
        by_user.setdefault(ack.user_id, []).append(ack)
    return [(u, by_user.get(u.id, [])) for u in users]


def list_users(db: Session) -> list[User]:
    return list(db.scalars(sa.select(User).order_by(User.username)))


def list_nda_versions(db: Session) -> list[NdaVersion]:
    return list(db.scalars(sa.select(NdaVersion).order_by(NdaVersion.version.desc())))
