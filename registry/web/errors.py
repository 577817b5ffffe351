"""One place turns every failure into a JSON error (API) or a page (web).

A registry error rolls the request's transaction back and, when it names an
audit action, writes the denied or failed attempt in a fresh transaction.
Anything unexpected is logged with the request id and answered without
internals, so no route ever shows a traceback to a client.
"""
from __future__ import annotations

import logging

from flask import Flask, Response, g, jsonify, make_response, render_template, request
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from registry.audit.service import record
from registry.errors import RegistryError
from registry.i18n import _
from registry.runtime import current_runtime, db
from registry.web.headers import apply_security_headers
from registry.web.policy import current_actor, is_api_request

log = logging.getLogger("registry")

HTTP_CODES = {400: "bad_request", 401: "unauthenticated", 403: "forbidden", 404: "not_found",
              405: "method_not_allowed", 409: "conflict", 413: "file_too_large", 415: "unsupported_content_type",
              422: "validation_error", 429: "too_many_attempts", 503: "unavailable"}


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
        response = make_response(render_template("error.html", status=status, code=code, message=message))
    response.status_code = status
    return apply_security_headers(response)


def audit_unavailable():
    return error_response(503, "audit_unavailable",
                          str(_("The access log cannot be written; nothing was done. Try again later.")))


def log_refusal(error: RegistryError) -> bool:
    """Roll the request back, then keep the attempt and its log entry; False if the log cannot be written.

    Views that answer a refusal with their own page (the sign-in form) call this too.
    """
    session = db()
    try:
        session.rollback()
        for obj in error.keep:
            session.add(obj)
        note = error.audit
        if note is not None:
            record(session, current_actor(), note.action, outcome=note.outcome, target_type=note.target_type,
                   target_id=note.target_id, person_ids=note.person_ids, details=note.details)
        if note is not None or error.keep:
            session.commit()
    except SQLAlchemyError:
        log.exception("could not log a refused request %s", g.get("request_id"))
        session.rollback()
        return False
    return True


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(RegistryError)
    def registry_error(error: RegistryError):
        if not log_refusal(error):
            return audit_unavailable()
        return error_response(error.http_status, error.code, error.message, error.fields)

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(_error):
        limit = current_runtime().settings.max_upload_mb
        return error_response(413, "file_too_large",
                              str(_("The file is larger than %(mb)d MB. Scan at a lower resolution or split it.",
                                    mb=limit)))

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        status = error.code or 500
        code = HTTP_CODES.get(status, "error")
        messages = {404: _("There is nothing at this address."), 405: _("This method is not allowed here."),
                    400: _("The request could not be understood.")}
        return error_response(status, code, str(messages.get(status, error.description or "")))

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        log.exception("unhandled error in request %s %s %s", g.get("request_id"), request.method, request.path)
        try:
            db().rollback()
        except SQLAlchemyError:
            pass
        return error_response(500, "internal_error",
                              str(_("Something went wrong on our side; nothing was saved. Quote this reference "
                                    "to the administrator: %(rid)s", rid=g.get("request_id", ""))))
