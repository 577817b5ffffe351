"""Restoration pages: the clerk's work list, opening a request, and one request with every step."""

from __future__ import annotations

from flask import Blueprint, redirect, request, url_for

from registry.accounts.permissions import Permission
from registry.documents import service as documents
from registry.documents.models import Document
from registry.errors import Conflict, RegistryError, ValidationFailed
from registry.i18n import _
from registry.persons import service as persons
from registry.restoration import labels, service
from registry.runtime import db
from registry.web import listing
from registry.web.errors import refused
from registry.web.forms import render_form
from registry.web.policy import current_actor, requires

bp = Blueprint("restoration", __name__, template_folder="templates")
FAILURES = (ValidationFailed, Conflict)


@bp.context_processor
def _labels() -> dict:
    """The translated words for every choice, in every restoration template."""
    return {"wanted": labels.WANTED_LABELS, "reasons": labels.REASON_LABELS, "statuses": labels.STATUS_LABELS}


VIEW_WORDS = (
    ("mine", _("My open requests")),
    ("overdue", _("Overdue")),
    ("waiting_for_evidence", _("Waiting for evidence")),
)
SORTS = (
    ("due", _("Due soonest first")),
    ("-due", _("Due latest first")),
    ("-opened", _("Newest first")),
    ("opened", _("Oldest first")),
    ("status", _("Status")),
    ("wanted", _("Document wanted")),
)


@bp.get("/restorations")
@requires(Permission.RESTORATION_READ)
def work_list():
    """Every request the caller may see, or a clerk's view of them (mine, overdue, waiting), by stage and
    document, in the order asked for, a page at a time."""
    actor = current_actor()
    options = {
        "views": VIEW_WORDS,
        "sorts": SORTS,
        "sort_default": service.RESTORATION_LIST.default_sort,
        "status_options": list(labels.STATUS_LABELS.items()),
        "wanted_options": list(labels.WANTED_LABELS.items()),
        "filters": request.args,
    }
    try:
        result = service.list_requests(db(), actor, listing.read(request.args, service.RESTORATION_LIST))
    except ValidationFailed as error:
        return render_form("restoration/work_list.html", error, result=None, **options)
    people, users = service.context_for(db(), result.items)
    return render_form(
        "restoration/work_list.html",
        result=result,
        persons=people,
        users=users,
        is_overdue=service.is_overdue,
        **options,
    )


def _new_page(error: RegistryError | None = None):
    return render_form("restoration/new.html", error, clerks=service.clerks(db()))


@bp.route("/restorations/new", methods=["GET", "POST"])
@requires(Permission.RESTORATION_WRITE)
def new_request():
    if request.method != "POST":  # GET or HEAD: show the form
        return _new_page()
    form = request.form
    try:
        person = persons.person_by_number(db(), form.get("registry_number", ""), current_actor())
        opened = service.open_request(
            db(),
            current_actor(),
            person_id=person.id,
            document_wanted=form.get("document_wanted", ""),
            reason=form.get("reason", ""),
            assigned_clerk_id=form.get("assigned_clerk_id", ""),
            due_date=form.get("due_date", ""),
            notes=form.get("notes", ""),
        )
    except FAILURES as error:
        return refused(error, lambda failed: _new_page(failed))
    return redirect(url_for("restoration.show", request_id=opened.id))


def _documents_for(found) -> list:
    """Documents of the child and of the mother, for the evidence and issued-document choices."""
    actor = current_actor()
    people, _users = service.context_for(db(), [found])
    seen: dict[str, Document] = {}
    for person in people.values():
        for document, _role in documents.documents_of_person(db(), actor, person):
            seen.setdefault(document.id, document)
    return list(seen.values())


def _show_page(request_id: str, error: RegistryError | None = None, failed: str = ""):
    """``failed`` names the form whose errors and typed values the page shows."""
    actor = current_actor()
    found = service.get_request(db(), actor, request_id)
    people, users = service.context_for(db(), [found])
    candidates = _documents_for(found) if actor.can(Permission.RESTORATION_WRITE) else []
    return render_form(
        "restoration/show.html",
        error,
        req=found,
        persons=people,
        users=users,
        evidence=service.evidence_documents(db(), actor, found),
        candidates=candidates,
        steps=sorted(service.allowed_steps(found)),
        clerks=service.clerks(db()) if actor.can(Permission.RESTORATION_WRITE) else [],
        editable=service.choices_editable(found),
        sees_actual_place=service.sees_actual_place(actor),
        overdue=service.is_overdue(found),
        failed=failed,
    )


@bp.get("/restorations/<request_id>")
@requires(Permission.RESTORATION_READ)
def show(request_id: str):
    return _show_page(request_id)


def _step(request_id: str, failed: str, action):
    try:
        action()
    except FAILURES as error:
        return refused(error, lambda refusal: _show_page(request_id, refusal, failed))
    return redirect(url_for("restoration.show", request_id=request_id))


@bp.post("/restorations/<request_id>/evidence")
@requires(Permission.RESTORATION_WRITE)
def attach_evidence(request_id: str):
    return _step(
        request_id,
        "evidence",
        lambda: service.attach_evidence(
            db(), current_actor(), request_id, document_id=request.form.get("document_id", "")
        ),
    )


@bp.post("/restorations/<request_id>/status")
@requires(Permission.RESTORATION_WRITE)
def change_status(request_id: str):
    form = request.form
    return _step(
        request_id,
        "status",
        lambda: service.change_status(
            db(),
            current_actor(),
            request_id,
            status=form.get("status", ""),
            note=form.get("note", ""),
            issued_document_id=form.get("issued_document_id", ""),
        ),
    )


@bp.post("/restorations/<request_id>/mother-choices")
@requires(Permission.RESTORATION_WRITE)
def mother_choices(request_id: str):
    form = request.form

    def record() -> None:
        mother = persons.person_by_number(db(), form.get("mother_registry_number", ""), current_actor())
        service.record_mother_choices(db(), current_actor(), request_id, {**form.to_dict(), "mother_id": mother.id})

    return _step(request_id, "mother", record)


@bp.post("/restorations/<request_id>/assignment")
@requires(Permission.RESTORATION_WRITE)
def reassign(request_id: str):
    form = request.form
    return _step(
        request_id,
        "assignment",
        lambda: service.reassign(
            db(),
            current_actor(),
            request_id,
            assigned_clerk_id=form.get("assigned_clerk_id", ""),
            due_date=form.get("due_date", ""),
        ),
    )
