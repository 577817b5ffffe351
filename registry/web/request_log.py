"""Logs a collector can read: with ``REGISTRY_LOG_FORMAT=json`` every line is one JSON object carrying the
request id, the route and the staff member's account id, and each request ends with one line saying how it
went (method, route, status, duration).

Nothing in them names a person: the route is the rule (``/persons/<person_id>``), not the address asked for,
the query string is never logged (search terms are names), and messages carry ids, never names, registry
numbers or titles (a test scans everything logged while such data is created and read).
"""

from __future__ import annotations

import logging
import time

from flask import Flask, Response, g, has_request_context, request
from pythonjsonlogger.json import JsonFormatter

from registry.web.metrics import route_of

requests_log = logging.getLogger("registry.requests")
_FIELDS = ("request_id", "route", "user_id")


class RequestContext(logging.Filter):
    """Adds the request's id, route and account id to every line logged while it is answered."""

    def filter(self, record: logging.LogRecord) -> bool:
        if has_request_context():
            actor = g.get("actor")
            record.request_id = g.get("request_id", "")
            record.route = route_of()
            record.user_id = getattr(actor, "user_id", None) or ""
        return True


def configure(app: Flask, log_format: str) -> None:
    app.after_request(_log_request)
    if log_format != "json":
        return
    root = logging.getLogger()
    if not any(isinstance(h.formatter, JsonFormatter) for h in root.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(
            JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            )
        )
        handler.addFilter(RequestContext())
        root.addHandler(handler)
    root.setLevel(min(root.level or logging.INFO, logging.INFO))


def _log_request(response: Response) -> Response:
    started = g.get("started")
    requests_log.info(
        "request",
        extra={
            "method": request.method,
            "status": response.status_code,
            "duration_ms": round((time.perf_counter() - started) * 1000, 1) if started else None,
        },
    )
    return response
