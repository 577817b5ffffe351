"""The OpenAPI document, generated from the routes themselves (path, method, docstring, permission)."""
from __future__ import annotations

import re

from flask import current_app, jsonify

from registry.api.blueprint import api
from registry.web.policy import public, rule_for

ERROR_SCHEMA = {
    "type": "object", "required": ["error"],
    "properties": {"error": {"type": "object", "required": ["code", "message"], "properties": {
        "code": {"type": "string", "enum": [
            "unauthenticated", "nda_required", "forbidden", "not_found", "conflict", "validation_error",
            "unsupported_content_type", "content_type_mismatch", "file_too_large", "malformed_file",
            "password_protected", "empty_file", "image_too_large", "conversion_failed", "too_many_attempts",
            "viewing_copy_pending", "viewing_copy_failed", "storage_unavailable",
            "audit_unavailable", "unavailable", "internal_error", "bad_request", "method_not_allowed",
            "integrity_error", "request_timeout"]},
        "message": {"type": "string"}, "fields": {"type": "object", "additionalProperties": {"type": "string"}}}}},
}
_PARAM = re.compile(r"<(?:[a-z]+:)?([a-z_]+)>")


def build_spec() -> dict:
    paths: dict[str, dict] = {}
    for rule in current_app.url_map.iter_rules():
        if not rule.endpoint.startswith("api."):
            continue
        view = current_app.view_functions[rule.endpoint]
        access = rule_for(rule.endpoint)
        path = _PARAM.sub(r"{\1}", rule.rule)
        doc = (view.__doc__ or "").strip()
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            operation = {
                "operationId": rule.endpoint.removeprefix("api."),
                "summary": doc.splitlines()[0] if doc else rule.endpoint,
                "parameters": [{"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                               for name in _PARAM.findall(rule.rule)],
                "responses": {"200": {"description": "OK"},
                              "default": {"description": "Error", "content": {
                                  "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}},
            }
            if access is not None and access.public:
                operation["security"] = []
            elif access is not None and access.permission is not None:
                operation["x-permission"] = access.permission.value
            paths.setdefault(path, {})[method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": "Kinship-evidence registry API", "version": "1"},
        "servers": [{"url": "/"}],
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
                       "schemas": {"Error": ERROR_SCHEMA}},
        "security": [{"bearer": []}],
        "paths": dict(sorted(paths.items())),
    }


@api.get("/openapi.json")
@public
def openapi():
    """This document."""
    return jsonify(build_spec())
