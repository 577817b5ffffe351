"""Case pages: the list, one case with its members and persons, emergency access."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue

from registry.accounts import service as accounts
from registry.accounts.permissions import Permission
from registry.api.schema import form_fields, parse
from registry.cases import service
from registry.cases.schemas import CaseCreate, EmergencyAccessOpen
from registry.errors import ValidationFailed
from registry.i18n import _
from registry.persons import service as persons
from registry.runtime import current_runtime, db
from registry.web import listing
from registry.web.forms import render_form
from registry.web.policy import current_actor, requires

bp = Blueprint("cases", __name__, template_folder="templates")


SORTS = (
    ("-opened", _("Newest first")),
    ("opened", _("Oldest first")),
    ("reference", _("Reference")),
    ("title", _("Title")),
)
STATUSES = (("open", _("open")), ("closed", _("closed")))


def _list_page(error: ValidationFailed | None = None) -> ResponseReturnValue:
    """The case list as asked for by the query string, with the form to open a case (and its errors)."""
    try:
        result = service.list_cases(db(), current_actor(), listing.read(request.args, service.CASE_LIST))
    except ValidationFailed as refused:
        error, result = error or refused, None
    return render_form(
        "cases/list.html",
        error,
        result=result,
        sorts=SORTS,
        statuses=STATUSES,
        filters=request.args,
        sort_default=service.CASE_LIST.default_sort,
    )


@bp.get("/cases")
@requires(Permission.CASE_READ)
def list_cases() -> ResponseReturnValue:
    return _list_page()


@bp.post("/cases")
@requires(Permission.CASE_MANAGE)
def create_case() -> ResponseReturnValue:
    try:
        body = parse(CaseCreate, form_fields(CaseCreate, request.form))
        case = service.create_case(db(), current_actor(), **body.model_dump())
    except ValidationFailed as error:
        return _list_page(error)
    return redirect(url_for("cases.show_case", case_id=case.id))


@bp.get("/cases/<case_id>")
@requires(Permission.CASE_READ)
def show_case(case_id: str) -> ResponseReturnValue:
    actor = current_actor()
    case = service.get_case(db(), actor, case_id)
    return render_form(
        "cases/show.html",
        case=case,
        staff=accounts.list_users(db()),
        persons=persons.case_person_labels(db(), actor, case),
    )


@bp.post("/cases/<case_id>/members")
@requires(Permission.CASE_MANAGE)
def add_member(case_id: str) -> ResponseReturnValue:
    actor = current_actor()
    case = service.get_case(db(), actor, case_id)
    service.add_member(db(), actor, case, accounts.get_user(db(), request.form.get("user_id", "")))
    flash(_("The member is added."), "info")
    return redirect(url_for("cases.show_case", case_id=case.id))


@bp.post("/cases/<case_id>/members/<user_id>/remove")
@requires(Permission.CASE_MANAGE)
def remove_member(case_id: str, user_id: str) -> ResponseReturnValue:
    actor = current_actor()
    case = service.get_case(db(), actor, case_id)
    service.remove_member(db(), actor, case, accounts.get_user(db(), user_id))
    flash(_("The member is removed."), "info")
    return redirect(url_for("cases.show_case", case_id=case.id))


@bp.post("/cases/<case_id>/persons")
@requires(Permission.CASE_PERSONS)
def add_person(case_id: str) -> ResponseReturnValue:
    actor = current_actor()
    case = service.get_case(db(), actor, case_id)
    try:
        service.add_person_by_number(db(), actor, case, request.form.get("registry_number", ""))
    except ValidationFailed as error:
        return render_form(
            "cases/show.html",
            error,
            case=case,
            staff=accounts.list_users(db()),
            persons=persons.case_person_labels(db(), actor, case),
        )
    flash(_("The person is added to the case."), "info")
    return redirect(url_for("cases.show_case", case_id=case.id))


@bp.route("/persons/<person_id>/emergency-access", methods=["GET", "POST"])
@requires(Permission.EMERGENCY_ACCESS)
def emergency_access(person_id: str) -> ResponseReturnValue:
    if request.method != "POST":  # GET or HEAD: show the form
        return render_form("cases/emergency.html", person_id=person_id)
    try:
        body = parse(EmergencyAccessOpen, form_fields(EmergencyAccessOpen, request.form))
        service.open_emergency_access(
            db(), current_actor(), person_id, body.reason, current_runtime().settings.emergency_access_minutes
        )
    except ValidationFailed as error:
        return render_form("cases/emergency.html", error, person_id=person_id)
    flash(_("Emergency access is open and recorded in the access log."), "info")
    return redirect(url_for("persons.show_person", person_id=person_id))
