"""Kinship pages: the lists, a person's family (SVG), a relationship with its evidence and steps,
the forms for genomic results and court rulings, and bundle downloads."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, flash, redirect, request, url_for

from registry.accounts.permissions import Permission
from registry.errors import Conflict, Refused, RegistryError, ValidationFailed
from registry.i18n import _
from registry.kinship import labels, service
from registry.kinship.api import bundle_response
from registry.kinship.evidence import verbal_scale
from registry.kinship.graph import family_svg
from registry.kinship.models import CourtRuling, Relationship
from registry.persons import service as persons
from registry.runtime import db
from registry.web.errors import refused
from registry.web.forms import render_form
from registry.web.policy import current_actor, requires

bp = Blueprint("kinship", __name__, template_folder="templates")
FAILURES = (ValidationFailed, Conflict, Refused)


@bp.context_processor
def _labels() -> dict:
    """The translated words for every choice, in every kinship template."""
    return {
        "kinds": labels.KIND_LABELS,
        "statuses": labels.STATUS_LABELS,
        "methods": labels.METHOD_LABELS,
        "conclusions": labels.CONCLUSION_LABELS,
        "covered_by": labels.COVERED_BY_LABELS,
        "appeals": labels.APPEAL_LABELS,
        "findings": labels.FINDING_LABELS,
        "strength_words": labels.strength_words,
        "verbal_scale": verbal_scale,
    }


@bp.get("/kinship")
@requires(Permission.KINSHIP_READ)
def overview():
    return render_form("kinship/overview.html", lists=service.kinship_lists(db(), current_actor()))


def _family_page(person_id: str, error: RegistryError | None = None):
    actor = current_actor()
    found = service.family(db(), actor, person_id)
    direct = [r for r in found.relationships if found.centre.id in r.person_ids]
    svg = family_svg(
        found,
        lambda pid: url_for("kinship.family", person_id=pid),
        str(_("Family of %(number)s", number=found.centre.registry_number)),
    )
    return render_form("kinship/family.html", error, family=found, direct=direct, svg=svg)


@bp.get("/persons/<person_id>/family")
@requires(Permission.KINSHIP_READ)
def family(person_id: str):
    return _family_page(person_id)


@bp.post("/persons/<person_id>/family/claims")
@requires(Permission.KINSHIP_WRITE)
def claim(person_id: str):
    form = request.form
    actor = current_actor()
    try:
        other = persons.person_by_number(db(), form.get("registry_number", ""), actor)
        person, relative = (person_id, other.id) if form.get("direction") != "person_is" else (other.id, person_id)
        relationship = service.claim_relationship(
            db(), actor, person_id=person, relative_id=relative, kind=form.get("kind", ""), note=form.get("note", "")
        )
    except FAILURES as error:
        return refused(error, lambda failed: _family_page(person_id, failed))
    flash(_("The claim is recorded. Next, upload the evidence for it."), "info")
    return redirect(url_for("kinship.relationship", relationship_id=relationship.id))


def _relationship_page(relationship_id: str, error: RegistryError | None = None, failed: str = ""):
    """``failed`` names the form (evidence or status) whose errors the page shows."""
    actor = current_actor()
    relationship = service.get_relationship(db(), actor, relationship_id)
    evidence = service.visible_evidence(db(), actor, relationship)
    return render_form(
        "kinship/relationship.html",
        error,
        relationship=relationship,
        evidence=evidence,
        shown={d.id: d for _e, d in evidence},
        persons=service.persons_by_id(db(), relationship.person_ids),
        warnings=service.consistency_warnings(db(), actor, relationship),
        awaiting=service.awaiting_rulings(db(), relationship, evidence),
        candidates=service.candidate_documents(db(), actor, relationship)
        if actor.can(Permission.KINSHIP_WRITE)
        else [],
        next_upload=service.awaited_evidence(relationship),
        steps=service.next_steps(relationship),
        failed=failed,
        assessment=service.assess_claim(db(), relationship) if actor.can(Permission.GENOMIC_READ) else None,
    )


def _claim_now(relationship: Relationship) -> None:
    flash(_("The claim's status: %(status)s.", status=labels.STATUS_LABELS[relationship.status]), "info")


@bp.get("/relationships/<relationship_id>")
@requires(Permission.KINSHIP_READ)
def relationship(relationship_id: str):
    return _relationship_page(relationship_id)


@bp.post("/relationships/<relationship_id>/evidence")
@requires(Permission.KINSHIP_WRITE)
def attach_evidence(relationship_id: str):
    try:
        relationship = service.attach_evidence(
            db(),
            current_actor(),
            relationship_id,
            document_id=request.form.get("document_id", ""),
            note=request.form.get("note", ""),
        )
    except FAILURES as error:
        return refused(error, lambda failed: _relationship_page(relationship_id, failed, "evidence"))
    flash(_("The document is attached to the claim."), "info")
    _claim_now(relationship)
    return redirect(url_for("kinship.relationship", relationship_id=relationship_id))


@bp.post("/relationships/<relationship_id>/status")
@requires(Permission.KINSHIP_WRITE)
def change_status(relationship_id: str):
    form = request.form
    try:
        relationship = service.change_status(
            db(),
            current_actor(),
            relationship_id,
            status=form.get("status", ""),
            document_id=form.get("document_id", ""),
            note=form.get("note", ""),
        )
    except FAILURES as error:
        return refused(error, lambda failed: _relationship_page(relationship_id, failed, "status"))
    _claim_now(relationship)
    return redirect(url_for("kinship.relationship", relationship_id=relationship_id))


def _after_recording(document_id: str, page: str, *said: str):
    """Say what was recorded and where each claim the document is evidence of now stands; back to the claim
    when there is one, to the recorded page otherwise."""
    for words in said:
        flash(words, "info")
    claims = service.evidence_claims(db(), current_actor(), document_id)
    for claim in claims:
        flash(
            _(
                "Claim (%(relation)s): %(status)s.",
                relation=labels.KIND_LABELS[claim.kind],
                status=labels.STATUS_LABELS[claim.status],
            ),
            "info",
        )
    if not claims:
        flash(_("The document is attached to no claim yet: attach it on the claim's page."), "info")
    if len(claims) == 1:
        return redirect(url_for("kinship.relationship", relationship_id=claims[0].id))
    return redirect(url_for(page, document_id=document_id))


def _genomic_page(document_id: str, error: RegistryError | None = None):
    """The findings (with the persons tested, as far as the actor may see them), or the form to record them."""
    actor = current_actor()
    document, result = service.genomic_result(db(), actor, document_id)
    shown = service.visible_persons(db(), actor, document.person_ids)
    return render_form(
        "kinship/genomic_result.html",
        error,
        document=document,
        result=result,
        persons=service.persons_by_id(db(), shown),
        shown_persons=shown,
    )


def _genomic_form(form) -> dict:
    """The form's fields as the service takes them: the tested persons ticked, an identity check per donor."""
    data = form.to_dict()
    data["tested_person_ids"] = form.getlist("tested_person_ids")
    data["identity_checks"] = [
        {
            "person_id": person_id,
            "document_type": form.get(f"identity_type_{person_id}", ""),
            "document_number": form.get(f"identity_number_{person_id}", ""),
        }
        for person_id in data["tested_person_ids"]
        if form.get(f"identity_type_{person_id}") or form.get(f"identity_number_{person_id}")
    ]
    return data


@bp.get("/documents/<document_id>/genomic-result")
@requires(Permission.GENOMIC_READ)
def genomic_result(document_id: str):
    return _genomic_page(document_id)


@bp.post("/documents/<document_id>/genomic-result")
@requires(Permission.KINSHIP_WRITE)
def record_genomic_result(document_id: str):
    try:
        service.record_genomic_result(db(), current_actor(), document_id, _genomic_form(request.form))
    except FAILURES as error:
        return refused(error, lambda failed: _genomic_page(document_id, failed))
    return _after_recording(document_id, "kinship.genomic_result", _("The laboratory's findings are recorded."))


def _ruling_page(document_id: str, error: RegistryError | None = None):
    actor = current_actor()
    document, ruling = service.court_ruling(db(), actor, document_id)
    candidates = service.ruling_candidates(db(), actor, document)  # names only persons the actor may see
    return render_form(
        "kinship/court_ruling.html",
        error,
        document=document,
        ruling=ruling,
        candidates=candidates,
        persons=service.persons_by_id(db(), {p for r in candidates for p in r.person_ids}),
        settled=ruling is not None and service.moved_a_claim(db(), document),
        attached_to={c.id for c in candidates if document.id in {e.document_id for e in c.evidence}},
    )


@bp.get("/documents/<document_id>/court-ruling")
@requires(Permission.KINSHIP_READ)
def court_ruling(document_id: str):
    return _ruling_page(document_id)


@bp.post("/documents/<document_id>/court-ruling")
@requires(Permission.KINSHIP_WRITE)
def record_court_ruling(document_id: str):
    data = {**request.form.to_dict(), "relationship_ids": request.form.getlist("relationship_ids")}
    return _ruling_changed(
        document_id,
        lambda: service.record_court_ruling(db(), current_actor(), document_id, data),
        lambda appeal: _("The ruling is recorded (%(appeal)s).", appeal=appeal),
    )


@bp.post("/documents/<document_id>/court-ruling/appeal")
@requires(Permission.KINSHIP_WRITE)
def change_appeal_status(document_id: str):
    appeal_status = request.form.get("appeal_status", "")
    return _ruling_changed(
        document_id,
        lambda: service.change_appeal_status(db(), current_actor(), document_id, appeal_status),
        lambda appeal: _("The appeal status is now: %(appeal)s.", appeal=appeal),
    )


def _ruling_changed(document_id: str, change: Callable[[], CourtRuling], said: Callable[[str], str]):
    """A ruling recorded or its appeal status changed: the ruling page again with the refusal, or what was done."""
    try:
        ruling = change()
    except FAILURES as error:
        return refused(error, lambda failed: _ruling_page(document_id, failed))
    return _after_recording(document_id, "kinship.court_ruling", said(labels.APPEAL_LABELS[ruling.appeal_status]))


@bp.get("/relationships/<relationship_id>/bundle")
@requires(Permission.BUNDLE_EXPORT)
def relationship_bundle(relationship_id: str):
    return bundle_response(relationship_id=relationship_id)


@bp.get("/persons/<person_id>/bundle")
@requires(Permission.BUNDLE_EXPORT)
def person_bundle(person_id: str):
    return bundle_response(person_id=person_id)
