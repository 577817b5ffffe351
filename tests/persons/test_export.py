"""A person's export: everything held about one person as one signed ZIP, checked with ``registry bundle verify``."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from registry.audit.checkpoints import published_key
from registry.audit.models import AuditEvent
from registry.kinship.cli import bundle as bundle_command
from registry.kinship.verify import BUNDLE_CONTEXT
from tests.audit.conftest import tamper  # noqa: F401 (fixture: a database owner's powers)
from tests.audit.route_world import events_after, last_seq
from tests.conftest import ApiClient, Staff, error_code
from tests.kinship.conftest import family  # noqa: F401 (fixture: a mother and her child in a lawyer's case)
from tests.kinship.helpers import Family, genomic_document, link, open_case, rewrite_zip, scan, upload, web_login
from tests.web.test_refusals_change_nothing import changed_tables, snapshot

EMERGENCY_REASON = "The child is in hospital tonight and her file is needed."


@dataclass
class World:
    clerk: Staff
    lawyer: Staff
    mother: dict
    child: dict
    stranger: dict  # a person outside the lawyer's case, linked to one of the child's documents
    originals: dict[tuple[str, int], bytes]  # (document id, version) -> the bytes uploaded
    relationship: dict
    restoration_id: str


def _version(client: ApiClient, document_id: str, content: bytes) -> None:
    response = client.post(
        f"/documents/{document_id}/versions",
        data={"reason": "re-issued", "file": (io.BytesIO(content), "reissued.png", "image/png")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 201, response.get_json()


@pytest.fixture
def world(api, staff, make_person, make_copies, family: Family) -> World:  # noqa: F811
    """A child and her mother in the lawyer's case, a stranger outside it; documents, a claim, a restoration."""
    clerk, lawyer, mother, child, on_call = family.clerk, family.lawyer, family.mother, family.child, staff("lawyer")
    stranger = make_person(
        clerk,
        names=[{"family_name": "Жумабекова", "given_name": "Сауле"}],
        sex="female",
        birth_date="1985-01-01",
        birth_date_precision="year",
        categories=["woman"],
    )
    desk = api(clerk)
    first, second = scan("birth notification, first issue"), scan("birth notification, re-issued")
    birth = upload(desk, child["id"], "birth_record", "Birth notification", content=first)
    _version(desk, birth["id"], second)
    receipt_bytes = scan("voluntary return receipt")
    receipt = upload(desk, child["id"], "consent_receipt", "Return receipt", content=receipt_bytes)
    link(desk, receipt["id"], stranger["id"], "applicant")
    genomic = genomic_document(desk, child["id"], mother["id"], "inclusion")
    relationship = desk.post(
        "/relationships", json={"person_id": child["id"], "relative_id": mother["id"], "kind": "biological_mother"}
    ).get_json()["relationship"]
    assert (
        desk.post(f"/relationships/{relationship['id']}/evidence", json={"document_id": genomic["id"]}).status_code
        == 201
    )
    hidden = desk.post(
        "/relationships", json={"person_id": child["id"], "relative_id": stranger["id"], "kind": "aunt_uncle"}
    )
    assert hidden.status_code == 201
    restoration = desk.post(
        "/restorations", json={"person_id": child["id"], "document_wanted": "birth_record", "reason": "born_abroad"}
    )
    assert restoration.status_code == 201, restoration.get_json()
    broke = api(on_call).post(f"/persons/{child['id']}/emergency-access", json={"reason": EMERGENCY_REASON})
    assert broke.status_code == 201, broke.get_json()
    make_copies()
    genomic_bytes = api(clerk).get(f"/documents/{genomic['id']}/original").get_data()
    originals = {
        (birth["id"], 1): first,
        (birth["id"], 2): second,
        (receipt["id"], 1): receipt_bytes,
        (genomic["id"], 1): genomic_bytes,
    }
    return World(
        clerk, lawyer, mother, child, stranger, originals, relationship, restoration.get_json()["restoration"]["id"]
    )


@pytest.fixture
def registry_fingerprint(runtime) -> str:
    """What the registry publishes for courts to pin (``registry audit key``)."""
    return published_key(runtime.audit_key.public_key()).fingerprint


def _export(client: ApiClient, person_id: str, tmp_path: Path, name: str = "export.zip") -> tuple[Path, object]:
    response = client.get(f"/persons/{person_id}/export")
    assert response.status_code == 200, response.get_data()[:300]
    assert response.mimetype == "application/zip"
    path = tmp_path / name
    path.write_bytes(response.get_data())
    return path, response


def _read_json(path: Path, name: str):
    with zipfile.ZipFile(path) as archive:
        return json.loads(archive.read(name))


def _verify(path: Path, fingerprint: str):
    return CliRunner().invoke(bundle_command, ["verify", str(path), "--fingerprint", fingerprint])


# ---------------------------------------------------------------- what an export holds


def test_the_export_holds_the_person_every_document_the_relationships_and_the_access_report(
    api, world, tmp_path, registry_fingerprint
):
    path, response = _export(api(world.lawyer), world.child["id"], tmp_path)
    manifest = _read_json(path, "manifest.json")
    assert manifest["format"] == "registry-person-export/1"
    assert manifest["subject"] == {
        "type": "person",
        "id": world.child["id"],
        "registry_number": world.child["registry_number"],
    }
    with zipfile.ZipFile(path) as archive:
        assert hashlib.sha256(archive.read("manifest.json")).hexdigest() == response.headers["X-Manifest-SHA256"]
        files = {f["path"]: f for f in manifest["files"]}
        originals = {
            (f["document_id"], f["version"]): archive.read(p)
            for p, f in files.items()
            if f.get("document_id") and "viewing_copy_of" not in f
        }
        copies = {
            (f["document_id"], f["version"]): archive.read(f["path"]) for f in files.values() if "viewing_copy_of" in f
        }
    assert originals == world.originals  # every version's original, bit for bit
    assert copies == {
        (d, n): api(world.clerk).get(f"/documents/{d}/content?version={n}").get_data() for d, n in world.originals
    }  # and its viewing copy, as the registry shows it
    assert all(files[f["viewing_copy_of"]]["version"] == f["version"] for f in files.values() if "viewing_copy_of" in f)

    data = _read_json(path, "person.json")
    person = data["person"]
    assert [(n["family_name"], n["script"]) for n in person["names"]] == [
        ("Абдирасулова", "cyrillic"),
        ("بنت أحمد", "arabic"),
    ]
    assert (person["birth_date"], person["birth_date_precision"], person["categories"]) == (
        "2016-03-01",
        "year",
        ["child"],
    )
    assert "restricted_notes" not in person and "place_of_birth_recorded" not in person  # a lawyer's view
    assert {d["id"] for d in data["documents"]} == {d for d, _n in world.originals}
    assert [v["number"] for d in data["documents"] for v in d["versions"] if d["kind"] == "birth_record"] == [1, 2]
    [relationship] = data["relationships"]
    assert relationship["id"] == world.relationship["id"] and relationship["relative"]["id"] == world.mother["id"]
    assert [h["to"] for h in relationship["history"]] == ["claimed", "genetically_supported"]
    assert [e["kind"] for e in relationship["evidence"]] == ["genomic_test_result"]
    assert [r["id"] for r in data["restorations"]] == [world.restoration_id]
    assert [c["reference"] for c in data["cases"]] == ["KZ-7"]
    [genomic] = [v for v in data["structured_evidence"].values()]
    assert genomic["genomic_result"]["conclusion"] == "inclusion"

    report = _read_json(path, "access_report.json")
    emergency = [e for e in report if e["action"] == "access.emergency"]
    assert [(e["reason"], e["emergency"], e["target_id"]) for e in emergency] == [
        (EMERGENCY_REASON, True, world.child["id"])
    ]
    assert {"person.created", "document.uploaded", "document.original_read"} <= {e["action"] for e in report}
    assert all(e["hash"] and e["at"] and e["actor"] for e in report)

    result = _verify(path, registry_fingerprint)
    assert result.exit_code == 0 and "OK: every file matches the signed manifest" in result.output


def test_a_clerk_exports_the_restricted_fields_a_lawyer_does_not_see(api, world, tmp_path):
    path, _response = _export(api(world.clerk), world.child["id"], tmp_path)
    person = _read_json(path, "person.json")["person"]
    assert (person["restricted_notes"], person["place_of_birth_recorded"]) == ("secret", "Raqqa")


def test_the_page_offers_the_download_to_those_who_may_export(
    app, runtime, world, staff, registry_fingerprint, tmp_path
):
    caseworker = staff("caseworker")
    open_case(runtime, "KZ-8", members=[caseworker], person_ids=[world.child["id"]])
    lawyer = web_login(app, world.lawyer)
    page = lawyer.get(f"/persons/{world.child['id']}").get_data(as_text=True)
    link_ = re.search(r'href="([^"]+/export)"', page)
    assert link_ and "Download everything held about this person" in page
    download = lawyer.get(link_.group(1))
    assert download.status_code == 200 and download.mimetype == "application/zip"
    (tmp_path / "page.zip").write_bytes(download.get_data())
    assert _verify(tmp_path / "page.zip", registry_fingerprint).exit_code == 0
    reader = web_login(app, caseworker)
    assert "/export" not in reader.get(f"/persons/{world.child['id']}").get_data(as_text=True)
    assert reader.get(link_.group(1)).status_code == 403


# ---------------------------------------------------------------- checking it


def test_a_changed_byte_an_added_file_a_removed_file_or_a_forged_signature_fails_verify(
    api, world, tmp_path, registry_fingerprint
):
    path, _response = _export(api(world.lawyer), world.child["id"], tmp_path)
    manifest = _read_json(path, "manifest.json")
    original = next(f["path"] for f in manifest["files"] if f.get("document_id") and "viewing_copy_of" not in f)
    with zipfile.ZipFile(path) as archive:
        data = archive.read(original)
    changed = tmp_path / "changed.zip"
    rewrite_zip(path, changed, {original: data[:-1] + bytes([data[-1] ^ 1])})
    result = _verify(changed, registry_fingerprint)
    assert result.exit_code == 1 and f"ALTERED: {original}: altered" in result.output

    rewrite_zip(path, changed, {}, add={"documents/planted.png": scan("planted")})
    result = _verify(changed, registry_fingerprint)
    assert result.exit_code == 1 and "documents/planted.png: not listed in the manifest" in result.output

    rewrite_zip(path, changed, {"access_report.json": None})
    result = _verify(changed, registry_fingerprint)
    assert result.exit_code == 1 and "access_report.json: listed in the manifest but missing" in result.output

    forger = Ed25519PrivateKey.generate()  # the forger drops every entry of the access report and signs again
    files = [
        dict(f, sha256=hashlib.sha256(b"[]").hexdigest(), size=2) if f["path"] == "access_report.json" else f
        for f in manifest["files"]
    ]
    forged_manifest = json.dumps({**manifest, "files": files}, indent=2, sort_keys=True).encode()
    rewrite_zip(
        path,
        changed,
        {
            "access_report.json": b"[]",
            "manifest.json": forged_manifest,
            "manifest.sig": base64.b64encode(forger.sign(BUNDLE_CONTEXT + forged_manifest)),
            "public_key.pem": forger.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            ),
        },
    )
    result = _verify(changed, registry_fingerprint)
    assert result.exit_code == 1 and "not the pinned registry key" in result.output
    assert _verify(path, registry_fingerprint).exit_code == 0  # the untouched export still verifies


# ---------------------------------------------------------------- who may export, and what they see


def test_a_lawyer_outside_the_persons_cases_gets_the_answer_for_a_person_who_does_not_exist(api, world, staff):
    lawyer = api(world.lawyer)
    outside = lawyer.get(f"/persons/{world.stranger['id']}/export")
    missing = lawyer.get(f"/persons/{uuid.uuid4()}/export")
    assert outside.status_code == missing.status_code == 404
    assert outside.get_json() == missing.get_json() and error_code(outside) == "not_found"
    assert api(staff("lawyer")).get(f"/persons/{world.child['id']}/export").status_code == 404  # of no case


@pytest.mark.parametrize("role", ["caseworker", "auditor", "admin"])
def test_roles_without_the_permission_cannot_export(api, world, staff, runtime, role):
    member = staff(role)
    open_case(runtime, f"KZ-{role}", members=[member] if role == "caseworker" else [], person_ids=[world.child["id"]])
    response = api(member).get(f"/persons/{world.child['id']}/export")
    assert response.status_code == 403 and error_code(response) == "forbidden"


def test_a_person_outside_the_exporters_cases_is_never_named(api, world, runtime, tmp_path):
    stranger = world.stranger
    open_case(runtime, "KZ-9", person_ids=[world.child["id"], stranger["id"]])  # a case the lawyer is not in
    secrets = [stranger["id"], stranger["registry_number"], "Жумабекова"]

    def texts(path: Path) -> str:
        with zipfile.ZipFile(path) as archive:
            return "\n".join(
                archive.read(n).decode() for n in archive.namelist() if n.endswith((".json", ".txt", ".pem"))
            )

    lawyer_view = texts(_export(api(world.lawyer), world.child["id"], tmp_path, "lawyer.zip")[0])
    assert [s for s in secrets if s in lawyer_view] == []
    receipt = next(
        d for d in _read_json(tmp_path / "lawyer.zip", "person.json")["documents"] if d["kind"] == "consent_receipt"
    )
    assert [p["person_id"] for p in receipt["persons"]] == [world.child["id"]]
    clerk_view = texts(_export(api(world.clerk), world.child["id"], tmp_path, "clerk.zip")[0])
    assert [s for s in secrets if s in clerk_view] == secrets  # a clerk sees the whole registry
    assert [c["reference"] for c in _read_json(tmp_path / "lawyer.zip", "person.json")["cases"]] == ["KZ-7"]
    assert [c["reference"] for c in _read_json(tmp_path / "clerk.zip", "person.json")["cases"]] == ["KZ-7", "KZ-9"]


# ---------------------------------------------------------------- the log


def test_the_export_and_each_document_read_are_logged(api, world, runtime, tmp_path):
    seq = last_seq(runtime)
    _path, response = _export(api(world.lawyer), world.child["id"], tmp_path)
    events = events_after(runtime, seq)
    reads = sorted(
        (e.target_id, json.loads(e.details)["version"]) for e in events if e.action == "document.original_read"
    )
    assert reads == sorted(world.originals)
    copies = sorted(
        (e.target_id, json.loads(e.details)["version"]) for e in events if e.action == "document.content_read"
    )
    assert copies == sorted(world.originals)
    [exported] = [e for e in events if e.action == "person.exported"]
    assert (exported.outcome, exported.target_id, exported.actor_name) == (
        "allowed",
        world.child["id"],
        world.lawyer.username,
    )
    assert json.loads(exported.details)["manifest_sha256"] == response.headers["X-Manifest-SHA256"]
    assert set(json.loads(exported.person_ids)) == {world.child["id"], world.mother["id"]}


def test_refused_exports_change_nothing_but_log_the_refusal(api, world, staff, runtime):
    caseworker = staff("caseworker")
    before, seq = snapshot(runtime), last_seq(runtime)
    assert api(world.lawyer).get(f"/persons/{world.stranger['id']}/export").status_code == 404
    assert api(caseworker).get(f"/persons/{world.child['id']}/export").status_code == 403
    assert changed_tables(before, snapshot(runtime)) == set()
    events = [(e.actor_name, e.action, e.outcome) for e in events_after(runtime, seq)]
    assert events == [
        (world.lawyer.username, "person.exported", "denied"),
        (caseworker.username, "access.denied", "denied"),
    ]


def test_an_original_that_is_not_what_its_upload_recorded_stops_the_export(api, world, runtime, tamper):  # noqa: F811
    document_id = next(iter(world.originals))[0]
    with runtime.sessions() as db:
        upload_event = db.scalar(
            sa.select(AuditEvent).where(AuditEvent.target_id == document_id, AuditEvent.action == "document.uploaded")
        )
    details = json.loads(upload_event.details)
    details["fingerprint"] = details["fingerprint"][:-64] + "0" * 64
    tamper(("UPDATE audit_events SET details = :d WHERE seq = :s", {"d": json.dumps(details), "s": upload_event.seq}))
    seq = last_seq(runtime)
    response = api(world.lawyer).get(f"/persons/{world.child['id']}/export")
    assert response.status_code == 500 and error_code(response) == "integrity_error"
    failed = [(e.action, e.outcome, e.target_id) for e in events_after(runtime, seq) if e.outcome != "allowed"]
    assert failed == [("person.exported", "failed", document_id)]


def test_the_api_document_describes_the_export(app):
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    operation = spec["paths"]["/api/v1/persons/{person_id}/export"]["get"]
    assert operation["x-permission"] == "person.export"
    assert "application/zip" in operation["responses"]["200"]["content"]
    assert "X-Manifest-SHA256" in operation["responses"]["200"]["headers"]
