"""JSON routes for persons."""
from __future__ import annotations

from flask import jsonify, request

from registry.accounts.permissions import Permission
from registry.api.blueprint import api
from registry.api.util import json_body, page_args
from registry.persons import service
from registry.runtime import db
from registry.web import listing
from registry.web.policy import current_actor, requires


@api.post("/persons")
@requires(Permission.PERSON_WRITE)
def create_person():
    """Register a person with at least one name."""
    person = service.create_person(db(), current_actor(), json_body())
    return jsonify(person=service.person_json(person, current_actor())), 201


@api.get("/persons")
@requires(Permission.PERSON_READ)
def list_persons():
    """Persons the caller may see; ``q`` searches every name in any script, ranked; filters ``status``,
    ``category``, ``region``, ``stage``, ``case``; order ``sort`` (as the person list page)."""
    page, per_page = page_args()
    actor = current_actor()
    wanted = listing.read(request.args, service.PERSON_LIST, page=page, per_page=per_page)
    result = service.search_persons(db(), actor, request.args.get("q", ""), page, per_page, sort=wanted.sort,
                                    filters=wanted.filters)
    return jsonify(persons=[service.person_json(p, actor) for p in result.persons], total=result.total,
                   page=result.page, per_page=result.per_page, pages=result.pages, truncated=result.truncated)


@api.get("/persons/<person_id>")
@requires(Permission.PERSON_READ)
def get_person(person_id: str):
    """One person; not_found if outside the caller's cases."""
    actor = current_actor()
    return jsonify(person=service.person_json(service.get_person(db(), actor, person_id), actor))


@api.patch("/persons/<person_id>")
@requires(Permission.PERSON_WRITE)
def update_person(person_id: str):
    """Change fields (and names); send ``revision`` to refuse a lost update."""
    actor = current_actor()
    person = service.update_person(db(), actor, person_id, json_body())
    return jsonify(person=service.person_json(person, actor))
