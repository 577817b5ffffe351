"""The court evidence bundle: original files, a manifest, and the registry's Ed25519 signature.

Each original is read through the documents service (so each read is its own
access-log event), streamed into the ZIP while it is hashed, and listed with its
SHA-256, kind, upload time and uploader. The manifest also carries the history of
the relationships and the chain of custody of those documents from the access log,
and is signed with the audit signing key (over the bundle context line and the manifest,
so that no other signature of that key passes for a bundle's); ``registry bundle verify``
checks it with the file alone and the registry's published key pinned.

A bundle names only persons and relationships its exporter may see, and it carries
no other staff member's words: an access-log entry says who did what to which
document, when and with what outcome, whether it was an emergency access, and its
sequence number and hash to match it with the registry's log; the reason typed for
an emergency access, the details, addresses and browsers stay in the registry.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.orm import Session

from registry.accounts.actor import Actor
from registry.accounts.permissions import Permission
from registry.audit.events import Action, format_time
from registry.audit.models import AuditEvent
from registry.audit.service import record
from registry.cases import service as cases
from registry.documents import service as documents
from registry.documents.models import Document, DocumentPerson
from registry.errors import AuditNote, Forbidden, Refused
from registry.exports.archive import HOW_TO_CHECK, ArchiveWriter, SignedZip
from registry.i18n import _
from registry.kinship import evidence, labels
from registry.kinship import service as kinship
from registry.kinship.models import CourtRuling, GenomicResult, Relationship
from registry.kinship.policy import current_policy
from registry.kinship.verify import FORMAT
from storage import EncryptedStore

README = (
    """Court evidence bundle from the kinship-evidence registry.

documents/   the original files, bit for bit as they were uploaded
summary.txt    the printed summary: each relationship, and each laboratory result with its
               likelihood ratio in words (ENFSI verbal scale) in English, Russian and Kazakh
manifest.json  every file's SHA-256, size, kind, upload time and uploader; the history of
               the relationships; the chain of custody from the registry's access log:
               who read, downloaded, added or changed each document, when, with what
               outcome, and every emergency access to these persons (marked "emergency";
               the reasons stay in the registry), each entry with its sequence number and
               hash so the registry can show the same entry in its log
"""
    + HOW_TO_CHECK
)
# A file that is not what its upload recorded stops the bundle (registry.exports.archive).
ALTERED = _(
    "A document of this bundle is not the file its upload recorded, so no bundle was made. The record or "
    "the store has been altered: tell the administrator."
)


def _documents_for(
    db: Session, actor: Actor, relationships: list[Relationship], person_id: str | None
) -> list[Document]:
    ids = {e.document_id for r in relationships for e in r.evidence}
    if person_id:
        ids |= set(db.scalars(sa.select(DocumentPerson.document_id).where(DocumentPerson.person_id == person_id)))
    found = [documents.get_document(db, actor, i, log=False) for i in sorted(ids)]
    return sorted(found, key=lambda d: d.created_at)


def _custody_entry(event: AuditEvent) -> dict[str, Any]:
    """Who did what to which document (or broke the glass on which person), when, with what outcome.

    A staff member's own words (an emergency reason) and the details, address and browser stay
    in the registry; an event's reason is only ever the reason for an emergency access, so it
    marks one. ``seq`` and ``hash`` let the registry show the court the same entry in its log.
    """
    target = "document_id" if event.target_type == "document" else "person_id"
    return {
        "seq": event.seq,
        "at": format_time(event.at),
        "actor": event.actor_name,
        "action": event.action,
        "outcome": event.outcome,
        target: event.target_id,
        "emergency": event.action == Action.EMERGENCY_ACCESS or bool(event.reason),
        "hash": event.hash,
    }


def _access_log(db: Session, document_ids: list[str], person_ids: set[str]) -> list[dict[str, Any]]:
    """The chain of custody of the bundled documents, and the emergency accesses to the bundle's persons."""
    events = db.scalars(
        sa.select(AuditEvent)
        .where(
            sa.or_(
                sa.and_(AuditEvent.target_type == "document", AuditEvent.target_id.in_(document_ids)),
                sa.and_(
                    AuditEvent.action == Action.EMERGENCY_ACCESS,
                    AuditEvent.target_type == "person",
                    AuditEvent.target_id.in_(person_ids),
                ),
            )
        )
        .order_by(AuditEvent.seq)
    )
    return [_custody_entry(e) for e in events]


def relationship_record(db: Session, actor: Actor, relationship: Relationship) -> dict[str, Any]:
    data = kinship.relationship_json(db, actor, relationship)
    return {
        key: data[key]
        for key in ("id", "kind", "status", "person", "relative", "history", "evidence", "genomic_assessment")
    }


def _strength_in_words(result: GenomicResult) -> dict[str, str]:
    return labels.in_every_locale(labels.strength_words(evidence.verbal_scale(result.combined_relationship_index)))


def _genomic_record(db: Session, actor: Actor, document: Document, result: GenomicResult) -> dict[str, Any]:
    record_ = kinship.genomic_json(result, kinship.visible_persons(db, actor, document.person_ids))
    record_["strength"]["words"] = _strength_in_words(result)
    return record_


def _require_accredited(db: Session, documents_: list[Document]) -> None:
    """With accreditation required, a result from a laboratory without a valid ISO/IEC 17025 accreditation goes
    into no court bundle: the whole bundle is refused, naming the result, rather than leaving it out unsaid."""
    if not current_policy().require_accredited_laboratory:
        return
    for document in documents_:
        result = db.get(GenomicResult, document.id) if document.kind == kinship.GENOMIC else None
        if result is not None and not result.accredited_on_report():
            message = str(
                _(
                    "The genomic result “%(title)s” comes from a laboratory without an ISO/IEC 17025 "
                    "accreditation valid on its report date, which this registry requires for results used "
                    "in court. Record a result from an accredited laboratory.",
                    title=document.title,
                )
            )
            raise Refused(
                "laboratory_not_accredited",
                409,
                message,
                audit=AuditNote(
                    Action.BUNDLE_EXPORTED,
                    target_type="document",
                    target_id=document.id,
                    person_ids=tuple(document.person_ids),
                    details={"reason": "laboratory not accredited"},
                ),
            )


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:,.6g}"


def _result_lines(document_id: str, result: dict[str, Any], number: dict[str, str]) -> list[str]:
    strength, custody = result["strength"], result["sample_collection"]
    tested = ", ".join(number.get(p, p) for p in result["tested_person_ids"] or []) or "as named by the document"
    inconsistent = "-" if result["inconsistent_loci"] is None else str(result["inconsistent_loci"])
    return [
        "",
        f"Genomic result {document_id}",
        f"  Laboratory: {result['laboratory']} ({result['accreditation'] or 'accreditation not given'}; ISO/IEC 17025: "
        f"{'yes' if result['accredited_iso17025'] else 'no'}, valid until {result['accredited_until'] or '-'})",
        f"  Method: {result['method']}; loci tested: {result['loci_tested']}; inconsistent loci: {inconsistent}; "
        f"persons tested: {tested}",
        f"  Laboratory's conclusion: {result['conclusion']}; likelihood ratio (combined index): "
        f"{_ratio(strength['likelihood_ratio'])}",
        f"  Strength ({strength['scale']}):",
        *(f"    [{locale}] {words}" for locale, words in strength["words"].items()),
        f"  Samples: collected {custody['collected_on']} at {custody['collected_where']} by {custody['collected_by']}; "
        f"witness: {custody['witness'] or '-'}; identity checked by: {custody['identity_checked_by'] or '-'}; "
        f"seals: {', '.join(custody['seal_numbers'])}",
        *(
            f"  Identity of {number.get(c['person_id'], c['person_id'])}: {c['document_type']} {c['document_number']}"
            for c in custody["identity_checks"]
        ),
    ]


def _summary(records: list[dict[str, Any]], structured: dict[str, Any], persons: dict[str, Any]) -> bytes:
    """The printed summary a judge reads first; the manifest and the originals are the evidence."""
    number = {p.id: p.registry_number for p in persons.values()}
    lines = ["Court evidence bundle: summary", ""]
    for relationship in records:
        lines.append(
            f"Relationship {relationship['id']}: {relationship['relative'].get('registry_number', '')} is "
            f"the {relationship['kind']} of {relationship['person'].get('registry_number', '')}; status "
            f"{relationship['status']}"
        )
        assessment = relationship.get("genomic_assessment") or {}
        if assessment.get("outcome"):
            lines.append(f"  Genomic evidence under the registry's policy: {assessment['outcome']}")
    for document_id, found in sorted(structured.items()):
        if "genomic_result" in found:
            lines += _result_lines(document_id, found["genomic_result"], number)
    lines += [
        "",
        "The registry weighs the laboratory's findings against its published evidence policy and shows their",
        "strength; it decides no kinship: the court does.",
    ]
    return ("\n".join(lines) + "\n").encode("utf-8")


def structured_evidence(db: Session, actor: Actor, documents_: list[Document]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for document in documents_:
        if document.kind == kinship.GENOMIC and (result := db.get(GenomicResult, document.id)):
            out[document.id] = {"genomic_result": _genomic_record(db, actor, document, result)}
        elif document.kind == kinship.COURT_RULING and (ruling := db.get(CourtRuling, document.id)):
            out[document.id] = {"court_ruling": kinship.ruling_json(db, actor, ruling)}
    return out


def export_bundle(
    db: Session,
    actor: Actor,
    store: EncryptedStore,
    key: Ed25519PrivateKey,
    *,
    relationship_id: str | None = None,
    person_id: str | None = None,
    workdir: str | None = None,
) -> SignedZip:
    """A signed ZIP for one relationship or one person; the caller sends it and then closes ``file``.

    Past a few megabytes the ZIP spills to an unnamed file in ``workdir`` (created private).
    """
    if not (actor.can(Permission.BUNDLE_EXPORT) and actor.can(Permission.DOCUMENT_ORIGINAL)):
        raise Forbidden(str(_("Your role does not export evidence bundles.")))
    if relationship_id:
        relationships = [kinship.get_relationship(db, actor, relationship_id, Action.BUNDLE_EXPORTED)]
        subject = {"type": "relationship", "id": relationship_id}
    else:
        cases.require_person_visible(db, actor, person_id or "", Action.BUNDLE_EXPORTED)
        relationships = kinship.relationships_of_person(db, actor, person_id or "")
        subject = {"type": "person", "id": person_id or ""}
    found = _documents_for(db, actor, relationships, person_id)
    _require_accredited(db, found)
    person_ids = {p for r in relationships for p in r.person_ids} | ({person_id} if person_id else set())
    persons = kinship.persons_by_id(db, person_ids)
    with ArchiveWriter(key, workdir, action=Action.BUNDLE_EXPORTED, altered=ALTERED) as writer:
        writer.add_bytes("README.txt", README.encode(), kind="readme")
        writer.add_documents(db, actor, store, found)
        structured = structured_evidence(db, actor, found)
        records = [relationship_record(db, actor, r) for r in relationships]
        writer.add_bytes("summary.txt", _summary(records, structured, persons), kind="summary")
        bundle = writer.sign(
            actor,
            {
                "format": FORMAT,
                "subject": subject,
                "persons": [kinship.person_label(persons[p]) for p in sorted(persons)],
                "structured_evidence": structured,
                "relationships": records,
                "access_log": _access_log(db, [d.id for d in found], person_ids),
            },
            f"evidence-{subject['type']}-{subject['id'][:8]}",
        )
    record(
        db,
        actor,
        Action.BUNDLE_EXPORTED,
        target_type=subject["type"],
        target_id=subject["id"],
        person_ids=person_ids,
        details={
            "manifest_sha256": bundle.manifest_sha256,
            "files": len(writer.files),
            "documents": [d.id for d in found],
        },
    )
    return bundle
