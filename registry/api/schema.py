"""Declared request and response schemas: one place where input is checked and output shaped.

Every JSON operation declares, with ``@operation``, the pydantic v2 model its body must match and the model it
answers with; ``registry.api.openapi`` builds the published document from those declarations, and the HTML form
of the same domain validates what was typed with the same model (``parse``), so the API and the pages cannot
disagree on a rule.

Why a thin layer of our own over pydantic and not spectree or flask-openapi3: both put their own validating
decorator in front of the view and answer a refusal in their own JSON shape (a list of pydantic errors, status
400 or 422 by their choice), so our ``{"error": {"code", "message", "fields"}}`` shape, its translated messages
and the refusal event of ``registry.web.errors`` would have to be patched back in through their hooks.
flask-openapi3 also wants its own ``OpenAPI`` application and ``APIBlueprint`` classes in place of Flask's, and
neither library knows our access rules (``registry.web.policy``), which run before any body is looked at, nor the
bodies read ahead of the gate (``registry.web.body``). Neither checks an HTML form with the same model. What we
need from a library is the model, its validation and its JSON Schema: pydantic gives all three, and this module
is the glue (about the size of the configuration either integration would have needed).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any, TypeVar, get_origin

from flask import Response, jsonify, request
from flask.typing import ResponseReturnValue
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from pydantic_core import PydanticCustomError

from registry.api.util import json_body
from registry.errors import ValidationFailed
from registry.i18n import _

M = TypeVar("M", bound=BaseModel)


class Body(BaseModel):
    """A request body (JSON or form fields): a field the model does not declare is refused, never ignored."""

    model_config = ConfigDict(extra="forbid")


class Reply(BaseModel):
    """A response body, read from the domain's objects by attribute."""

    model_config = ConfigDict(from_attributes=True)


# ---------------------------------------------------------------- field types


def invalid(message: str) -> PydanticCustomError:
    """A refusal raised inside a validator, in words already translated; the field's path is added by pydantic."""
    return PydanticCustomError("registry", "{message}", {"message": message})


def _one_line(value: Any) -> Any:
    """Typed on one line: runs of spaces, tabs and line breaks become one space; nothing (null) is empty."""
    if value is None:
        return ""
    return " ".join(value.split()) if isinstance(value, str) else value


def _trimmed(value: Any) -> Any:
    """Free text: only the ends are trimmed; nothing (null) is empty."""
    if value is None:
        return ""
    return value.strip() if isinstance(value, str) else value


def _iso_date(value: Any) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):  # a model built in code (the demo, the bench)
        return value
    try:
        parsed = date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    if parsed is None:
        raise invalid(str(_("Write the date as YYYY-MM-DD.")))
    return parsed


def _lived_date(value: Any) -> date | None:
    parsed = _iso_date(value)
    if parsed is not None and (parsed > date.today() or parsed.year < 1900):
        raise invalid(str(_("The date must be between 1900 and today.")))
    return parsed


# A name, a place, a reference: one line, whitespace collapsed (give the length with Field(max_length=...)).
Line = Annotated[str, BeforeValidator(_one_line)]
# Notes and reasons: line breaks kept, ends trimmed.
Text = Annotated[str, BeforeValidator(_trimmed)]
# A date written YYYY-MM-DD; empty or null is no date.
IsoDate = Annotated[date | None, BeforeValidator(_iso_date)]
# A date in a life (a birth): YYYY-MM-DD, between 1900 and today.
LivedDate = Annotated[date | None, BeforeValidator(_lived_date)]


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def left_out(**field: Any) -> Any:
    """A field a change may leave out (nothing then changes) but not send as null: declare it ``T |
    SkipJsonSchema[None] = left_out()``; the published schema shows only ``T``."""
    return Field(None, json_schema_extra=_no_default, **field)


# ---------------------------------------------------------------- validation, with our messages


_QUOTED = re.compile(r"'([^']*)'")


def _message(error: Mapping[str, Any]) -> str:
    """One pydantic error in the registry's own (translated) words."""
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind == "registry":
        return str(ctx["message"])
    if kind == "missing":
        return str(_("This field is required."))
    if kind == "extra_forbidden":
        return str(_("This field is not accepted here."))
    if kind == "enum" or kind == "literal_error":
        return str(_("Choose one of: %(allowed)s", allowed=", ".join(_QUOTED.findall(str(ctx.get("expected", ""))))))
    many = ctx.get("field_type") in ("List", "Tuple", "Set", "Dictionary")  # else text (a Line's length)
    if kind in ("string_too_short", "too_short"):
        if many:
            return str(_("Too few items: at least %(n)d.", n=ctx["min_length"]))
        if ctx.get("min_length") == 1:
            return str(_("This field is required."))
        return str(_("At least %(n)d characters.", n=ctx["min_length"]))
    if kind in ("string_too_long", "too_long"):
        if many:
            return str(_("Too many items: at most %(n)d.", n=ctx["max_length"]))
        return str(_("At most %(n)d characters.", n=ctx["max_length"]))
    if kind.startswith("string_"):
        return str(_("This field must be text."))
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return str(_("This field must be a whole number."))
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        return str(_("This number is outside what is allowed."))
    if kind in ("bool_type", "bool_parsing"):
        return str(_("This field must be true or false."))
    if kind in ("list_type", "tuple_type", "set_type"):
        return str(_("This field must be a list."))
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return str(_("This field must be an object."))
    return str(_("This value is not accepted here."))


def field_path(location: tuple[int | str, ...]) -> str:
    """``("names", 0, "family_name")`` -> ``names.0.family_name``: the name a refusal gives a nested field."""
    return ".".join(str(part) for part in location)


def refusal(error: ValidationError) -> ValidationFailed:
    """Every bad field of a body, each with its first problem, in the ``fields`` shape of the API's errors."""
    fields: dict[str, str] = {}
    for item in error.errors(include_url=False, include_input=False):
        fields.setdefault(field_path(item["loc"]) or "form", _message(item))
    return ValidationFailed(next(iter(fields.values())), fields=fields)


def parse(model: type[M], data: Any) -> M:
    """``data`` checked against ``model``: the model, or a 422 naming each bad field (nothing is changed)."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise refusal(error) from None


# ---------------------------------------------------------------- operations


@dataclass(frozen=True)
class Binary:
    """A response the view makes itself (a file): its media types and what the OpenAPI document says of it."""

    media_types: tuple[str, ...]
    description: str
    headers: Mapping[str, str] = field(default_factory=dict)  # name -> what it says
    schema: Mapping[str, Any] = field(default_factory=lambda: {"type": "string", "format": "binary"})


@dataclass(frozen=True)
class Contract:
    """What one operation takes and answers, as ``registry.api.openapi`` publishes it."""

    body: type[Body] | None
    reply: type[Reply] | Binary
    status: int
    files: tuple[str, ...]  # multipart/form-data: the body's fields plus these file parts

    @property
    def multipart(self) -> bool:
        return bool(self.files)


def operation(
    *,
    reply: type[Reply] | Binary,
    body: type[Body] | None = None,
    status: int = 200,
    files: tuple[str, ...] = (),
) -> Callable[[Callable[..., Any]], Callable[..., ResponseReturnValue]]:
    """Declare (and enforce) an operation's body and answer.

    With ``body``, the view gets the checked model as its ``body`` argument (JSON, or with ``files`` the form
    fields of a multipart body). A ``Reply`` view returns the model and is answered with it as JSON with
    ``status``; a ``Binary`` view returns its own response. The body is checked after the gate
    (``registry.web.policy``) let the caller in: a stranger learns nothing from a 422.
    """
    contract = Contract(body, reply, status, files)

    def decorate(view: Callable[..., Any]) -> Callable[..., ResponseReturnValue]:
        @functools.wraps(view)
        def checked(*args: Any, **kwargs: Any) -> ResponseReturnValue:
            if body is not None:
                kwargs["body"] = parse(body, request.form.to_dict() if files else json_body())
            result = view(*args, **kwargs)
            if isinstance(reply, Binary):
                return result
            if not isinstance(result, reply):
                raise TypeError(f"{view.__name__} answered {type(result).__name__}, declared {reply.__name__}")
            return answer(result, status)

        checked.contract = contract  # type: ignore[attr-defined]
        return checked

    return decorate


def answer(result: BaseModel, status: int = 200) -> Response:
    response = jsonify(result.model_dump(mode="json"))
    response.status_code = status
    return response


def renamed(error: ValidationFailed, field_of: Callable[[str], str]) -> ValidationFailed:
    """A body's refusal with its fields named as a form's inputs, so that the page puts each message by its input
    (``names.1.family_name`` is the input ``family_name_1`` of a form with three rows of names)."""
    fields: dict[str, str] = {}
    for path, message in error.fields.items():
        fields.setdefault(field_of(path), message)
    return ValidationFailed(error.message, fields=fields, audit=error.audit)


def form_fields(model: type[Body], form: Any) -> dict[str, Any]:
    """The inputs of an HTML form that ``model`` declares, as its body would carry them: a list field takes
    every value of its input, any other field the first (the CSRF token and the buttons are not the body's)."""
    return {
        name: form.getlist(name) if get_origin(info.annotation) is list else form.get(name)
        for name, info in model.model_fields.items()
        if name in form
    }
