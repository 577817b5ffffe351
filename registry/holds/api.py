"""JSON routes for legal holds, the retention schedule's due list and disposals."""

from __future__ import annotations

from flask import jsonify, request

from registry.accounts.permissions import Permission
from registry.api.blueprint import api
from registry.api.util import json_body, text_field
from registry.holds import disposal as disposals
from registry.holds import service
from registry.runtime import current_runtime, db
from registry.web.policy import current_actor, requires


def _store_holds() -> bool:
    return current_runtime().store.supports_legal_hold()


@api.get("/legal-holds")
@requires(Permission.HOLD_MANAGE)
def list_legal_holds():
    """Legal holds the caller may see, active first (``target_type`` and ``target_id`` narrow to one target,
    ``active=true`` leaves out lifted ones); a lawyer sees only holds on persons, cases and documents of their
    cases."""
    found = service.list_holds(
        db(),
        current_actor(),
        target_type=request.args.get("target_type", ""),
        target_id=request.args.get("target_id", ""),
        active_only=request.args.get("active", "") == "true",
    )
    supported = _store_holds()
    return jsonify(legal_holds=[service.hold_json(db(), hold, target, supported) for hold, target in found])


@api.post("/legal-holds")
@requires(Permission.HOLD_MANAGE)
def place_legal_hold():
    """Place a legal hold: target_type (person, case or document), target_id and a reason; what it covers is
    kept from disposal, and held in the object store too where the store has legal holds."""
    body = json_body()
    hold, target = service.place_hold(
        db(),
        current_actor(),
        current_runtime().store,
        target_type=text_field(body, "target_type", required=True, max_length=16),
        target_id=text_field(body, "target_id", required=True, max_length=36),
        reason=text_field(body, "reason", required=True),
    )
    return jsonify(legal_hold=service.hold_json(db(), hold, target, _store_holds())), 201


@api.post("/legal-holds/<hold_id>/lift")
@requires(Permission.HOLD_MANAGE)
def lift_legal_hold(hold_id: str):
    """Lift a legal hold with a reason; the store keeps holding what another active hold still covers."""
    hold, target = service.lift_hold(
        db(), current_actor(), current_runtime().store, hold_id, text_field(json_body(), "reason", required=True)
    )
    return jsonify(legal_hold=service.hold_json(db(), hold, target, _store_holds()))


@api.get("/retention/due")
@requires(Permission.RETENTION_MANAGE)
def retention_due():
    """Documents past their retention period (kind, id, newest upload, why due), each with why it is kept if
    it is (a legal hold, a lock the database or the store reports, an open proposal); changes nothing."""
    runtime = current_runtime()
    found = disposals.due_documents(db(), runtime.settings.retention_schedule, store=runtime.store)
    return jsonify(due=[disposals.due_json(d) for d in found])


@api.get("/disposals")
@requires(Permission.RETENTION_MANAGE)
def list_disposals():
    """Disposals, open proposals first, with their documents and, once approved, the signed record."""
    return jsonify(disposals=[disposals.disposal_json(d) for d in disposals.list_disposals(db(), current_actor())])


@api.post("/disposals")
@requires(Permission.RETENTION_MANAGE)
def propose_disposal():
    """Propose disposing of the files of what is due now (409 when nothing is); another member of staff who
    manages retention approves it."""
    runtime = current_runtime()
    proposal = disposals.propose(db(), current_actor(), runtime.settings.retention_schedule, runtime.store)
    return jsonify(disposal=disposals.disposal_json(proposal)), 201


@api.post("/disposals/<disposal_id>/approve")
@requires(Permission.RETENTION_MANAGE)
def approve_disposal(disposal_id: str):
    """Approve someone else's proposal (never one's own: 403): everything is checked again, what still passes
    is disposed of (files deleted, records kept), and the signed disposal record is written to the log."""
    runtime = current_runtime()
    approved = disposals.approve(
        db(), current_actor(), runtime.store, runtime.audit_key, runtime.settings.retention_schedule, disposal_id
    )
    return jsonify(disposal=disposals.disposal_json(approved))


@api.post("/disposals/<disposal_id>/reject")
@requires(Permission.RETENTION_MANAGE)
def reject_disposal(disposal_id: str):
    """Reject (or, as its proposer, withdraw) a proposal, with a reason."""
    rejected = disposals.reject(db(), current_actor(), disposal_id, text_field(json_body(), "reason", required=True))
    return jsonify(disposal=disposals.disposal_json(rejected))
