"""Retention and disposal: exactly what is past its period and free goes; holds (on a person, a case, a document),
locks, permanent kinds and documents inside their period stay; two people decide; the record is signed; the
files go and the record stays."""

from __future__ import annotations

import base64
import io
import json

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from registry.audit.checkpoints import CHECKPOINT_CONTEXT
from registry.audit.events import Action, canonical_json
from registry.audit.models import AuditEvent
from registry.backup import service as backups
from registry.cli import main
from registry.documents.models import DocumentVersion
from registry.documents.scrub import scrub
from registry.holds import disposal as disposals
from registry.holds.models import Disposal
from registry.settings import SettingsError, load_settings
from tests.audit.route_world import events_after, last_seq
from tests.conftest import error_code
from tests.holds.conftest import hold, lift
from tests.kinship.helpers import scan
from tests.web.browser import signed_in
from tests.web.test_refusals_change_nothing import changed_tables, snapshot


def _keys(runtime, document_id: str) -> list[str]:
    with runtime.sessions() as db:
        versions = db.scalars(sa.select(DocumentVersion).where(DocumentVersion.document_id == document_id))
        return [o.key for v in versions for o in (v.original, v.viewing) if o is not None]


def _propose(api, member) -> dict:
    response = api(member).post("/disposals")
    assert response.status_code == 201, response.get_json()
    return response.get_json()["disposal"]


def _approve(api, member, disposal_id: str):
    return api(member).post(f"/disposals/{disposal_id}/approve")


def _outcomes(disposal: dict) -> dict[str, str]:
    return {d["document_id"]: d["outcome"] for d in disposal["documents"]}


# ---------------------------------------------------------------- the schedule in settings


def test_the_default_schedule_keeps_evidence_permanently(settings):
    schedule = settings.retention_schedule
    assert schedule["birth_record"] is schedule["court_ruling"] is schedule["genomic_test_result"] is None
    assert schedule["passport"] == schedule["identity_document"] == 75 and schedule["other"] == 25


@pytest.mark.parametrize(
    "value, words",
    [
        ("passport=5", "less than the 3650 days"),
        ("identity_card=75", "KIND one of"),
        ("passport=seventy", "whole number"),
        ("passport", "KIND=YEARS"),
        ("other=0", "whole number"),
    ],
)
def test_a_bad_schedule_stops_the_start(tmp_path, value, words):
    with pytest.raises(SettingsError, match=f"REGISTRY_RETENTION_YEARS.*{words}"):
        load_settings({"REGISTRY_INSTANCE_PATH": str(tmp_path), "REGISTRY_RETENTION_YEARS": value})


def test_a_schedule_changes_only_the_kinds_it_names(tmp_path):
    settings = load_settings(
        {
            "REGISTRY_INSTANCE_PATH": str(tmp_path),
            "REGISTRY_RETENTION_YEARS": "passport=30, birth_record=permanent,other=permanent",
            "REGISTRY_WORM_RETENTION_DAYS": "3650",
        }
    )
    assert settings.retention_schedule["passport"] == 30 and settings.retention_schedule["other"] is None
    assert settings.retention_schedule["consent_receipt"] == 75


# ---------------------------------------------------------------- what goes and what stays


@pytest.fixture
def shelf(registry, add_document, make_old, api, team, make_copies):
    """One document of each fate: only ``due`` may go."""
    docs = {
        "due": add_document(registry.child, "passport"),
        "recent": add_document(registry.child, "passport"),
        "permanent": add_document(registry.child, "birth_record"),
        "locked": add_document(registry.child, "identity_document"),
        "held": add_document(registry.stranger, "passport"),
        "other_due": add_document(registry.mother, "other"),
    }
    make_copies()
    for name in ("due", "permanent", "held"):
        make_old(docs[name], 80)
    make_old(docs["recent"], 50)
    make_old(docs["locked"], 80, locked=True)
    make_old(docs["other_due"], 30)
    assert hold(api(team.clerk), "document", docs["held"]).status_code == 201
    return docs


def test_the_dry_run_lists_what_is_due_and_changes_nothing(runtime, shelf, cli):
    before, seq = snapshot(runtime), last_seq(runtime)
    result = cli("retention", "run", "--dry-run")
    assert result.exit_code == 0, result.output
    lines = {line.split()[2]: line for line in result.output.splitlines() if line.startswith(("DUE", "KEPT"))}
    assert set(lines) == {shelf["due"], shelf["locked"], shelf["held"], shelf["other_due"]}
    assert lines[shelf["due"]].startswith("DUE") and "passport kept 75 years" in lines[shelf["due"]]
    assert lines[shelf["other_due"]].startswith("DUE")
    assert "object_lock" in lines[shelf["locked"]] and "legal_hold" in lines[shelf["held"]]
    assert "Nothing was changed" in result.output
    assert changed_tables(before, snapshot(runtime)) == set() and events_after(runtime, seq) == []


def test_retention_disposes_exactly_what_it_should(runtime, api, team, shelf):
    proposal = _propose(api, team.clerk)
    assert set(_outcomes(proposal)) == {shelf["due"], shelf["other_due"]}
    response = _approve(api, team.second_clerk, proposal["id"])
    assert response.status_code == 200, response.get_json()
    approved = response.get_json()["disposal"]
    assert approved["status"] == "approved"
    assert _outcomes(approved) == {shelf["due"]: "disposed", shelf["other_due"]: "disposed"}

    for name, document_id in shelf.items():
        gone = name in ("due", "other_due")
        assert all(runtime.raw_store.exists(k) != gone for k in _keys(runtime, document_id)), name
        original = api(team.clerk).get(f"/documents/{document_id}/original")
        assert original.status_code == (410 if gone else 200), name
        original.close()
    assert _propose_refused(api, team.clerk) == "conflict"  # nothing else is due and free


def _propose_refused(api, member) -> str:
    response = api(member).post("/disposals")
    assert response.status_code == 409
    return error_code(response)


@pytest.mark.parametrize("level", ["person", "case", "document"])
def test_a_hold_placed_after_the_proposal_blocks_the_disposal(
    runtime, api, team, registry, add_document, make_old, level
):
    document = add_document(registry.child, "passport")
    make_old(document, 80)
    proposal = _propose(api, team.clerk)
    assert _outcomes(proposal) == {document: None}  # proposed, not yet decided
    target = {"person": registry.child, "case": registry.case_id, "document": document}[level]
    placed = hold(api(team.lawyer), level, target)
    assert placed.status_code == 201
    before, seq = snapshot(runtime), last_seq(runtime)

    refused = _approve(api, team.second_clerk, proposal["id"])

    assert refused.status_code == 409 and error_code(refused) == "conflict"
    assert changed_tables(before, snapshot(runtime)) == set()
    assert [(e.action, e.outcome) for e in events_after(runtime, seq)] == [(Action.DISPOSAL_APPROVED, "failed")]
    assert all(runtime.raw_store.exists(k) for k in _keys(runtime, document))
    # Lifted, the hold no longer stands in the way: the same proposal goes through.
    assert lift(api(team.lawyer), placed.get_json()["legal_hold"]["id"]).status_code == 200
    assert _approve(api, team.second_clerk, proposal["id"]).status_code == 200
    assert not any(runtime.raw_store.exists(k) for k in _keys(runtime, document))


def test_a_document_uploaded_later_for_a_held_person_is_held(api, team, registry, add_document, make_old):
    assert hold(api(team.clerk), "person", registry.mother).status_code == 201
    later = add_document(registry.mother, "passport")
    make_old(later, 80)
    due = api(team.clerk).get("/retention/due").get_json()["due"]
    assert [(d["document_id"], d["kept_because"].split(":")[0]) for d in due] == [(later, "legal_hold")]
    assert _propose_refused(api, team.clerk) == "conflict"


def test_the_proposer_cannot_approve_their_own_proposal(runtime, api, team, registry, add_document, make_old, staff):
    document = add_document(registry.child, "passport")
    make_old(document, 80)
    proposal = _propose(api, team.clerk)
    before, seq = snapshot(runtime), last_seq(runtime)

    own = _approve(api, team.clerk, proposal["id"])

    assert own.status_code == 403 and error_code(own) == "forbidden"
    assert "another member of staff" in own.get_json()["error"]["message"]
    assert changed_tables(before, snapshot(runtime)) == set()
    refusal = events_after(runtime, seq)
    assert [(e.action, e.outcome, e.actor_id) for e in refusal] == [(Action.DISPOSAL_APPROVED, "denied", team.clerk.id)]
    assert all(runtime.raw_store.exists(k) for k in _keys(runtime, document))
    for member in (team.lawyer, staff("caseworker"), staff("auditor"), team.admin):  # nor anyone else but clerks
        assert _approve(api, member, proposal["id"]).status_code == 403


def test_the_approval_page_refuses_the_proposer_in_plain_words(app, api, team, registry, add_document, make_old):
    document = add_document(registry.child, "passport")
    make_old(document, 80)
    proposal = _propose(api, team.clerk)
    browser = signed_in(app, team.clerk.username)
    page = browser.get("/retention").get_data(as_text=True)
    assert document in page and "Your proposal" in page
    refused = browser.post(f"/retention/disposals/{proposal['id']}/approve", {})
    assert refused.status_code == 403
    assert "You proposed this disposal, so you cannot approve it" in refused.get_data(as_text=True)
    approved = signed_in(app, team.second_clerk.username).post(f"/retention/disposals/{proposal['id']}/approve", {})
    assert approved.status_code == 302


# ---------------------------------------------------------------- after a disposal


@pytest.fixture
def disposed(runtime, api, team, registry, add_document, make_old, make_copies) -> dict:
    document = add_document(registry.child, "passport")
    version = api(team.clerk).post(
        f"/documents/{document}/versions",
        data={"file": (io.BytesIO(scan("re-issued")), "passport.png"), "reason": "re-issued"},
        content_type="multipart/form-data",
    )
    assert version.status_code == 201, version.get_json()
    make_copies()
    make_old(document, 80)
    keys = _keys(runtime, document)
    proposal = _propose(api, team.clerk)
    approved = _approve(api, team.second_clerk, proposal["id"])
    assert approved.status_code == 200, approved.get_json()
    return {"document": document, "disposal": proposal["id"], "keys": keys}


def test_a_disposed_original_answers_410_and_its_record_remains(app, runtime, api, team, registry, disposed):
    client = api(team.clerk)
    document = disposed["document"]
    for path in (
        f"/documents/{document}/original",
        f"/documents/{document}/original?version=1",
        f"/documents/{document}/content",
    ):
        response = client.get(path)
        assert response.status_code == 410 and error_code(response) == "disposed", path
        assert disposed["disposal"] in response.get_json()["error"]["message"]
    record = client.get(f"/documents/{document}")
    assert record.status_code == 200
    shown = record.get_json()["document"]
    assert shown["disposed"] is True and [v["number"] for v in shown["versions"]] == [1, 2]
    assert {v["disposal_id"] for v in shown["versions"]} == {disposed["disposal"]}
    assert [p["person_id"] for p in shown["persons"]] == [registry.child]
    assert client.get(f"/persons/{registry.child}").status_code == 200
    assert len(disposed["keys"]) == 4 and not any(runtime.raw_store.exists(k) for k in disposed["keys"])

    browser = signed_in(app, team.lawyer.username)
    page = browser.get(f"/documents/{document}").get_data(as_text=True)
    assert disposed["disposal"] in page and f"/documents/{document}/original" not in page
    download = browser.get(f"/documents/{document}/original")
    assert download.status_code == 410 and disposed["disposal"] in download.get_data(as_text=True)
    refused = client.post(
        f"/documents/{document}/versions",
        data={"file": (io.BytesIO(scan("again")), "passport.png"), "reason": "found again"},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 410 and error_code(refused) == "disposed"
    with runtime.sessions() as db:  # the upload's and the disposal's events are still in the log
        actions = set(db.scalars(sa.select(AuditEvent.action).where(AuditEvent.target_id == document)))
    assert {Action.DOCUMENT_UPLOADED, Action.DOCUMENT_VERSION_ADDED, Action.DOCUMENT_DISPOSED} <= actions


def test_a_court_bundle_names_the_disposal_instead_of_leaving_a_document_out(api, team, registry, disposed):
    """A bundle never silently drops evidence: one that would contain a disposed document is refused, saying
    which disposal took it (the files of a court's evidence are kept permanently unless the schedule says
    otherwise)."""
    response = api(team.lawyer).get(f"/persons/{registry.child}/bundle")
    assert response.status_code == 410 and error_code(response) == "disposed"
    assert disposed["disposal"] in response.get_json()["error"]["message"]


def test_the_disposal_record_is_signed_and_an_altered_record_fails(runtime, disposed, team, cli):
    with runtime.sessions() as db:
        approval = db.scalar(sa.select(AuditEvent).where(AuditEvent.action == Action.DISPOSAL_APPROVED))
        per_document = list(db.scalars(sa.select(AuditEvent).where(AuditEvent.action == Action.DOCUMENT_DISPOSED)))
    details = json.loads(approval.details)
    public = runtime.audit_key.public_key()
    assert details["documents"] == [disposed["document"]] and details["kinds"] == ["passport"]
    assert details["versions"] == [f"{disposed['document']}:1", f"{disposed['document']}:2"]
    assert "passport kept 75 years" in details["why"][0]
    assert (details["proposed_by"], details["approved_by"]) == (team.clerk.username, team.second_clerk.username)
    assert disposals.verify_record(details, public)
    assert [e.target_id for e in per_document] == [disposed["document"]]

    for field, value in (
        ("approved_by", team.clerk.username),
        ("documents", []),
        ("why", ["nothing"]),
        ("proposed_at", "2000-01-01T00:00:00.000000Z"),
    ):
        assert not disposals.verify_record({**details, field: value}, public), field
    # Signed over its own context line: the same bytes signed as anything else do not verify as a record.
    forged = base64.b64encode(
        runtime.audit_key.sign(CHECKPOINT_CONTEXT + canonical_json({f: details[f] for f in disposals.RECORD_FIELDS}))
    ).decode()
    assert not disposals.verify_record({**details, "signature": forged}, public)

    ok = cli("retention", "verify", disposed["disposal"])
    assert ok.exit_code == 0 and "OK" in ok.output, ok.output


def test_scrub_and_backup_know_disposed_objects_are_gone_on_purpose(runtime, disposed, tmp_path):
    with runtime.sessions() as db:
        report = scrub(db, runtime.store, runtime.raw_store)
    assert report.ok and report.missing == [] and report.disposed == len(disposed["keys"])
    summary = backups.backup(runtime, backups.open_destination(str(tmp_path / "backups")))
    assert summary.missing == []
    manifest = backups.SignedManifest.read(backups.open_destination(str(tmp_path / "backups")), summary.name)
    assert not {e["key"] for e in manifest.content()["objects"]} & set(disposed["keys"])


def test_a_rejected_proposal_disposes_of_nothing_and_needs_a_reason(
    runtime, api, team, registry, add_document, make_old
):
    document = add_document(registry.child, "passport")
    make_old(document, 80)
    proposal = _propose(api, team.clerk)
    before = snapshot(runtime)
    assert api(team.second_clerk).post(f"/disposals/{proposal['id']}/reject", json={"reason": ""}).status_code == 422
    assert changed_tables(before, snapshot(runtime)) == set()
    done = api(team.clerk).post(f"/disposals/{proposal['id']}/reject", json={"reason": "Proposed by mistake, sorry."})
    assert done.status_code == 200 and done.get_json()["disposal"]["status"] == "rejected"
    assert _approve(api, team.second_clerk, proposal["id"]).status_code == 409
    assert all(runtime.raw_store.exists(k) for k in _keys(runtime, document))


def test_the_cli_proposes_in_a_named_members_name(runtime, api, team, registry, add_document, make_old, cli):
    document = add_document(registry.child, "passport")
    make_old(document, 80)
    refused = cli("retention", "propose", "--by", team.lawyer.username)
    assert refused.exit_code != 0 and "retention.manage" in refused.output
    result = cli("retention", "propose", "--by", team.clerk.username)
    assert result.exit_code == 0, result.output
    with runtime.sessions() as db:
        proposal = db.scalar(sa.select(Disposal))
    assert proposal.proposed_by_id == team.clerk.id and proposal.id in result.output
    assert _approve(api, team.clerk, proposal.id).status_code == 403
    assert _approve(api, team.second_clerk, proposal.id).status_code == 200


@pytest.fixture
def cli(monkeypatch, settings):
    """cli(*args): `registry ...` run as an operator would, on this test's database, store and keys."""
    for name in ("instance_path", "database_url", "storage_url"):
        monkeypatch.setenv(f"REGISTRY_{name.upper()}", getattr(settings, name))
    monkeypatch.setenv("REGISTRY_WORM_SELFTEST", "false")
    return lambda *args: CliRunner().invoke(main, list(args))
