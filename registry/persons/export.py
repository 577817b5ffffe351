"""A person's export: everything the registry holds about one person, as one signed ZIP, for a court or the person.

The record (names in every script, dates, categories, restricted fields only where the exporter's role reads
them), every linked document's versions (original and viewing copy), the relationships with their history and
evidence, the person's restorations and cases, and the access report: who saw or changed the person's data,
when, and why. It is written, signed and checked like a court bundle (``registry.exports.archive``; ``registry
bundle verify``), each document read is its own access-log event, and the export itself is logged with the
manifest's SHA-256.

It holds what its exporter may see, no more: other persons are named only when the exporter may see them (a
relative outside a lawyer's cases is neither named nor given by id), and an access-log entry gives the id of
its target only when the export holds that target. Addresses, browsers and the log's details stay in the
registry.
"""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.orm import Session

from registry.accounts.actor import Actor
from registry.accounts.permissions import Permission
from registry.audit.events import Action, format_time
from registry.audit.models import AuditEvent
from registry.audit.reports import Words, as_stored, events_naming
from registry.audit.service import record
from registry.cases import service as cases
from registry.documents import service as documents
from registry.documents.models import Document
from registry.documents.schemas import DocumentOut
from registry.errors import AuditNote, Forbidden, NotFound
from registry.exports.archive import HOW_TO_CHECK, ArchiveWriter, SignedZip, json_bytes
from registry.i18n import _
from registry.kinship import service as kinship
from registry.kinship.bundle import relationship_record, structured_evidence
from registry.kinship.verify import PERSON_EXPORT_FORMAT
from registry.persons import service as persons
from registry.persons.models import Person
from registry.persons.schemas import PersonOut
from registry.restoration import service as restoration
from storage import EncryptedStore

README = (
    """Everything the kinship-evidence registry holds about one person, as its exporter may see it.

person.json    the person's record: every name in every script, dates (a partial date stays
               partial), categories, status, return; the restricted fields only where the
               exporter's role reads them. Also the person's cases, relationships with their
               history and evidence, document restorations, each linked document's record
               (kind, title, fields, versions) and the laboratory findings and court rulings
               recorded from them, and the other persons these name
access_report.json
               who saw or changed this person's data: every entry of the registry's access
               log that names the person, with when (UTC), who, what (as a code and in the
               exporter's language), the outcome, whether it was an emergency access and the
               reason given for it, and the entry's sequence number and hash so the registry
               can show the same entry in its log
documents/     each document's versions: the original file, bit for bit as it was uploaded
               (documents/ID/vN-NAME), and the viewing copy the registry made of it, where
               there is one (documents/ID/viewing/vN-NAME)
manifest.json  every file's SHA-256 and size; for each document file its kind, upload time and
               uploader, and for each original the access-log entries whose fingerprints it
               was checked against
"""
    + HOW_TO_CHECK
)
ALTERED = _(
    "A document of this export is not the file its upload recorded, so no export was made. The record or "
    "the store has been altered: tell the administrator."
)


def _linked_documents(db: Session, actor: Actor, person: Person) -> list[tuple[Document, list[str]]]:
    """The documents linked to the person that the actor may read, oldest first, with the person's roles in each."""
    found: dict[str, Document] = {}
    roles: dict[str, list[str]] = {}
    for document, role in documents.documents_of_person(db, actor, person):
        found[document.id] = document
        roles.setdefault(document.id, []).append(role)
    return [(d, sorted(roles[d.id])) for d in sorted(found.values(), key=lambda d: (d.created_at, d.id))]


def _document_record(db: Session, actor: Actor, document: Document, roles: list[str]) -> dict[str, Any]:
    data = DocumentOut.of(db, actor, document).model_dump(mode="json")
    for version in data["versions"]:
        del version["fingerprint"]  # keyed: only the registry can check it; the manifest has each file's SHA-256
    return {**data, "roles_of_person": roles}


def _case_records(db: Session, actor: Actor, person_id: str) -> list[dict[str, Any]]:
    return [
        {
            "id": case.id,
            "reference": case.reference,
            "title": case.title,
            "court_case_number": case.court_case_number,
            "open": case.is_open,
            "opened_at": case.created_at.isoformat(),
            "person_added_at": link.added_at.isoformat(),
        }
        for case, link in cases.cases_of_person(db, actor, person_id)
    ]


def _access_entry(event: AuditEvent, held: set[str], words: Words) -> dict[str, Any]:
    """One entry of the person's access report; the target's id only when the export holds the target."""
    return {
        "seq": event.seq,
        "at": format_time(event.at),
        "actor": event.actor_name,
        "action": event.action,
        "what": str(words(event.action, "action")),
        "outcome": event.outcome,
        "target_type": event.target_type,
        "target_id": event.target_id if event.target_id in held else None,
        "emergency": event.action == Action.EMERGENCY_ACCESS or bool(event.reason),
        "reason": event.reason,
        "hash": event.hash,
    }


def _person(db: Session, actor: Actor, person_id: str) -> tuple[Person, str]:
    """The person and the emergency reason the actor sees them by ('' in their cases); not_found outside."""
    reason = cases.require_person_visible(db, actor, person_id, Action.PERSON_EXPORTED)
    person = db.get(Person, person_id)
    if person is None:
        raise NotFound(
            str(_("No such person.")),
            audit=AuditNote(
                Action.PERSON_EXPORTED, target_type="person", target_id=person_id, details={"reason": "no such person"}
            ),
        )
    return person, reason


def export_person(
    db: Session,
    actor: Actor,
    store: EncryptedStore,
    key: Ed25519PrivateKey,
    person_id: str,
    *,
    workdir: str | None = None,
    words: Words = as_stored,
) -> SignedZip:
    """A signed ZIP of everything held about one person; the caller sends it and then closes ``file``.

    ``words`` puts a log action in the reader's language (``registry.web.labels.label``). Past a few megabytes
    the ZIP spills to an unnamed file in ``workdir`` (created private).
    """
    if not (actor.can(Permission.PERSON_EXPORT) and actor.can(Permission.DOCUMENT_ORIGINAL)):
        raise Forbidden(str(_("Your role does not export a person's records.")))
    person, reason = _person(db, actor, person_id)
    relationships = kinship.relationships_of_person(db, actor, person.id)
    linked = _linked_documents(db, actor, person)
    found = [document for document, _roles in linked]
    restorations = (
        restoration.requests_of_person(db, actor, person.id) if actor.can(Permission.RESTORATION_READ) else []
    )
    records = [_document_record(db, actor, document, roles) for document, roles in linked]
    named = (
        {person.id}
        | {p for r in [*relationships, *restorations] for p in r.person_ids}
        | {link["person_id"] for d in records for link in d["persons"]}
    )
    with ArchiveWriter(key, workdir, action=Action.PERSON_EXPORTED, altered=ALTERED) as writer:
        writer.add_bytes("README.txt", README.encode(), kind="readme")
        writer.add_documents(db, actor, store, found, viewing_copies=True)
        request_persons, clerks = restoration.context_for(db, restorations)
        hidden = restoration.hidden_evidence(db, actor, restorations)
        their_cases = _case_records(db, actor, person.id)
        writer.add_bytes(
            "person.json",
            json_bytes(
                {
                    "person": {
                        **PersonOut.of(person, persons.sees_restricted(actor)).model_dump(mode="json"),
                        "registered_at": person.created_at.isoformat(),
                        "updated_at": person.updated_at.isoformat(),
                    },
                    "cases": their_cases,
                    "documents": records,
                    "structured_evidence": structured_evidence(db, actor, found),
                    "relationships": [relationship_record(db, actor, r) for r in relationships],
                    "restorations": [
                        restoration.request_json(r, actor, request_persons, clerks, hidden) for r in restorations
                    ],
                    "other_persons": [
                        kinship.person_label(p)
                        for i, p in sorted(kinship.persons_by_id(db, named).items())
                        if i != person.id
                    ],
                }
            ),
            kind="person",
        )
        held = (
            named
            | {d.id for d in found}
            | {r.id for r in relationships}
            | {r.id for r in restorations}
            | {c["id"] for c in their_cases}
        )
        report = [_access_entry(event, held, words) for event in events_naming(db, person.id)]
        writer.add_bytes("access_report.json", json_bytes(report), kind="access_report")
        signed = writer.sign(
            actor,
            {
                "format": PERSON_EXPORT_FORMAT,
                "subject": {"type": "person", "id": person.id, "registry_number": person.registry_number},
            },
            f"person-export-{person.id[:8]}",
        )
    record(
        db,
        actor,
        Action.PERSON_EXPORTED,
        target_type="person",
        target_id=person.id,
        person_ids=named,
        reason=reason,
        details={
            "manifest_sha256": signed.manifest_sha256,
            "files": len(writer.files),
            "documents": [d.id for d in found],
        },
    )
    return signed
