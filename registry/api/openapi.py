"""The OpenAPI document, generated from the routes themselves: path, method, docstring, permission, and the
request and response models each operation declares (``registry.api.schema.operation``)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from flask import current_app
from flask.typing import ResponseReturnValue
from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from registry.api.blueprint import api
from registry.api.schema import Binary, Contract, operation
from registry.exports.web import SIGNED_ZIP
from registry.web.policy import public, rule_for

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {
                    "type": "string",
                    "enum": [
                        "unauthenticated",
                        "nda_required",
                        "forbidden",
                        "not_found",
                        "conflict",
                        "validation_error",
                        "unsupported_content_type",
                        "content_type_mismatch",
                        "file_too_large",
                        "malformed_file",
                        "password_protected",
                        "empty_file",
                        "image_too_large",
                        "conversion_failed",
                        "too_many_attempts",
                        "viewing_copy_pending",
                        "viewing_copy_failed",
                        "storage_unavailable",
                        "audit_unavailable",
                        "database_unavailable",
                        "unavailable",
                        "internal_error",
                        "bad_request",
                        "method_not_allowed",
                        "integrity_error",
                        "request_timeout",
                        # kinship evidence: a genomic method that cannot bear on the relationship (Y-STR and a
                        # woman, mtDNA and a father); a result from a laboratory without valid ISO/IEC 17025
                        # accreditation in a court bundle
                        "biologically_impossible",
                        "laboratory_not_accredited",
                        # the document's files were disposed of under the retention schedule (410): its record remains
                        "disposed",
                    ],
                },
                "message": {"type": "string"},
                "fields": {"type": "object", "additionalProperties": {"type": "string"}},
            },
        }
    },
}
# Possible same person (registry.matching): what a candidate looks like, and the bodies its operations take.
CANDIDATE_SCHEMA = {
    "type": "object",
    "required": ["person", "probability", "weight", "band", "reasons"],
    "properties": {
        "person": {
            "type": "object",
            "properties": {"id": {"type": "string"}, "registry_number": {"type": "string"}, "name": {"type": "string"}},
        },
        "probability": {"type": "number", "minimum": 0, "maximum": 1},
        "weight": {"type": "number", "description": "Fellegi-Sunter match weight in bits (prior included)"},
        "band": {"type": "string", "enum": ["likely", "possible"]},
        "reasons": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "level", "weight"],
                "properties": {
                    "field": {
                        "type": "string",
                        "enum": ["name", "birth_date", "sex", "place_of_birth", "document_number", "mother", "child"],
                    },
                    "level": {"type": "string"},
                    "weight": {"type": "number"},
                    "family": {"type": "string"},
                    "given": {"type": "string"},
                    "patronymic": {"type": "string"},
                    "swapped": {"type": "boolean"},
                    "ours": {"type": "string"},
                    "theirs": {"type": "string"},
                },
            },
        },
    },
}
_REASON = {"type": "string", "minLength": 10}
_BODIES = {
    "api.draft_matches": {
        "type": "object",
        "required": ["names"],
        "properties": {
            "names": {"type": "array", "items": {"type": "object"}},
            "sex": {"type": "string"},
            "birth_date": {"type": "string", "format": "date"},
            "birth_date_precision": {"type": "string"},
            "place_of_birth_designation": {"type": "string"},
            "document_numbers": {"type": "array", "items": {"type": "string"}, "maxItems": 10},
        },
    },
    "api.decide_match": {
        "type": "object",
        "required": ["decision", "reason"],
        "properties": {
            "decision": {"type": "string", "enum": ["same", "not_same", "approve", "reject"]},
            "reason": _REASON,
            "survivor_id": {"type": "string"},
        },
    },
    "api.undo_merge": {"type": "object", "required": ["reason"], "properties": {"reason": _REASON}},
}
_CANDIDATE_LISTS = {"api.person_matches", "api.draft_matches"}
_PARAM = re.compile(r"<(?:[a-z]+:)?([a-z_]+)>")
# Signed ZIP downloads of operations that declare no contract yet (registry.kinship).
_SIGNED_ZIPS = {"api.relationship_bundle", "api.person_bundle"}
_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_ERROR = {"$ref": "#/components/schemas/Error"}
# Query parameters of the lists beside those their ListSpec declares (registry.web.listing).
_LIST_EXTRAS = {
    "api.list_persons": {"q": "searches every name in any script, or a registry number"},
    "api.list_restorations": {"person_id": "the requests of one person"},
}
# Query parameters of routes that are not paged lists.
_QUERIES = {
    "api.list_legal_holds": {
        "target_type": "person, case or document: only the holds on one target",
        "target_id": "the id of that person, case or document",
        "active": "true: leave out lifted holds",
    }
}


def _list_specs() -> dict:
    """The API lists and what each accepts (imported here: the services import the API's helpers)."""
    from registry.audit.reports import EVENT_LIST
    from registry.cases.service import CASE_LIST
    from registry.matching.api import MATCH_QUEUE
    from registry.persons.service import PERSON_LIST
    from registry.restoration.service import RESTORATION_LIST

    return {
        "api.list_persons": PERSON_LIST,
        "api.list_cases": CASE_LIST,
        "api.list_restorations": RESTORATION_LIST,
        "api.audit_events": EVENT_LIST,
        "api.match_queue": MATCH_QUEUE,
    }


def _query_parameters(endpoint: str) -> list[dict]:
    """A list's filters, order (``-`` first: descending; a value it does not offer is a 422) and page."""
    spec = _list_specs().get(endpoint)
    if spec is None:
        return [
            {"name": name, "in": "query", "description": words, "schema": {"type": "string"}}
            for name, words in _QUERIES.get(endpoint, {}).items()
        ]
    text = {"type": "string"}
    found = [
        {"name": name, "in": "query", "description": words, "schema": text}
        for name, words in _LIST_EXTRAS.get(endpoint, {}).items()
    ]
    found += [
        {"name": name, "in": "query", "schema": text if choices is None else {"type": "string", "enum": list(choices)}}
        for name, choices in spec.filters.items()
    ]
    found.append(
        {
            "name": "sort",
            "in": "query",
            "schema": {
                "type": "string",
                "enum": [key for s in spec.sorts for key in (s, "-" + s)],
                **({"default": spec.default_sort} if spec.default_sort else {}),
            },
        }
    )
    found += [
        {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "default": 1}},
        {"name": "per_page", "in": "query", "schema": {"type": "integer", "minimum": 1}},
    ]
    return found


def _binary(declared: Binary) -> dict[str, Any]:
    return {
        "description": declared.description,
        "content": {media_type: {"schema": dict(declared.schema)} for media_type in declared.media_types},
        **(
            {
                "headers": {
                    name: {"description": words, "schema": {"type": "string"}}
                    for name, words in declared.headers.items()
                }
            }
            if declared.headers
            else {}
        ),
    }


def _model_schemas(contracts: Iterable[Contract]) -> tuple[dict[Any, Any], dict[str, Any]]:
    """Each declared model's schema as a reference, and the definitions they refer to (components/schemas).

    Bodies are published as they are read (``validation``), replies as they are written (``serialization``)."""
    wanted: set[tuple[type[BaseModel], JsonSchemaMode]] = set()
    for contract in contracts:
        if contract.body is not None:
            wanted.add((contract.body, "validation"))
        if isinstance(contract.reply, type):
            wanted.add((contract.reply, "serialization"))
    ordered = sorted(wanted, key=lambda pair: (pair[0].__module__, pair[0].__qualname__, pair[1]))
    refs, top = models_json_schema(ordered, ref_template="#/components/schemas/{model}")
    return dict(refs), top.get("$defs", {})


def _request_body(contract: Contract, ref: dict[str, Any], definitions: dict[str, Any]) -> dict[str, Any]:
    if not contract.multipart:
        return {"required": True, "content": {"application/json": {"schema": ref}}}
    fields = dict(definitions[ref["$ref"].rsplit("/", 1)[1]])  # the form's fields and its file parts, inline
    fields["properties"] = {
        **fields.get("properties", {}),
        **{name: {"type": "string", "format": "binary"} for name in contract.files},
    }
    fields["required"] = [*fields.get("required", []), *contract.files]
    return {"required": True, "content": {"multipart/form-data": {"schema": fields}}}


def build_spec() -> dict[str, Any]:
    contracts = {
        endpoint: view.contract
        for endpoint, view in current_app.view_functions.items()
        if endpoint.startswith("api.") and hasattr(view, "contract")
    }
    refs, definitions = _model_schemas(contracts.values())
    paths: dict[str, dict] = {}
    for rule in current_app.url_map.iter_rules():
        if not rule.endpoint.startswith("api."):
            continue
        view = current_app.view_functions[rule.endpoint]
        access = rule_for(rule.endpoint)
        contract = contracts.get(rule.endpoint)
        path = _PARAM.sub(r"{\1}", rule.rule)
        doc = (view.__doc__ or "").strip()
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            entry = {
                "operationId": rule.endpoint.removeprefix("api."),
                "summary": doc.splitlines()[0] if doc else rule.endpoint,
                "parameters": [
                    {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                    for name in _PARAM.findall(rule.rule)
                ]
                + (_query_parameters(rule.endpoint) if method == "GET" else []),
                "responses": {
                    "200": _binary(SIGNED_ZIP) if rule.endpoint in _SIGNED_ZIPS else {"description": "OK"},
                    "default": {"description": "Error", "content": {"application/json": {"schema": _ERROR}}},
                },
            }
            if contract is not None:
                _declared(entry, contract, refs, definitions, write=method in _WRITES)
            if " " in doc.strip() and len(doc.splitlines()) > 1:
                entry["description"] = " ".join(doc.split())
            if rule.endpoint in _BODIES:
                entry["requestBody"] = {
                    "required": True,
                    "content": {"application/json": {"schema": _BODIES[rule.endpoint]}},
                }
            if rule.endpoint in _CANDIDATE_LISTS:
                entry["responses"]["200"]["content"] = {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "properties": {
                                "candidates": {"type": "array", "items": {"$ref": "#/components/schemas/Candidate"}}
                            },
                        }
                    }
                }
            if access is not None and access.public:
                entry["security"] = []
            elif access is not None and access.permission is not None:
                entry["x-permission"] = access.permission.value
            paths.setdefault(path, {})[method.lower()] = entry
    return {
        "openapi": "3.1.0",
        "info": {"title": "Kinship-evidence registry API", "version": "1"},
        "servers": [{"url": "/"}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Error": ERROR_SCHEMA, "Candidate": CANDIDATE_SCHEMA, **definitions},
        },
        "security": [{"bearer": []}],
        "paths": dict(sorted(paths.items())),
    }


def _declared(
    entry: dict[str, Any], contract: Contract, refs: dict[Any, Any], definitions: dict[str, Any], *, write: bool
) -> None:
    """An operation's declared body and answer, and the refusal of a body that does not match it."""
    if isinstance(contract.reply, Binary):
        success = _binary(contract.reply)
    else:
        success = {
            "description": (contract.reply.__doc__ or "OK").strip().splitlines()[0],
            "content": {"application/json": {"schema": refs[(contract.reply, "serialization")]}},
        }
    responses = entry["responses"] = {str(contract.status): success, "default": entry["responses"]["default"]}
    if contract.body is not None and write:
        entry["requestBody"] = _request_body(contract, refs[(contract.body, "validation")], definitions)
        responses["422"] = {
            "description": "The body was refused: `error.fields` names each bad field (nested: `names.0.kind`)",
            "content": {"application/json": {"schema": _ERROR}},
        }


_OPENAPI_DOCUMENT = Binary(("application/json",), "An OpenAPI 3.1 document", schema={"type": "object"})


@api.get("/openapi.json")
@public
@operation(reply=_OPENAPI_DOCUMENT)
def openapi() -> ResponseReturnValue:
    """This document."""
    return current_app.json.response(build_spec())
