"""A court bundle packs each original only if it is the file its upload recorded in the access log, checked by
the keyed fingerprint the log holds (or, after a key rotation, the one the log recorded when the file was
fingerprinted again)."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile

import sqlalchemy as sa

from registry.audit.models import AuditEvent
from registry.documents.scrub import refingerprint_all, rewrap_all
from storage import fingerprint
from tests.audit.conftest import tamper  # noqa: F401 (fixture: a database owner's powers)
from tests.kinship.helpers import claim, genomic_document


def _bundle(api, family):
    lawyer = api(family.lawyer)
    relationship = claim(lawyer, family)
    genomic = genomic_document(lawyer, family.child["id"], family.mother["id"], "inclusion")
    lawyer.post(f"/relationships/{relationship['id']}/evidence", json={"document_id": genomic["id"]})
    return lawyer, relationship, genomic


def _packed(response, document_id: str) -> tuple[dict, bytes]:
    archive = zipfile.ZipFile(io.BytesIO(response.get_data()))
    entry = next(f for f in json.loads(archive.read("manifest.json"))["files"] if f.get("document_id") == document_id)
    return entry, archive.read(entry["path"])


def _upload_event(runtime, document_id: str) -> AuditEvent:
    with runtime.sessions() as db:
        return db.scalar(
            sa.select(AuditEvent).where(AuditEvent.target_id == document_id, AuditEvent.action == "document.uploaded")
        )


def test_every_file_names_its_upload_event(api, family, runtime):
    lawyer, relationship, genomic = _bundle(api, family)
    response = lawyer.get(f"/relationships/{relationship['id']}/bundle")
    entry, packed = _packed(response, genomic["id"])
    with runtime.sessions() as db:
        event = db.scalar(sa.select(AuditEvent).where(AuditEvent.seq == entry["upload_event"]["seq"]))
    assert (event.action, event.target_id, event.hash) == (
        "document.uploaded",
        genomic["id"],
        entry["upload_event"]["hash"],
    )
    assert json.loads(event.details)["fingerprint"] == fingerprint.current(runtime.keyring).of(packed)
    assert entry["checked_against_events"] == [event.seq]


def test_a_file_that_is_not_what_its_upload_recorded_goes_into_no_bundle(api, family, runtime, tamper):  # noqa: F811
    lawyer, relationship, genomic = _bundle(api, family)
    event = _upload_event(runtime, genomic["id"])
    details = json.loads(event.details)
    details["fingerprint"] = details["fingerprint"][:-64] + "0" * 64
    tamper(("UPDATE audit_events SET details = :d WHERE seq = :s", {"d": json.dumps(details), "s": event.seq}))

    response = lawyer.get(f"/relationships/{relationship['id']}/bundle")

    assert response.status_code == 500 and response.get_json()["error"]["code"] == "integrity_error"
    with runtime.sessions() as db:
        failed = db.scalars(sa.select(AuditEvent).where(AuditEvent.action == "kinship.bundle_exported")).all()
    assert [(e.outcome, json.loads(e.details)["integrity"]) for e in failed] == [("failed", "upload")]


def test_an_upload_logged_before_keyed_fingerprints_is_checked_by_its_sha256(api, family, runtime, tamper):  # noqa: F811
    """Events written before keyed fingerprints name the file's plain SHA-256: they still bind the file."""
    lawyer, relationship, genomic = _bundle(api, family)
    original = lawyer.get(f"/documents/{genomic['id']}/original").get_data()
    event = _upload_event(runtime, genomic["id"])
    details = json.loads(event.details)
    del details["fingerprint"]
    for sha256, status in ((hashlib.sha256(original).hexdigest(), 200), ("0" * 64, 500)):
        tamper(
            (
                "UPDATE audit_events SET details = :d WHERE seq = :s",
                {"d": json.dumps({**details, "sha256": sha256}), "s": event.seq},
            )
        )
        assert lawyer.get(f"/relationships/{relationship['id']}/bundle").status_code == status


def test_after_the_key_is_retired_the_file_is_checked_against_its_logged_refingerprint(api, family, runtime):
    lawyer, relationship, genomic = _bundle(api, family)
    old_key = runtime.keyring.current_key_id
    runtime.keyring.add_new_key(runtime.settings.master_key_file)
    with runtime.sessions() as db:  # what `registry keys rotate` and `registry keys refingerprint` do
        rewrap_all(db, runtime.store)
        assert refingerprint_all(db, runtime.store) >= 1
        db.commit()
    runtime.keyring.retire(runtime.settings.master_key_file, old_key)

    response = lawyer.get(f"/relationships/{relationship['id']}/bundle")

    assert response.status_code == 200, response.get_json()
    entry, packed = _packed(response, genomic["id"])
    with runtime.sessions() as db:
        [again] = db.scalars(
            sa.select(AuditEvent).where(
                AuditEvent.target_id == genomic["id"], AuditEvent.action == "document.refingerprinted"
            )
        ).all()
    assert json.loads(again.details) == {"version": 1, "fingerprint": fingerprint.current(runtime.keyring).of(packed)}
    assert entry["checked_against_events"] == [again.seq]  # the upload's fingerprint needs the retired key
    assert entry["upload_event"]["seq"] == _upload_event(runtime, genomic["id"]).seq


def test_a_refingerprint_event_that_does_not_match_the_file_keeps_it_out_of_bundles(api, family, runtime, tamper):  # noqa: F811
    """Checked against every fingerprint the log holds that the keyring can make: one forged event is enough."""
    lawyer, relationship, genomic = _bundle(api, family)
    runtime.keyring.add_new_key(runtime.settings.master_key_file)
    with runtime.sessions() as db:
        refingerprint_all(db, runtime.store)
        db.commit()
        again = db.scalar(
            sa.select(AuditEvent).where(
                AuditEvent.target_id == genomic["id"], AuditEvent.action == "document.refingerprinted"
            )
        )
    details = json.loads(again.details)
    details["fingerprint"] = details["fingerprint"][:-64] + "1" * 64
    tamper(("UPDATE audit_events SET details = :d WHERE seq = :s", {"d": json.dumps(details), "s": again.seq}))

    assert lawyer.get(f"/relationships/{relationship['id']}/bundle").status_code == 500
