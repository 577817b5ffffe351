"""Document pages: upload with clear errors (from a claim: naming both its persons), the document with its
viewing copy, the persons it concerns and its history."""

from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue

from registry.accounts.permissions import Permission
from registry.api.schema import form_fields, parse
from registry.audit.events import Action
from registry.cases import service as cases
from registry.documents import lists, service
from registry.documents.inspection import DOCUMENT_KINDS
from registry.documents.models import Document, PersonRole, ViewingStatus
from registry.documents.schemas import DocumentUpload, LinkRole, VersionUpload
from registry.documents.web import send_content, upload_policy, uploaded_file
from registry.errors import Refused, RegistryError, ValidationFailed
from registry.holds import service as holds
from registry.i18n import _
from registry.kinship import service as kinship
from registry.kinship.labels import KIND_LABELS
from registry.persons import service as persons
from registry.persons.models import Person
from registry.runtime import current_runtime, db
from registry.web import listing
from registry.web.errors import refused
from registry.web.forms import render_form
from registry.web.labels import label
from registry.web.policy import current_actor, requires

bp = Blueprint("documents", __name__, template_folder="templates")
CHOICES = {"kinds": DOCUMENT_KINDS, "roles": [r.value for r in PersonRole]}
FORM = {"choices": CHOICES, "relation_words": KIND_LABELS}


def _claim_values(target: kinship.EvidenceUpload | None) -> dict[str, str]:
    """What the form from a claim starts with: the evidence it waits for, both persons' usual roles."""
    if target is None:
        return {}
    kind = request.args.get("kind", "")
    roles = kinship.suggested_roles(target.relationship)
    return {
        "kind": kind if kind in DOCUMENT_KINDS else "",
        "role": roles[target.person.id],
        "other_role": roles[target.other.id],
    }


@bp.route("/persons/<person_id>/documents/new", methods=["GET", "POST"])
@requires(Permission.DOCUMENT_UPLOAD)
def upload(person_id: str) -> ResponseReturnValue:
    """Reached from a claim (``?relationship=``), the upload names both its persons and is attached to it."""
    actor = current_actor()
    person = persons.get_person(db(), actor, person_id)  # the form names the person: a read
    form = request.form
    relationship_id = (
        form.get("relationship_id", "") if request.method == "POST" else request.args.get("relationship", "")
    )
    target = kinship.evidence_upload(db(), actor, relationship_id, person_id) if relationship_id else None
    if request.method != "POST":  # GET or HEAD: show the form
        return render_form("documents/upload.html", person=person, **FORM, target=target, values=_claim_values(target))
    try:
        body = parse(DocumentUpload, form_fields(DocumentUpload, form))
        if target is not None:
            kinship.other_role(form.get("other_role", ""))  # refused before the file is taken in
        result = service.upload_document(
            db(),
            actor,
            current_runtime().store,
            upload_policy(),
            person_id=person_id,
            described=body,
            upload=uploaded_file(),
        )
        if target is not None:
            kinship.attach_upload(db(), actor, target, result.document, form.get("other_role", ""))
    except (ValidationFailed, Refused) as error:
        # A refused file keeps its own status (413, 415, 422, 503) and is explained beside the file field.
        errors = error.fields or {"file" if isinstance(error, Refused) else "form": error.message}
        return refused(
            error,
            lambda failed: render_form(
                "documents/upload.html", person=person, **FORM, errors=errors, status=failed.http_status, target=target
            ),
        )
    if target is None:
        flash(_("The document is uploaded."), "info")
    else:
        flash(
            _(
                "The document is uploaded, concerns %(person)s and %(other)s, and is attached to the claim.",
                person=target.person.registry_number,
                other=target.other.registry_number,
            ),
            "info",
        )
    if result.duplicates:
        flash(
            _(
                "The same file is already attached elsewhere: %(titles)s",
                titles=", ".join(d.title for d in result.duplicates),
            ),
            "warning",
        )
    return redirect(url_for("documents.show_document", document_id=result.document.id))


SORTS = (("-uploaded", _("Newest first")), ("uploaded", _("Oldest first")), ("title", _("Title")), ("kind", _("Kind")))
COPY_STATES = (
    (ViewingStatus.READY.value, _("viewing copy ready")),
    (ViewingStatus.PENDING.value, _("viewing copy being made")),
    (ViewingStatus.FAILED.value, _("no viewing copy could be made")),
)


@bp.get("/documents")
@requires(Permission.DOCUMENT_READ)
def list_documents() -> ResponseReturnValue:
    """The documents the caller may read, by kind and by the state of their viewing copy, a page at a time."""
    actor = current_actor()
    readable = [k for k in DOCUMENT_KINDS if k != service.GENOMIC or actor.can(Permission.GENOMIC_READ)]
    page = {
        "kinds": [(k, label(k, "document_kind")) for k in readable],
        "states": COPY_STATES,
        "sorts": SORTS,
        "sort_default": lists.DOCUMENT_LIST.default_sort,
        "filters": request.args,
    }
    try:
        result = lists.list_documents(db(), actor, listing.read(request.args, lists.DOCUMENT_LIST))
    except ValidationFailed as error:
        return render_form("documents/list.html", error, result=None, **page)
    return render_form(
        "documents/list.html", result=result, persons=lists.visible_persons(db(), actor, result.items), **page
    )


def _linked_persons(document: Document) -> list[tuple[Person, str]]:
    """The persons the document concerns, with their roles, as far as the reader may see them."""
    actor = current_actor()
    return [
        (db().get(Person, link.person_id), link.role)
        for link in document.persons
        if cases.can_see_person(db(), actor, link.person_id)
    ]


def _document_page(document_id: str, error: RegistryError | None = None) -> ResponseReturnValue:
    document = service.get_document(db(), current_actor(), document_id)
    disposal = service.disposal_of(db(), document.current)
    return render_form(
        "documents/show.html",
        error,
        document=document,
        problem=service.viewing_problem(document.current),
        linked=_linked_persons(document),
        roles=CHOICES["roles"],
        recorded=kinship.findings_recorded(db(), document),
        held=holds.document_held(db(), document),
        disposed=service.disposed_words(disposal) if disposal else "",
    )


@bp.get("/documents/<document_id>")
@requires(Permission.DOCUMENT_READ)
def show_document(document_id: str) -> ResponseReturnValue:
    return _document_page(document_id)


@bp.post("/documents/<document_id>/persons")
@requires(Permission.DOCUMENT_UPLOAD)
def link_person(document_id: str) -> ResponseReturnValue:
    """The document also concerns another person (a DNA result or a ruling names both persons of a claim)."""
    actor = current_actor()
    form = request.form
    document = service.get_document(db(), actor, document_id, log=False, action=Action.DOCUMENT_LINKED)
    try:
        role = parse(LinkRole, form_fields(LinkRole, form)).role
        person = persons.person_by_number(db(), form.get("registry_number", ""), actor)
        service.link_person(db(), actor, document, person.id, role.value, store=current_runtime().store)
    except ValidationFailed as error:
        return refused(error, lambda failed: _document_page(document_id, failed))
    flash(
        _(
            "The document now also concerns %(number)s (%(role)s).",
            number=person.registry_number,
            role=label(role, "person_role"),
        ),
        "info",
    )
    return redirect(url_for("documents.show_document", document_id=document_id))


def _send(document_id: str, *, original: bool) -> Response:
    version = request.args.get("version", type=int)
    return send_content(
        service.read_content(
            db(), current_actor(), current_runtime().store, document_id, original=original, version=version
        ),
        attachment=original,
    )


@bp.get("/documents/<document_id>/content")
@requires(Permission.DOCUMENT_READ)
def content(document_id: str) -> ResponseReturnValue:
    return _send(document_id, original=False)


@bp.get("/documents/<document_id>/original")
@requires(Permission.DOCUMENT_ORIGINAL)
def original(document_id: str) -> ResponseReturnValue:
    return _send(document_id, original=True)


@bp.post("/documents/<document_id>/versions")
@requires(Permission.DOCUMENT_UPLOAD)
def add_version(document_id: str) -> ResponseReturnValue:
    try:
        body = parse(VersionUpload, form_fields(VersionUpload, request.form))
        service.add_version(
            db(),
            current_actor(),
            current_runtime().store,
            upload_policy(),
            document_id=document_id,
            upload=uploaded_file(),
            reason=body.reason,
        )
    except (ValidationFailed, Refused) as error:
        return refused(error, lambda failed: _flashed(failed.message, document_id))
    return redirect(url_for("documents.show_document", document_id=document_id))


def _flashed(message: str, document_id: str) -> ResponseReturnValue:
    """A refused new version is told on the document page, which the browser is sent back to."""
    flash(message, "error")
    return redirect(url_for("documents.show_document", document_id=document_id))
