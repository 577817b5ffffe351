"""Pages: the clerks' review queue of possible same persons, their decisions, and undoing a merge.

The candidates of one person are shown on the person's page and before a registration is saved
(``registry.persons.views``); these routes take the decisions.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, request, url_for

from registry.accounts.permissions import Permission
from registry.errors import Conflict, ValidationFailed
from registry.i18n import _
from registry.matching import service, words
from registry.runtime import db
from registry.web.forms import render_form
from registry.web.listing import MAX_PAGE
from registry.web.policy import current_actor, requires

bp = Blueprint("matching", __name__, template_folder="templates")


def _page() -> int:
    try:
        return min(MAX_PAGE, max(1, int(request.args.get("page", "1"))))
    except ValueError:
        return 1


@bp.get("/matches")
@requires(Permission.PERSON_WRITE)
def review_queue():
    """Pairs of records that may be one person, waiting for a clerk's decision."""
    return _queue_page()


def _queue_page(error=None):
    result = service.review_queue(db(), current_actor(), _page())
    return render_form("matching/queue.html", error, result=result, explained=words.explained, bands=words.BANDS)


def _refused(error, person_id: str):
    """The page the decision was taken on, shown again with why it was refused."""
    if request.form.get("back") == "person":
        from registry.persons.views import person_page

        return person_page(person_id, error)
    return _queue_page(error)


_DONE = {
    "same": _("Merge proposed. It takes effect when a second clerk approves it."),
    "not_same": _("Recorded: not the same person. This pair will not be offered again."),
    "reject": _("The merge proposal was withdrawn; the pair waits for a decision again."),
}


@bp.post("/persons/<person_id>/matches/<other_id>")
@requires(Permission.PERSON_WRITE)
def decide(person_id: str, other_id: str):
    """ "Same person" (a merge proposal), "not the same", or a second clerk's approval or rejection of a proposal."""
    form = request.form
    data = {
        "decision": form.get("decision"),
        "reason": form.get("reason", ""),
        "survivor_id": form.get("survivor_id") or None,
    }
    try:
        _pair, merged = service.decide(db(), current_actor(), person_id, other_id, data)
    except (ValidationFailed, Conflict) as error:
        return _refused(error, person_id)
    if merged is not None:
        flash(_("The records were merged. The merge can be undone from this page."), "info")
        return redirect(url_for("persons.show_person", person_id=merged.survivor_id))
    flash(_DONE[data["decision"]], "info")
    if form.get("back") == "person":
        return redirect(url_for("persons.show_person", person_id=person_id))
    return redirect(url_for("matching.review_queue"))


@bp.post("/merges/<merge_id>/undo")
@requires(Permission.PERSON_WRITE)
def undo(merge_id: str):
    """The merged record stands on its own again, with what it brought."""
    found = service.get_merge(db(), current_actor(), merge_id)
    try:
        service.undo_merge(db(), current_actor(), merge_id, {"reason": request.form.get("reason", "")})
    except (ValidationFailed, Conflict) as error:
        from registry.persons.views import person_page

        return person_page(found.survivor_id, error)
    flash(_("The merge was undone: both records stand on their own again."), "info")
    return redirect(url_for("persons.show_person", person_id=found.merged_id))
