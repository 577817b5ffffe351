"""Route access rules, declared on each route and enforced in one place.

Every view names what it needs: ``@public``, ``@signed_in`` (an account page
with no personal data) or ``@requires(Permission.X)``. A route that declares
nothing is refused (deny by default), and a test walks the URL map for it.
The gate runs before every request: authentication (session or bearer token),
second factor, permission, then the NDA for anything with personal data.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import urlsplit

from flask import current_app, g, redirect, request, url_for
from flask_login import current_user
from werkzeug.exceptions import BadRequest

from registry.accounts import service as accounts
from registry.accounts.actor import Actor, anonymous
from registry.accounts.permissions import PERSONAL_DATA, Permission
from registry.audit.events import Action
from registry.errors import AuditNote, Forbidden, NdaRequired, Unauthenticated
from registry.i18n import _
from registry.runtime import current_runtime, db

F = TypeVar("F", bound=Callable)
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


@dataclass(frozen=True)
class AccessRule:
    public: bool = False
    permission: Permission | None = None
    # Account pages that must stay reachable before the NDA is signed or MFA is set up.
    before_gates: bool = False


def _declare(rule: AccessRule) -> Callable[[F], F]:
    def decorate(view: F) -> F:
        view.access_rule = rule  # type: ignore[attr-defined]
        return view

    return decorate


public = _declare(AccessRule(public=True))
signed_in = _declare(AccessRule())
signed_in_before_gates = _declare(AccessRule(before_gates=True))


def requires(permission: Permission) -> Callable[[F], F]:
    return _declare(AccessRule(permission=permission))


def rule_for(endpoint: str | None) -> AccessRule | None:
    if endpoint is None:
        return None
    if endpoint == "static" or endpoint.endswith(".static"):
        return AccessRule(public=True)
    view = current_app.view_functions.get(endpoint)
    return getattr(view, "access_rule", None)


def is_api_request() -> bool:
    return request.path.startswith("/api/")


def safe_next(target: str | None) -> str | None:
    """Only a path on this site may follow a login or a signature (no open redirect).

    Browsers drop tabs and line breaks from a URL and read a backslash as a slash, so
    "/<tab>/evil.example" or "/\\evil.example" would leave the site: such targets are refused.
    """
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(ch.isspace() or not ch.isprintable() for ch in target):
        return None
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else None


def current_actor() -> Actor:
    return g.get("actor") or anonymous()


def _request_context() -> tuple[str, str, str]:
    ip = request.remote_addr or ""
    agent = (request.user_agent.string or "")[:400]
    return ip, agent, g.request_id


def _bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _sep, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _authenticate() -> Actor:
    ip, agent, request_id = _request_context()
    if is_api_request():
        token = _bearer_token()
        user = accounts.user_for_token(db(), token) if token else None
        if user is None:
            raise Unauthenticated(
                str(_("Send a valid API token: Authorization: Bearer <token>.")),
                audit=AuditNote(Action.TOKEN_REJECTED, outcome="denied") if token else None,
            )
        return Actor(user, ip, agent, request_id, via="api")
    if not current_user.is_authenticated:
        return anonymous(ip, agent, request_id)
    return Actor(current_user.user, ip, agent, request_id, via="web")


def needs_second_factor(actor: Actor) -> bool:
    """A session must have passed the second factor; a token lets in only an account that has one set up."""
    if actor.user is None:
        return False
    require_mfa = current_runtime().settings.require_mfa
    if actor.via == "api":
        return accounts.second_factor_missing(actor.user, required=require_mfa)
    required = actor.user.has_totp or require_mfa
    return required and not current_user.staff_session.mfa_passed


def assign_request_id() -> None:
    """First of all hooks, so that even a body refused before the gate (408, 413) is answered with its id."""
    g.request_id = _request_id()


def enforce_access() -> object | None:
    """The one gate every request passes."""
    ip, agent, request_id = _request_context()
    g.actor = anonymous(ip, agent, request_id, via="api" if is_api_request() else "web")
    rule = rule_for(request.endpoint)
    if request.endpoint is None:
        return None  # unknown URL: the 404 handler answers
    if rule is None:
        raise Forbidden(
            str(_("This page is not available.")),
            audit=AuditNote(Action.ACCESS_DENIED, details={"endpoint": request.endpoint, "reason": "undeclared route"}),
        )
    answer = None if rule.public else _admit(rule)
    if answer is None:
        refuse_unsafe_input()
    return answer


def _admit(rule: AccessRule) -> object | None:
    """Sign-in, second factor, permission, undertaking: None lets the request through."""
    actor = _authenticate()
    g.actor = actor
    if actor.user is None:
        return redirect(url_for("accounts.login", next=request.full_path))
    if needs_second_factor(actor):
        if actor.via == "api":
            raise Unauthenticated(
                str(
                    _(
                        "This registry requires a second factor: set one up on your account page, "
                        "then your API tokens will work."
                    )
                ),
                audit=AuditNote(Action.TOKEN_REJECTED, details={"reason": "second_factor_missing"}),
            )
        if request.endpoint not in TWO_FACTOR_ENDPOINTS:
            return redirect(url_for("accounts.enrol_two_factor", next=request.full_path))
    if rule.before_gates or rule.permission is None:
        return None
    if not actor.can(rule.permission):
        raise Forbidden(
            str(_("Your role does not allow this.")),
            audit=AuditNote(
                Action.ACCESS_DENIED, details={"endpoint": request.endpoint, "permission": rule.permission.value}
            ),
        )
    if rule.permission in PERSONAL_DATA and not accounts.has_signed_current(db(), actor.user):
        if actor.via == "api":
            raise NdaRequired(
                str(_("Sign the current non-disclosure undertaking first (GET /api/v1/nda).")),
                audit=AuditNote(Action.ACCESS_DENIED, details={"endpoint": request.endpoint, "reason": "nda"}),
            )
        return redirect(url_for("accounts.nda", next=request.full_path))
    return None


def _request_id() -> str:
    """The caller's request id when it is a plain token (it is echoed in a header and logged), else a new one."""
    given = request.headers.get("X-Request-Id", "")
    return given if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex


def _json_strings(value: object) -> Iterator[str]:
    pending = [value]  # a loop, not recursion: the nesting depth is the sender's choice
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)


def _request_texts() -> Iterator[str]:
    yield from (v for v in (request.view_args or {}).values() if isinstance(v, str))
    for key, value in request.args.items(multi=True):
        yield from (key, value)
    yield from request.headers.values()
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        for key, value in request.form.items(multi=True):
            yield from (key, value)
        yield from (upload.filename or "" for upload in request.files.values())
    if request.is_json:
        try:
            body = request.get_json(silent=True)
        except RecursionError:  # nested deeper than the parser can go
            raise BadRequest() from None
        yield from _json_strings(body)


def _reads_with_a_body() -> bool:
    """GET and HEAD only read: CSRF does not check them, so a form sent with them must never be acted on."""
    chunked = "chunked" in request.headers.get("Transfer-Encoding", "").lower()
    return request.method in ("GET", "HEAD") and (bool(request.content_length) or chunked)


def refuse_unsafe_input() -> None:
    """No view sees a body on a read, a NUL byte or a lone surrogate (the database cannot store either).

    Refusing them here (400) keeps every view and service free of the checks and such input from causing a 500.
    """
    if _reads_with_a_body() or any(_UNSTORABLE.search(text) for text in _request_texts()):
        raise BadRequest()


TWO_FACTOR_ENDPOINTS = frozenset({"accounts.logout", "accounts.enrol_two_factor"})
