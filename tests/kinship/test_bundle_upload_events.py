"""A court bundle packs each original only if it is the file its upload recorded in the access log."""
from __future__ import annotations

import io
import json
import zipfile

import sqlalchemy as sa

from registry.audit.models import AuditEvent
from tests.audit.conftest import tamper  # noqa: F401 (fixture: a database owner's powers)
from tests.kinship.helpers import claim, genomic_document


def _bundle(api, family):
    lawyer = api(family.lawyer)
    relationship = claim(lawyer, family)
    genomic = genomic_document(lawyer, family.child["id"], family.mother["id"], "inclusion")
    lawyer.post(f"/relationships/{relationship['id']}/evidence", json={"document_id": genomic["id"]})
    return lawyer, relationship, genomic


def test_every_file_names_its_upload_event(api, family, runtime):
    lawyer, relationship, genomic = _bundle(api, family)
    response = lawyer.get(f"/relationships/{relationship['id']}/bundle")
    manifest = json.loads(zipfile.ZipFile(io.BytesIO(response.get_data())).read("manifest.json"))
    entry = next(f for f in manifest["files"] if f.get("document_id") == genomic["id"])
    with runtime.sessions() as db:
        event = db.scalar(sa.select(AuditEvent).where(AuditEvent.seq == entry["upload_event"]["seq"]))
    assert (event.action, event.target_id, event.hash) == ("document.uploaded", genomic["id"],
                                                           entry["upload_event"]["hash"])
    assert json.loads(event.details)["sha256"] == entry["sha256"]


def test_a_file_that_is_not_what_its_upload_recorded_goes_into_no_bundle(api, family, runtime, tamper):  # noqa: F811
    lawyer, relationship, genomic = _bundle(api, family)
    with runtime.sessions() as db:
        event = db.scalar(sa.select(AuditEvent).where(AuditEvent.target_id == genomic["id"],
                                                      AuditEvent.action == "document.uploaded"))
    details = {**json.loads(event.details), "sha256": "0" * 64}
    tamper(("UPDATE audit_events SET details = :d WHERE seq = :s", {"d": json.dumps(details), "s": event.seq}))

    response = lawyer.get(f"/relationships/{relationship['id']}/bundle")

    assert response.status_code == 500 and response.get_json()["error"]["code"] == "integrity_error"
    with runtime.sessions() as db:
        failed = db.scalars(sa.select(AuditEvent).where(AuditEvent.action == "kinship.bundle_exported")).all()
    assert [(e.outcome, json.loads(e.details)["integrity"]) for e in failed] == [("failed", "upload")]
