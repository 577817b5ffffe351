"""JSON routes for relationships, their evidence, genomic results, court rulings and bundles."""

from __future__ import annotations

from flask import jsonify

from registry.accounts.permissions import Permission
from registry.api.blueprint import api
from registry.api.util import json_body, text_field
from registry.exports.web import send_signed_zip, spool_folder
from registry.kinship import service
from registry.kinship.bundle import export_bundle
from registry.runtime import current_runtime, db
from registry.web.policy import current_actor, requires


def _relationship(relationship) -> dict:
    return service.relationship_json(db(), current_actor(), relationship)


def bundle_response(*, relationship_id: str | None = None, person_id: str | None = None):
    """Shared with the HTML routes: export, then send the signed ZIP with its manifest hash in a header."""
    runtime = current_runtime()
    return send_signed_zip(
        export_bundle(
            db(),
            current_actor(),
            runtime.store,
            runtime.audit_key,
            relationship_id=relationship_id,
            person_id=person_id,
            workdir=spool_folder(),
        )
    )


@api.post("/relationships")
@requires(Permission.KINSHIP_WRITE)
def claim_relationship():
    """Claim that ``relative_id`` is the ``kind`` of ``person_id`` (biological_mother, sibling, guardian ...)."""
    body = json_body()
    relationship = service.claim_relationship(
        db(),
        current_actor(),
        person_id=text_field(body, "person_id", required=True, max_length=36),
        relative_id=text_field(body, "relative_id", required=True, max_length=36),
        kind=text_field(body, "kind", required=True, max_length=24),
        note=text_field(body, "note", max_length=2000),
    )
    return jsonify(relationship=_relationship(relationship)), 201


@api.get("/relationships/<relationship_id>")
@requires(Permission.KINSHIP_READ)
def get_relationship(relationship_id: str):
    """One relationship with its history, evidence and consistency warnings."""
    return jsonify(relationship=_relationship(service.get_relationship(db(), current_actor(), relationship_id)))


@api.get("/persons/<person_id>/relationships")
@requires(Permission.KINSHIP_READ)
def person_relationships(person_id: str):
    """Every relationship of the person whose other person the caller may also see."""
    actor = current_actor()
    found = service.relationships_of_person(db(), actor, person_id)
    persons = service.persons_by_id(db(), {p for r in found for p in r.person_ids})
    return jsonify(relationships=[service.relationship_json(db(), actor, r, persons=persons) for r in found])


@api.post("/relationships/<relationship_id>/evidence")
@requires(Permission.KINSHIP_WRITE)
def attach_evidence(relationship_id: str):
    """Attach a document; a genomic result or court ruling that decides the claim moves its status."""
    body = json_body()
    relationship = service.attach_evidence(
        db(),
        current_actor(),
        relationship_id,
        document_id=text_field(body, "document_id", required=True, max_length=36),
        note=text_field(body, "note", max_length=2000),
    )
    return jsonify(relationship=_relationship(relationship)), 201


@api.post("/relationships/<relationship_id>/status")
@requires(Permission.KINSHIP_WRITE)
def change_status(relationship_id: str):
    """Move the claim (testing, genetically_supported, excluded, court_established, withdrawn) on its evidence."""
    body = json_body()
    relationship = service.change_status(
        db(),
        current_actor(),
        relationship_id,
        status=text_field(body, "status", required=True, max_length=32),
        document_id=text_field(body, "document_id", max_length=36),
        note=text_field(body, "note", max_length=2000),
    )
    return jsonify(relationship=_relationship(relationship))


@api.get("/kinship/lists")
@requires(Permission.KINSHIP_READ)
def kinship_lists():
    """Orphans with no established relative, claims waiting for a test, supported claims waiting for a ruling."""
    actor = current_actor()
    lists = service.kinship_lists(db(), actor)
    return jsonify(
        orphans=[service.person_label(p) for p in lists.orphans],
        waiting_for_test=[
            service.relationship_json(db(), actor, r, persons=lists.persons) for r in lists.waiting_for_test
        ],
        waiting_for_ruling=[
            service.relationship_json(db(), actor, r, persons=lists.persons) for r in lists.waiting_for_ruling
        ],
    )


@api.post("/documents/<document_id>/genomic-result")
@requires(Permission.KINSHIP_WRITE)
def record_genomic_result(document_id: str):
    """Record the laboratory's findings for a genomic_test_result document (once)."""
    actor = current_actor()
    result = service.record_genomic_result(db(), actor, document_id, json_body())
    shown = service.visible_persons(db(), actor, service.tested_persons(db(), result))
    return jsonify(genomic_result=service.genomic_json(result, shown)), 201


@api.get("/documents/<document_id>/genomic-result")
@requires(Permission.GENOMIC_READ)
def get_genomic_result(document_id: str):
    """The recorded findings of a genomic result (not for roles without genomic access)."""
    actor = current_actor()
    document, result = service.genomic_result(db(), actor, document_id)
    shown = service.visible_persons(db(), actor, document.person_ids)
    return jsonify(genomic_result=service.genomic_json(result, shown) if result else None)


@api.post("/documents/<document_id>/court-ruling")
@requires(Permission.KINSHIP_WRITE)
def record_court_ruling(document_id: str):
    """Record a ruling: court, case_number, ruling_date, decision, appeal_status, relationship_ids."""
    actor = current_actor()
    ruling = service.record_court_ruling(db(), actor, document_id, json_body())
    return jsonify(court_ruling=service.ruling_json(db(), actor, ruling)), 201


@api.get("/documents/<document_id>/court-ruling")
@requires(Permission.KINSHIP_READ)
def get_court_ruling(document_id: str):
    """The recorded ruling of a court_ruling document; relationships the caller may not see are left out."""
    actor = current_actor()
    _document, ruling = service.court_ruling(db(), actor, document_id)
    return jsonify(court_ruling=service.ruling_json(db(), actor, ruling) if ruling else None)


@api.get("/relationships/<relationship_id>/bundle")
@requires(Permission.BUNDLE_EXPORT)
def relationship_bundle(relationship_id: str):
    """A signed ZIP for the court: originals, manifest with hashes, history and access log."""
    return bundle_response(relationship_id=relationship_id)


@api.get("/persons/<person_id>/bundle")
@requires(Permission.BUNDLE_EXPORT)
def person_bundle(person_id: str):
    """A signed ZIP of all of a person's documents and relationships, for the court."""
    return bundle_response(person_id=person_id)
