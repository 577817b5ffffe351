"""A database owner points one document's version at another document's stored original.

Before, the download decrypted cleanly and served (and a bundle signed) the other document's bytes.
Each object's data key is now wrapped bound to its document, version and role: the swap is refused
as an integrity error, logged, and found by the scrub.
"""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from registry.audit.models import AuditEvent
from registry.documents.models import Document, DocumentVersion
from registry.documents.scrub import scrub
from tests.documents import files
from tests.documents_api.support import upload, uploaded


@pytest.fixture
def storage_url(each_store) -> str:
    return each_store


@pytest.fixture
def two_documents(client, person, tmp_path, make_copies) -> tuple[dict, dict, bytes]:
    """A passport scan and a birth record of the same person; the birth record's bytes."""
    passport = uploaded(upload(client, person["id"], files.simple_pdf(tmp_path / "p.pdf").read_bytes(), "p.pdf"))
    birth_bytes = files.simple_pdf(tmp_path / "b.pdf", pages=2).read_bytes()
    birth = uploaded(upload(client, person["id"], birth_bytes, "b.pdf", kind="birth_record", title="Birth record"))
    make_copies()
    return passport, birth, birth_bytes


def _point_at(runtime, victim_id: str, source_id: str, *, also_move_version: bool = False) -> None:
    """What the database owner does: the victim's version now names the source's original (hash and size too)."""
    with runtime.engine.begin() as conn:
        versions = DocumentVersion.__table__
        source = conn.execute(sa.select(versions).where(versions.c.document_id == source_id)).one()
        if also_move_version:  # or move the whole version row over to the victim document
            conn.execute(sa.update(versions).where(versions.c.document_id == victim_id).values(number=99))
            conn.execute(sa.update(versions).where(versions.c.id == source.id).values(document_id=victim_id))
            return
        conn.execute(
            sa.update(versions)
            .where(versions.c.document_id == victim_id)
            .values(original_id=source.original_id, size=source.size, content_type=source.content_type)
        )


@pytest.mark.parametrize("also_move_version", [False, True])
def test_an_original_pointed_at_another_documents_object_is_refused_and_logged(
    runtime, client, two_documents, also_move_version
):
    passport, birth, birth_bytes = two_documents
    _point_at(runtime, passport["id"], birth["id"], also_move_version=also_move_version)

    response = client.get(f"/documents/{passport['id']}/original")

    assert response.status_code == 500
    assert response.get_json()["error"]["code"] == "integrity_error"
    assert birth_bytes[:200] not in response.get_data()
    with runtime.sessions() as db:
        event = db.scalars(
            sa.select(AuditEvent).where(AuditEvent.target_id == passport["id"]).order_by(AuditEvent.seq.desc())
        ).first()
    assert (event.action, event.outcome) == ("document.original_read", "failed")
    assert json.loads(event.details)["integrity"] == "original"


def test_the_untouched_document_still_opens_and_the_scrub_names_the_swapped_object(runtime, client, two_documents):
    passport, birth, birth_bytes = two_documents
    assert client.get(f"/documents/{passport['id']}/original").status_code == 200
    with runtime.sessions() as db:
        assert scrub(db, runtime.store, runtime.raw_store).ok
    _point_at(runtime, passport["id"], birth["id"])

    assert client.get(f"/documents/{birth['id']}/original").get_data() == birth_bytes
    with runtime.sessions() as db:
        birth_original = db.get(Document, birth["id"]).current.original.key
        report = scrub(db, runtime.store, runtime.raw_store)
    assert birth_original in report.corrupt and not report.ok
