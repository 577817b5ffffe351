"""Pages for legal holds (clerks and lawyers: list, place, lift) and for the retention schedule (clerks: what
is due, proposals, approval by a second person)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, request, url_for

from registry.accounts.permissions import Permission
from registry.errors import Conflict, Forbidden, RegistryError, ValidationFailed
from registry.holds import disposal as disposals
from registry.holds import service
from registry.holds.models import HoldTarget
from registry.i18n import _
from registry.runtime import current_runtime, db
from registry.web.forms import render_form
from registry.web.policy import current_actor, requires

bp = Blueprint("holds", __name__, template_folder="templates")

TARGETS = (
    (HoldTarget.PERSON.value, _("a person (everything linked to them)")),
    (HoldTarget.CASE.value, _("a case (everything linked to its persons)")),
    (HoldTarget.DOCUMENT.value, _("one document")),
)
STATUSES = {"proposed": _("awaiting approval"), "approved": _("approved: files disposed of"), "rejected": _("rejected")}
# Why a document past its period is kept (the code before the colon in disposal.Due.kept).
KEPT = {
    disposals.HELD: _("under a legal hold"),
    disposals.LOCKED: _("locked in the store (WORM) for longer"),
    disposals.STORE_REFUSES: _("the object store refuses to delete it"),
    disposals.PROPOSED: _("named by a proposal awaiting approval"),
    disposals.PERMANENT_NOW: _("its kind is kept permanently now"),
    disposals.INSIDE_PERIOD: _("inside its period again (a new version, or a longer period)"),
    disposals.GONE: _("deleted or disposed of already"),
}
FORM_ERRORS = (ValidationFailed, Conflict, Forbidden)


def kept_words(kept: str) -> str:
    code, _sep, detail = (kept or "").partition(":")
    words = KEPT.get(code)
    return (
        ""
        if not kept
        else f"{words} ({detail.strip()})"
        if words and code in (disposals.LOCKED, disposals.STORE_REFUSES)
        else str(words or kept)
    )


# ---------------------------------------------------------------- legal holds


def _holds_page(error: RegistryError | None = None):
    args = request.args
    target_type, target_id = args.get("target_type", ""), args.get("target_id", "")
    found = service.list_holds(db(), current_actor(), target_type=target_type, target_id=target_id)
    values = {"target_type": target_type or HoldTarget.PERSON.value, "target_id": target_id}
    if request.method == "POST":
        values = dict(request.form.items())
    return render_form(
        "holds/holds.html",
        error,
        holds=found,
        targets=TARGETS,
        filtered=bool(target_type or target_id),
        store_holds=current_runtime().store.supports_legal_hold(),
        values=values,
    )


@bp.get("/legal-holds")
@requires(Permission.HOLD_MANAGE)
def list_holds():
    """From a person's, a case's or a document's page (``?target_type=&target_id=``): its holds, and the form
    filled in to place one."""
    return _holds_page()


@bp.post("/legal-holds")
@requires(Permission.HOLD_MANAGE)
def place_hold():
    form = request.form
    try:
        hold, target = service.place_hold(
            db(),
            current_actor(),
            current_runtime().store,
            target_type=form.get("target_type", ""),
            target_id=form.get("target_id", ""),
            reason=form.get("reason", ""),
        )
    except ValidationFailed as error:
        return _holds_page(error)
    flash(
        _(
            "The legal hold is placed on %(target)s: nothing it covers can be disposed of until it is lifted.",
            target=target.label,
        ),
        "info",
    )
    return redirect(url_for("holds.list_holds", target_type=hold.target_type, target_id=hold.target_id))


@bp.post("/legal-holds/<hold_id>/lift")
@requires(Permission.HOLD_MANAGE)
def lift_hold(hold_id: str):
    try:
        hold, target = service.lift_hold(
            db(), current_actor(), current_runtime().store, hold_id, request.form.get("reason", "")
        )
    except (ValidationFailed, Conflict) as error:
        return _holds_page(error)
    flash(_("The legal hold on %(target)s is lifted.", target=target.label), "info")
    return redirect(url_for("holds.list_holds", target_type=hold.target_type, target_id=hold.target_id))


# ---------------------------------------------------------------- retention and disposal


def _retention_page(error: RegistryError | None = None):
    settings = current_runtime().settings
    actor = current_actor()
    return render_form(
        "holds/retention.html",
        error,
        schedule=sorted(settings.retention_schedule.items()),
        due=disposals.due_documents(db(), settings.retention_schedule, store=current_runtime().store),
        disposals=disposals.list_disposals(db(), actor),
        statuses=STATUSES,
        kept_words=kept_words,
        me=actor.user_id,
        max_documents=disposals.MAX_DOCUMENTS,
    )


@bp.get("/retention")
@requires(Permission.RETENTION_MANAGE)
def retention():
    return _retention_page()


@bp.post("/retention/disposals")
@requires(Permission.RETENTION_MANAGE)
def propose_disposal():
    runtime = current_runtime()
    try:
        proposal = disposals.propose(db(), current_actor(), runtime.settings.retention_schedule, runtime.store)
    except FORM_ERRORS as error:
        return _retention_page(error)
    flash(
        _(
            "Disposal proposed (documents: %(n)d). Another member of staff who manages retention must approve it.",
            n=len(proposal.items),
        ),
        "info",
    )
    return redirect(url_for("holds.retention"))


@bp.post("/retention/disposals/<disposal_id>/approve")
@requires(Permission.RETENTION_MANAGE)
def approve_disposal(disposal_id: str):
    runtime = current_runtime()
    try:
        approved = disposals.approve(
            db(), current_actor(), runtime.store, runtime.audit_key, runtime.settings.retention_schedule, disposal_id
        )
    except FORM_ERRORS as error:
        return _retention_page(error)
    gone = sum(1 for item in approved.items if item.outcome == "disposed")
    flash(
        _(
            "Approved. Documents whose files are disposed of: %(gone)d; kept: %(kept)d. The signed disposal record "
            "is in the access log.",
            gone=gone,
            kept=len(approved.items) - gone,
        ),
        "info",
    )
    return redirect(url_for("holds.retention"))


@bp.post("/retention/disposals/<disposal_id>/reject")
@requires(Permission.RETENTION_MANAGE)
def reject_disposal(disposal_id: str):
    try:
        disposals.reject(db(), current_actor(), disposal_id, request.form.get("reason", ""))
    except FORM_ERRORS as error:
        return _retention_page(error)
    flash(_("The proposal is rejected; nothing was disposed of."), "info")
    return redirect(url_for("holds.retention"))
