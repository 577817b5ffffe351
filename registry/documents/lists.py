"""The document list: the documents a caller may read, by kind and by the state of their viewing copy.

The same rule as opening one document (``service.get_document``): a document concerns at least one person
the caller may see, and genomic results only for roles with genomic access. It is applied in the query,
so a filter only narrows it and only the page shown is loaded.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from registry.accounts.actor import Actor
from registry.accounts.permissions import Permission
from registry.audit.events import Action
from registry.audit.service import record
from registry.cases import service as cases
from registry.documents.inspection import DOCUMENT_KINDS
from registry.documents.models import Document, DocumentPerson, DocumentVersion, ViewingStatus
from registry.documents.service import GENOMIC
from registry.persons.models import Person
from registry.web import listing

DOCUMENT_LIST = listing.ListSpec(
    sorts=("uploaded", "title", "kind"),
    default_sort="-uploaded",
    filters={"kind": DOCUMENT_KINDS, "status": tuple(ViewingStatus)},
)


def _copy_status() -> sa.ScalarSelect:
    """The state of the viewing copy of the document's current (newest) version."""
    return (
        sa.select(DocumentVersion.viewing_status)
        .where(DocumentVersion.document_id == Document.id)
        .order_by(DocumentVersion.number.desc())
        .limit(1)
        .scalar_subquery()
    )


def _readable(actor: Actor) -> sa.Select:
    visible = cases.visible_person_ids(actor)
    concerns = sa.exists().where(
        DocumentPerson.document_id == Document.id,
        *(() if visible is None else (DocumentPerson.person_id.in_(visible),)),
    )
    query = sa.select(Document).where(concerns)
    return query if actor.can(Permission.GENOMIC_READ) else query.where(Document.kind != GENOMIC)


def list_documents(db: Session, actor: Actor, wanted: listing.ListQuery) -> listing.ListPage[Document]:
    """One page of the documents the actor may read, of the kind and copy state asked for (``DOCUMENT_LIST``)."""
    query = _readable(actor)
    if wanted.get("kind"):
        query = query.where(Document.kind == wanted.get("kind"))
    if wanted.get("status"):
        query = query.where(_copy_status() == wanted.get("status"))
    orders = {"uploaded": [Document.created_at], "title": [Document.title], "kind": [Document.kind]}
    found = listing.page_of(db, listing.ordered(query, wanted, orders, Document.id), wanted)
    record(
        db,
        actor,
        Action.DOCUMENT_VIEWED,
        target_type="document_list",
        person_ids={p for d in found.items for p in d.person_ids},
        details={
            "results": len(found.items),
            "page": found.page,
            **({"filters": sorted(wanted.filters)} if wanted.filters else {}),
        },
    )
    return found


def visible_persons(db: Session, actor: Actor, documents: list[Document]) -> dict[str, Person]:
    """Person id -> person, for the persons the listed documents concern that the actor may see."""
    ids = {p for d in documents for p in d.person_ids}
    if not ids:
        return {}
    query = sa.select(Person).where(Person.id.in_(ids))
    visible = cases.visible_person_ids(actor)
    found = db.scalars(query if visible is None else query.where(Person.id.in_(visible)))
    return {person.id: person for person in found}
