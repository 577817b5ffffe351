"""Small helpers every HTML form view shares: keep what was typed, show errors by the field, give back
what was typed before a session ended."""

from __future__ import annotations

from flask import flash, g, render_template, request

from registry.accounts import drafts
from registry.errors import RegistryError
from registry.i18n import _
from registry.runtime import current_runtime, db
from registry.web.labels import label, script_mismatch
from registry.web.policy import current_actor

NAME_PARTS = ("family_name", "given_name", "patronymic")


class FormValues(dict):
    """What was typed: one value per field, and every value of a field that has several (check boxes)."""

    def __init__(self, pairs: list[tuple[str, str]], *, restored: bool = False):
        super().__init__()
        self.lists: dict[str, list[str]] = {}
        self.restored = restored
        for name, value in pairs:
            self.setdefault(name, value)
            self.lists.setdefault(name, []).append(value)

    def getlist(self, name: str) -> list[str]:
        return self.lists.get(name, [])


def form_values() -> FormValues:
    return FormValues(drafts.keepable(list(request.form.items(multi=True))))


def _restored_draft() -> FormValues | None:
    """On showing a form: what its user typed into it before their session ended, if anything."""
    user_id = current_actor().user_id
    if request.method != "GET" or user_id is None:
        return None
    kept = drafts.take(db(), user_id, request.path, current_runtime().settings.secret_key)
    if not kept:
        return None
    flash(_("This form is filled in with what you typed before your session ended. Check it and save."), "info")
    return FormValues(kept, restored=True)


def render_form(template: str, error: RegistryError | None = None, status: int = 200, **context):
    """The page, shown again with its errors when the request was refused (its work is then rolled back)."""
    if error is not None:
        status = error.http_status
        context.setdefault("errors", error.fields or {"form": error.message})
    if status >= 400:
        g.refusal, g.refusal_page = error, True
    context.setdefault("errors", {})
    restored = _restored_draft()
    if restored is not None:
        context["values"] = restored
    context.setdefault("values", form_values())
    return render_template(template, **context), status


def script_questions(form, rows: int = 3) -> dict[str, str]:
    """A name whose letters are in another script than the one chosen for it is questioned once (Latin
    letters under 'Cyrillic' is a slip that breaks search and the printed record): the clerk corrects the
    script, or ticks that it is right as chosen."""
    questions = {}
    for i in (i for i in range(rows) if f"script_{i}" in form):
        chosen = form[f"script_{i}"]
        actual = script_mismatch(chosen, *(form.get(f"{part}_{i}", "") for part in NAME_PARTS))
        if actual is not None and not form.get(f"script_confirmed_{i}"):
            questions[f"script_{i}"] = str(
                _(
                    "These letters are %(actual)s, but the script chosen is %(chosen)s. Choose the right script, "
                    "or tick the box below to keep it as it is.",
                    actual=label(actual, "script"),
                    chosen=label(chosen, "script"),
                )
            )
    return questions
