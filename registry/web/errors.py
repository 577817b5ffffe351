"""One place turns every failure into a JSON error (API) or a page (web).

A registry error rolls the request's transaction back and, when it names an
audit action, writes the denied or failed attempt in a fresh transaction.
Anything unexpected is logged with the request id and answered without
internals, so no route ever shows a traceback to a client.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Flask, Response, current_app, g, jsonify, make_response, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from registry.accounts.permissions import Permission
from registry.audit.events import Action
from registry.audit.service import UNAVAILABLE, record, replay_reads, take_reads
from registry.cases.service import sees_whole_registry
from registry.errors import AuditUnavailable, RegistryError
from registry.i18n import _
from registry.runtime import current_runtime, db
from registry.web.headers import apply_security_headers
from registry.web.policy import current_actor, is_api_request
from storage import IntegrityError

log = logging.getLogger("registry")

HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    408: "request_timeout",
    409: "conflict",
    413: "file_too_large",
    415: "unsupported_content_type",
    422: "validation_error",
    429: "too_many_attempts",
    503: "unavailable",
}
# How long a client should wait before trying again after a 503 (a database or store outage, a log that
# cannot be written): long enough for a restart or a failover, short enough for a clerk to retry.
RETRY_AFTER_SECONDS = 30


def error_response(status: int, code: str, message: str, fields: dict[str, str] | None = None) -> Response:
    """A finished response with the security headers already on it.

    It may be made after the header hook has run (the answer that replaces a failed commit).
    """
    if is_api_request():
        body: dict = {"error": {"code": code, "message": message}}
        if fields:
            body["error"]["fields"] = fields
        response = jsonify(body)
    else:
        response = make_response(
            render_template(
                "error.html",
                status=status,
                code=code,
                message=message,
                emergency_access=_emergency_offer() if status == 404 else None,
            )
        )
    response.status_code = status
    g.error_code = code  # for the metrics: which part was unavailable
    if status == 503:
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return apply_security_headers(response)


def _emergency_offer() -> str | None:
    """Where a person's address that was not found can be opened by break glass, for a role that may do it.

    The not-found page of a person outside the reader's cases and that of a person who does not exist are the
    same page, this offer included: it names the address asked for and says nothing about the person. A role
    that sees the whole registry has nothing to break into, and the emergency form itself offers no way back
    to itself.
    """
    person_id = (request.view_args or {}).get("person_id")
    actor = current_actor()
    if (
        not person_id
        or request.endpoint == "cases.emergency_access"
        or actor.user is None
        or not actor.can(Permission.EMERGENCY_ACCESS)
        or sees_whole_registry(actor)
    ):
        return None
    return url_for("cases.emergency_access", person_id=person_id)


def audit_unavailable():
    return error_response(503, "audit_unavailable", str(UNAVAILABLE))


def database_down(error: BaseException) -> bool:
    """The database cannot be reached or answer (refused, dropped, pool exhausted, locked): retry later.
    Nothing can be logged then either; the client is told to come back, not that the registry is broken."""
    return isinstance(error, (OperationalError, InterfaceError, PoolTimeout)) or (
        isinstance(error, DBAPIError) and error.connection_invalidated
    )


def database_unavailable():
    # The signed-in account cannot be loaded now: the page is drawn for nobody (flask-login keeps the
    # request's user in g._login_user), in the language the session or the browser asks for.
    g._login_user = current_app.login_manager.anonymous_user()
    try:
        db().rollback()
    except SQLAlchemyError:
        pass
    return error_response(
        503,
        "database_unavailable",
        str(
            _(
                "The registry's database cannot be reached just now, so nothing was done. Try again in a minute; if it "
                "keeps failing, tell the administrator."
            )
        ),
    )


def log_refusal(error: RegistryError | None, *, page_shown: bool = True) -> bool:
    """Roll the request back, then write only its refusal: False if the log cannot be written.

    Nothing the request did survives but the attempt itself (``error.keep``, a failed sign-in), its
    audit note, and, when a page still shows what the request read (a form shown again with its
    errors), those reads. A refusal without a note by a signed-in member of staff is logged as a
    refused request. The commit hook calls it for every 4xx: after a view logged its refusal itself and
    read again for its page, only those reads are logged then.
    """
    session = db()
    reads = take_reads(session) if page_shown else []
    take_reads(session)
    session.rollback()
    session.info.pop("audit_seqs", None)
    if isinstance(error, AuditUnavailable):
        return False
    first = not g.get("refusal_logged")
    g.refusal_logged = True
    actor = current_actor()
    try:
        for obj in error.keep if error is not None and first else ():
            session.add(obj)
        replay_reads(session, reads)  # a view that logged its refusal may have read again for its page
        note = error.audit if error is not None and first else None
        if note is not None:
            record(
                session,
                actor,
                note.action,
                outcome=note.outcome,
                target_type=note.target_type,
                target_id=note.target_id,
                person_ids=note.person_ids,
                details=note.details,
            )
        elif error is not None and first and actor.user is not None:
            record(
                session,
                actor,
                Action.REQUEST_REFUSED,
                outcome="denied",
                target_type="request",
                details={"endpoint": request.endpoint or "", "code": error.code, "fields": sorted(error.fields)},
            )
        session.commit()
        take_reads(session)  # written now: a second call (the commit hook) must not write them again
    except (SQLAlchemyError, AuditUnavailable):
        log.exception("could not log a refused request %s", g.get("request_id"))
        session.rollback()
        return False
    return True


def refused(error: RegistryError, page: Callable[[RegistryError], ResponseReturnValue]) -> ResponseReturnValue:
    """A refused form: the request's work rolled back and only its refusal logged, then ``page(error)`` drawn from
    what is really stored. Every view that shows its form again goes through here, so none can forget the
    rollback or the refusal event; if the refusal cannot be logged, nothing is shown but that."""
    if not log_refusal(error):
        return audit_unavailable()
    return page(error)


def refuse_response(response: Response) -> Response:
    """The commit hook's answer to a 4xx: nothing of the request's work is kept (see ``log_refusal``)."""
    if not log_refusal(g.pop("refusal", None), page_shown=g.pop("refusal_page", False)):
        return audit_unavailable()
    return response


def is_audit_failure(error: BaseException) -> bool:
    """A database error while writing the access log, wherever it surfaced (a flush, a commit)."""
    return isinstance(error, AuditUnavailable) or (
        isinstance(error, SQLAlchemyError) and "audit_" in str(getattr(error, "statement", "") or "")
    )


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(RegistryError)
    def registry_error(error: RegistryError):
        if not log_refusal(error, page_shown=False):
            return audit_unavailable()
        return error_response(error.http_status, error.code, error.message, error.fields)

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(_error):
        limit = current_runtime().settings.max_upload_mb
        return error_response(
            413,
            "file_too_large",
            str(_("The file is larger than %(mb)d MB. Scan at a lower resolution or split it.", mb=limit)),
        )

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        status = error.code or 500
        code = HTTP_CODES.get(status, "error")
        messages = {
            404: _("There is nothing at this address."),
            405: _("This method is not allowed here."),
            400: _("The request could not be understood."),
        }
        return error_response(status, code, str(messages.get(status, error.description or "")))

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        if isinstance(error, IntegrityError):  # a stored object read back is not what was stored
            log.exception("integrity error in request %s %s %s", g.get("request_id"), request.method, request.path)
            log_refusal(None, page_shown=False)
            return error_response(
                500,
                "integrity_error",
                str(
                    _(
                        "A stored file did not match its record, so it was not used. Tell the administrator: the "
                        "registry's storage check (scrub) shows which."
                    )
                ),
            )
        if database_down(error):
            log.error("the database is unavailable in request %s: %s", g.get("request_id"), error)
            return database_unavailable()
        if is_audit_failure(error):
            log.exception("the access log could not be written in request %s", g.get("request_id"))
            log_refusal(None, page_shown=False)
            return audit_unavailable()
        log.exception("unhandled error in request %s %s %s", g.get("request_id"), request.method, request.path)
        try:
            db().rollback()
        except SQLAlchemyError:
            pass
        return error_response(
            500,
            "internal_error",
            str(
                _(
                    "Something went wrong on our side; nothing was saved. Quote this reference "
                    "to the administrator: %(rid)s",
                    rid=g.get("request_id", ""),
                )
            ),
        )
