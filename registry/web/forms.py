"""Small helpers every HTML form view shares: keep what was typed, show errors by the field."""
from __future__ import annotations

from flask import g, render_template, request

from registry.errors import RegistryError


def form_values() -> dict[str, str]:
    return {k: v for k, v in request.form.items() if k not in ("csrf_token", "password", "new_password",
                                                                "current_password", "code")}


def render_form(template: str, error: RegistryError | None = None, status: int = 200, **context):
    """The page, shown again with its errors when the request was refused (its work is then rolled back)."""
    if error is not None:
        status = error.http_status
        context.setdefault("errors", error.fields or {"form": error.message})
    if status >= 400:
        g.refusal, g.refusal_page = error, True
    context.setdefault("errors", {})
    context.setdefault("values", form_values())
    return render_template(template, **context), status
