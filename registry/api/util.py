"""Reading JSON request bodies: anything malformed is a 422 with the field named, never a 500."""

from __future__ import annotations

from typing import Any

from flask import request

from registry.errors import ValidationFailed, validation
from registry.i18n import _


def json_body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ValidationFailed(str(_("Send a JSON object with Content-Type: application/json.")))
    return body


def text_field(
    body: dict[str, Any], name: str, *, required: bool = False, default: str = "", max_length: int = 1000
) -> str:
    value = body.get(name, None)
    if value is None:
        if required:
            raise validation(**{name: str(_("This field is required."))})
        return default
    if not isinstance(value, str):
        raise validation(**{name: str(_("This field must be text."))})
    value = value.strip()
    if required and not value:
        raise validation(**{name: str(_("This field is required."))})
    if len(value) > max_length:
        raise validation(**{name: str(_("At most %(n)d characters.", n=max_length))})
    return value


MAX_PAGE = 100_000  # far past any real list; keeps OFFSET inside what every database accepts


def page_number(raw: str | None) -> int:
    """A page number from a query string; anything odd is page 1, anything huge the last allowed page."""
    try:
        return min(MAX_PAGE, max(1, int(raw or "1")))
    except ValueError:
        return 1


def page_args(default_size: int = 25, max_size: int = 100) -> tuple[int, int]:
    try:
        page = min(MAX_PAGE, max(1, int(request.args.get("page", "1"))))
        size = min(max_size, max(1, int(request.args.get("per_page", str(default_size)))))
    except ValueError:
        raise validation(page=str(_("page and per_page must be whole numbers."))) from None
    return page, size
