"""What each stored object is, bound into its wrapped data key.

The database says which object is a version's original or viewing copy. Its owner could point
one version at another document's object (fingerprint and size copied along): the bytes would
decrypt and be served, or signed into a court bundle, as the wrong document. Each object's data
key is therefore wrapped with the document id, version number and role as associated data
(``EncryptedStore.put(context=...)``): opened as anything else, it is an integrity error.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from registry.documents.models import DocumentVersion

ORIGINAL, VIEWING = "original", "viewing"


def object_context(document_id: str, number: int, role: str) -> str:
    return f"registry/document/{document_id}/version/{number}/{role}"


def version_context(version: DocumentVersion, role: str) -> str:
    return object_context(version.document_id, version.number, role)


def contexts(db: Session) -> dict[str, list[str]]:
    """Stored object id -> what the database says the object is, once for every version that names it
    (more than once only where someone pointed two records at one object)."""
    rows = db.execute(
        sa.select(
            DocumentVersion.document_id, DocumentVersion.number, DocumentVersion.original_id, DocumentVersion.viewing_id
        )
    )
    found: dict[str, list[str]] = {}
    for document_id, number, original_id, viewing_id in rows:
        found.setdefault(original_id, []).append(object_context(document_id, number, ORIGINAL))
        if viewing_id:
            found.setdefault(viewing_id, []).append(object_context(document_id, number, VIEWING))
    return found
