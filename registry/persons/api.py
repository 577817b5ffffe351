"""JSON routes for persons."""

from __future__ import annotations

from flask import Response, request

from registry.accounts.permissions import Permission
from registry.api.blueprint import api
from registry.api.schema import operation
from registry.api.util import page_args
from registry.exports.web import SIGNED_ZIP, send_signed_zip, spool_folder
from registry.persons import service
from registry.persons.export import export_person
from registry.persons.schemas import PersonChange, PersonCreate, PersonOut, PersonPage, PersonReply
from registry.runtime import current_runtime, db
from registry.web import listing
from registry.web.labels import label
from registry.web.policy import current_actor, requires


@api.post("/persons")
@requires(Permission.PERSON_WRITE)
@operation(body=PersonCreate, reply=PersonReply, status=201)
def create_person(body: PersonCreate) -> PersonReply:
    """Register a person with at least one name."""
    actor = current_actor()
    person = service.create_person(db(), actor, body)
    return PersonReply(person=PersonOut.of(person, service.sees_restricted(actor)))


@api.get("/persons")
@requires(Permission.PERSON_READ)
@operation(reply=PersonPage)
def list_persons() -> PersonPage:
    """Persons the caller may see; ``q`` searches every name in any script, ranked; filters ``status``,
    ``category``, ``region``, ``stage``, ``case``; order ``sort`` (as the person list page)."""
    page, per_page = page_args()
    actor = current_actor()
    wanted = listing.read(request.args, service.PERSON_LIST, page=page, per_page=per_page)
    result = service.search_persons(
        db(), actor, request.args.get("q", ""), page, per_page, sort=wanted.sort, filters=wanted.filters
    )
    restricted = service.sees_restricted(actor)
    return PersonPage(
        persons=[PersonOut.of(p, restricted) for p in result.persons],
        total=result.total,
        page=result.page,
        per_page=result.per_page,
        pages=result.pages,
        truncated=result.truncated,
    )


@api.get("/persons/<person_id>")
@requires(Permission.PERSON_READ)
@operation(reply=PersonReply)
def get_person(person_id: str) -> PersonReply:
    """One person; not_found if outside the caller's cases."""
    actor = current_actor()
    person = service.get_person(db(), actor, person_id)
    return PersonReply(person=PersonOut.of(person, service.sees_restricted(actor)))


@api.patch("/persons/<person_id>")
@requires(Permission.PERSON_WRITE)
@operation(body=PersonChange, reply=PersonReply)
def update_person(person_id: str, body: PersonChange) -> PersonReply:
    """Change fields (and names); send ``revision`` to refuse a lost update."""
    actor = current_actor()
    person = service.update_person(db(), actor, person_id, body)
    return PersonReply(person=PersonOut.of(person, service.sees_restricted(actor)))


def export_response(person_id: str) -> Response:
    """Shared with the person page: export, then send the signed ZIP with its manifest hash in a header."""
    runtime = current_runtime()
    return send_signed_zip(
        export_person(
            db(), current_actor(), runtime.store, runtime.audit_key, person_id, workdir=spool_folder(), words=label
        )
    )


@api.get("/persons/<person_id>/export")
@requires(Permission.PERSON_EXPORT)
@operation(reply=SIGNED_ZIP)
def person_export(person_id: str) -> Response:
    """Everything held about one person, as one signed ZIP (check it with ``registry bundle verify``).

    The record, every linked document's versions (original and viewing copy), relationships with their history,
    restorations, cases and the access report, as far as the caller may see them; not_found outside the caller's
    cases. ``X-Manifest-SHA256`` is the SHA-256 of the signed manifest, also in the access log."""
    return export_response(person_id)
