"""Errors a client can cause, each with a stable API code and words a clerk understands.

A service raises one of these; the central handlers turn it into a JSON error
or an error page, roll the transaction back, and write the denied or failed
attempt to the access log when the error names an audit action.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class AuditNote:
    action: str
    outcome: str = "denied"
    target_type: str = ""
    target_id: str = ""
    person_ids: tuple[str, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)


class RegistryError(Exception):
    code = "error"
    http_status = 400

    def __init__(
        self,
        message: str,
        *,
        fields: dict[str, str] | None = None,
        audit: AuditNote | None = None,
        keep: tuple[Any, ...] = (),
    ):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}
        self.audit = audit
        # Records of the failed attempt itself (a failed login) that must survive the rollback.
        self.keep = keep


class Unauthenticated(RegistryError):
    code, http_status = "unauthenticated", 401


class NdaRequired(RegistryError):
    code, http_status = "nda_required", 403


class Forbidden(RegistryError):
    code, http_status = "forbidden", 403


class NotFound(RegistryError):
    code, http_status = "not_found", 404


class Conflict(RegistryError):
    code, http_status = "conflict", 409


class ValidationFailed(RegistryError):
    code, http_status = "validation_error", 422


class TooManyAttempts(RegistryError):
    code, http_status = "too_many_attempts", 429


class ServiceUnavailable(RegistryError):
    code, http_status = "unavailable", 503


class AuditUnavailable(RegistryError):
    """The access log cannot be written: the request fails closed, whatever it was doing."""

    code, http_status = "audit_unavailable", 503


class StoredObjectMismatch(RegistryError):
    """A stored object is not what its record says (see documents.binding): nothing is served."""

    code, http_status = "integrity_error", 500


def validation(**fields: str) -> ValidationFailed:
    first = next(iter(fields.values()))
    return ValidationFailed(first, fields=fields)


class Refused(RegistryError):
    """A refusal whose code and status come from elsewhere (the file inspection)."""

    def __init__(self, code: str, http_status: int, message: str, **kwargs: Any):
        super().__init__(message, **kwargs)
        self.code = code
        self.http_status = http_status
