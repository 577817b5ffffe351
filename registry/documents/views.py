"""Document pages: upload with clear errors, the document with its viewing copy and history."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, request, url_for

from registry.accounts.permissions import Permission
from registry.documents import service
from registry.documents.inspection import DOCUMENT_KINDS
from registry.documents.models import PersonRole
from registry.documents.web import send_content, upload_policy, uploaded_file
from registry.errors import Refused, ValidationFailed
from registry.i18n import _
from registry.persons import service as persons
from registry.runtime import current_runtime, db
from registry.web.errors import audit_unavailable, log_refusal
from registry.web.forms import render_form
from registry.web.policy import current_actor, requires

bp = Blueprint("documents", __name__, template_folder="templates")
CHOICES = {"kinds": DOCUMENT_KINDS, "roles": [r.value for r in PersonRole]}


@bp.route("/persons/<person_id>/documents/new", methods=["GET", "POST"])
@requires(Permission.DOCUMENT_UPLOAD)
def upload(person_id: str):
    actor = current_actor()
    person = persons.get_person(db(), actor, person_id)  # the form names the person: a read
    if request.method != "POST":  # GET or HEAD: show the form
        return render_form("documents/upload.html", person=person, choices=CHOICES)
    form = request.form
    try:
        result = service.upload_document(
            db(), actor, current_runtime().store, upload_policy(), person_id=person_id, kind=form.get("kind", ""),
            title=form.get("title", ""), role=form.get("role", "subject"), upload=uploaded_file())
    except (ValidationFailed, Refused) as error:
        if not log_refusal(error):
            return audit_unavailable()
        # A refused file keeps its own status (413, 415, 422, 503) and is explained beside the file field.
        errors = error.fields or {"file" if isinstance(error, Refused) else "form": error.message}
        return render_form("documents/upload.html", person=person, choices=CHOICES, errors=errors,
                           status=error.http_status)
    if result.duplicates:
        flash(_("The same file is already attached elsewhere: %(titles)s",
                titles=", ".join(d.title for d in result.duplicates)), "warning")
    return redirect(url_for("documents.show_document", document_id=result.document.id))


@bp.get("/documents/<document_id>")
@requires(Permission.DOCUMENT_READ)
def show_document(document_id: str):
    document = service.get_document(db(), current_actor(), document_id)
    return render_form("documents/show.html", document=document, problem=service.viewing_problem(document.current))


def _send(document_id: str, *, original: bool):
    version = request.args.get("version", type=int)
    return send_content(service.read_content(db(), current_actor(), current_runtime().store, document_id,
                                             original=original, version=version), attachment=original)


@bp.get("/documents/<document_id>/content")
@requires(Permission.DOCUMENT_READ)
def content(document_id: str):
    return _send(document_id, original=False)


@bp.get("/documents/<document_id>/original")
@requires(Permission.DOCUMENT_ORIGINAL)
def original(document_id: str):
    return _send(document_id, original=True)


@bp.post("/documents/<document_id>/versions")
@requires(Permission.DOCUMENT_UPLOAD)
def add_version(document_id: str):
    try:
        service.add_version(db(), current_actor(), current_runtime().store, upload_policy(),
                            document_id=document_id, upload=uploaded_file(), reason=request.form.get("reason", ""))
    except (ValidationFailed, Refused) as error:
        if not log_refusal(error):
            return audit_unavailable()
        flash(error.message, "error")
    return redirect(url_for("documents.show_document", document_id=document_id))
