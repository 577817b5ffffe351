"""Person pages: list and search, one person, registration and editing."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue

from registry.accounts.actor import Actor
from registry.accounts.permissions import Permission
from registry.api.schema import parse, renamed
from registry.audit import reports
from registry.cases import service as cases
from registry.documents import service as documents
from registry.errors import Conflict, RegistryError, ValidationFailed, validation
from registry.i18n import _
from registry.matching import engine as match_engine
from registry.matching import service as matching
from registry.matching import words
from registry.persons import service
from registry.persons.api import export_response
from registry.persons.models import Category, DatePrecision, NameKind, Person, PersonStatus, Script, Sex
from registry.persons.schemas import EDITABLE_FIELDS, PersonChange, PersonCreate
from registry.runtime import db
from registry.web import listing
from registry.web.forms import NAME_PARTS, render_form, script_questions
from registry.web.labels import label
from registry.web.policy import current_actor, requires

bp = Blueprint("persons", __name__, template_folder="templates")

CHOICES = {
    "sex": list(Sex),
    "precision": list(DatePrecision),
    "status": list(PersonStatus),
    "categories": list(Category),
    "name_kinds": list(NameKind),
    "scripts": list(Script),
}


ROWS = 3  # rows of names on the form


def _form_to_data() -> tuple[dict[str, Any], list[int]]:
    """What the form sent, as the API's body would carry it, and the form row each name came from."""
    form = request.form
    rows = [i for i in range(ROWS) if form.get(f"family_name_{i}") or form.get(f"given_name_{i}")]
    data: dict[str, Any] = {k: form.get(k, "") for k in EDITABLE_FIELDS if k in form}
    data["categories"] = form.getlist("categories")
    data["names"] = [
        {
            "family_name": form.get(f"family_name_{i}", ""),
            "given_name": form.get(f"given_name_{i}", ""),
            "patronymic": form.get(f"patronymic_{i}", ""),
            "kind": form.get(f"kind_{i}", "official"),
            "script": form.get(f"script_{i}", "cyrillic"),
            "is_official": i == 0,
        }
        for i in rows
    ]
    return data, rows


def _on_form(error: ValidationFailed, rows: list[int]) -> ValidationFailed:
    """The refusal's fields named as the form's inputs: a name's part by its row, anything else of the names on
    the names, a category on the categories."""

    def field_of(path: str) -> str:
        parts = path.split(".")
        if parts[0] == "names" and len(parts) == 3 and parts[1].isdigit() and int(parts[1]) < len(rows):
            if parts[2] in (*NAME_PARTS, "kind", "script"):
                return f"{parts[2]}_{rows[int(parts[1])]}"
        return parts[0]

    return renamed(error, field_of)


# The order choices of the list, in the words of the page.
SORTS = (
    ("", _("Best match first (when searching), newest first")),
    ("registry_number", _("Registry number")),
    ("name", _("Name")),
    ("-born", _("Youngest first")),
    ("born", _("Eldest first")),
    ("status", _("Status")),
    ("-registered", _("Newest registered first")),
    ("registered", _("Oldest registered first")),
)


def _filter_options(actor: Actor) -> dict[str, list[tuple[str, str]]]:
    """Each filter's (value, words) choices: regions and stages as written on the caller's persons' records."""
    written = service.list_choices(db(), actor)
    return {
        "status": [(s.value, label(s, "person_status")) for s in PersonStatus],
        "category": [(c.value, label(c, "category")) for c in Category],
        "region": [(r, r) for r in written["region"]],
        "stage": [(s, s) for s in written["stage"]],
        "case": [(c.id, f"{c.reference} · {c.title}") for c in cases.cases_for(db(), actor)],
    }


@bp.get("/persons")
@requires(Permission.PERSON_READ)
def list_persons() -> ResponseReturnValue:
    """Persons the caller may see: searched, filtered, sorted, a page at a time."""
    actor = current_actor()
    q = request.args.get("q", "")
    page = dict(q=q, sorts=SORTS, options=_filter_options(actor), values=request.args)
    try:
        wanted = listing.read(request.args, service.PERSON_LIST)
        result = service.search_persons(
            db(), actor, q, wanted.page, wanted.per_page, sort=wanted.sort, filters=wanted.filters
        )
    except ValidationFailed as error:
        return render_form("persons/list.html", error, result=None, **page)
    return render_form("persons/list.html", result=result, **page)


@bp.route("/persons/new", methods=["GET", "POST"])
@requires(Permission.PERSON_WRITE)
def new_person() -> ResponseReturnValue:
    if request.method != "POST":  # GET or HEAD: show the form
        return render_form("persons/edit.html", person=None, choices=CHOICES, checked_categories=[])
    candidates: list = []
    data, rows = _form_to_data()
    try:
        _question_scripts()
        candidates = _likely_same(data)
        if candidates:
            raise validation(
                possible_matches=str(
                    _(
                        "This person may be registered already: see the records below. Open the one that is the same "
                        "person, or tick that none is and register anyway."
                    )
                )
            )
        person = service.create_person(db(), current_actor(), parse(PersonCreate, data))
    except ValidationFailed as error:
        return render_form(
            "persons/edit.html",
            _on_form(error, rows),
            person=None,
            choices=CHOICES,
            checked_categories=request.form.getlist("categories"),
            candidates=candidates,
            explained=words.explained,
            bands=words.BANDS,
        )
    return redirect(url_for("persons.show_person", person_id=person.id))


def _likely_same(data: dict[str, Any]) -> list:
    """Before a new record is saved: registered persons likely to be the same one, asked about once (the clerk
    opens one of them instead, or ticks that none is and registers anyway)."""
    if request.form.get("register_anyway"):
        return []
    draft = matching.clean_draft(data)
    return matching.candidates_of_draft(
        db(), current_actor(), data, draft=draft, threshold=match_engine.LIKELY, log_empty=False
    )


def _question_scripts() -> None:
    """A name in other letters than its script says is asked about once, before anything is saved."""
    questions = script_questions(request.form)
    if questions:
        raise validation(**questions)


def _values_of(person: Person) -> dict[str, str]:
    """The form fields of an existing record, so the edit form opens filled in."""
    values = {
        field: "" if getattr(person, field) is None else str(getattr(person, field))
        for field in EDITABLE_FIELDS
        if field != "categories"
    }
    values["revision"] = str(person.revision)
    for i, name in enumerate(person.names[:ROWS]):
        values.update(
            {
                f"family_name_{i}": name.family_name,
                f"given_name_{i}": name.given_name,
                f"patronymic_{i}": name.patronymic,
                f"kind_{i}": name.kind,
                f"script_{i}": name.script,
            }
        )
    return values


@bp.route("/persons/<person_id>/edit", methods=["GET", "POST"])
@requires(Permission.PERSON_WRITE)
def edit_person(person_id: str) -> ResponseReturnValue:
    actor = current_actor()
    person = service.get_person(db(), actor, person_id)
    if request.method != "POST":  # GET or HEAD: show the filled-in form
        return render_form(
            "persons/edit.html",
            person=person,
            choices=CHOICES,
            values=_values_of(person),
            checked_categories=person.category_list,
        )
    data, rows = _form_to_data()
    data["names"] += [
        {
            "family_name": n.family_name,
            "given_name": n.given_name,
            "patronymic": n.patronymic,
            "kind": n.kind,
            "script": n.script,
            "is_official": False,
        }
        for n in person.names[ROWS:]
    ]  # the form shows ROWS names; the others are kept as they are
    try:
        data["revision"] = int(request.form.get("revision", ""))
    except ValueError:
        data["revision"] = -1
    try:
        _question_scripts()
        service.update_person(db(), actor, person_id, parse(PersonChange, data))
    except (ValidationFailed, Conflict) as error:
        return render_form(
            "persons/edit.html",
            _on_form(error, rows) if isinstance(error, ValidationFailed) else error,
            person=person,
            choices=CHOICES,
            checked_categories=request.form.getlist("categories"),
        )
    return redirect(url_for("persons.show_person", person_id=person_id))


@bp.get("/persons/<person_id>")
@requires(Permission.PERSON_READ)
def show_person(person_id: str) -> ResponseReturnValue:
    actor = current_actor()
    survivor = service.survivor_of(db(), person_id)
    if survivor != person_id and cases.can_see_person(db(), actor, survivor):
        flash(_("That record was found to be the same person as this one and was merged into it."), "info")
        return redirect(url_for("persons.show_person", person_id=survivor))
    return person_page(person_id)


def person_page(person_id: str, error: RegistryError | None = None) -> ResponseReturnValue:
    """The person's page; shown again with ``error`` when a decision made on it was refused."""
    actor = current_actor()
    person = service.get_person(db(), actor, person_id)
    return render_form(
        "persons/show.html",
        error,
        person=person,
        restricted=service.sees_restricted(actor),
        documents=documents.documents_of_person(db(), actor, person),
        history=reports.changes_of_person(db(), person.id),
        candidates=matching.candidates_of_person(db(), actor, person.id, on_page=True),
        merges=matching.merges_into(db(), person.id) if actor.can(Permission.PERSON_WRITE) else [],
        explained=words.explained,
        bands=words.BANDS,
    )


@bp.get("/persons/<person_id>/export")
@requires(Permission.PERSON_EXPORT)
def export_person(person_id: str) -> ResponseReturnValue:
    """The person page's download: the same signed ZIP as the API's."""
    return export_response(person_id)
