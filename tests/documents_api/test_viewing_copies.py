"""Viewing copies are made after the upload has answered: pending, then ready or failed.

The upload waits only for the file to be opened; the pages are drawn by a copy
thread (or `registry copies make`), and a copy that nobody finished, because its
process died, is taken up again once its claim has expired.
"""

from __future__ import annotations

import html
import os
import re
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from registry import cli
from registry.app import create_app
from registry.audit.events import Action
from registry.documents import copies, viewing_copy
from registry.documents.copies import CopyPolicy
from registry.documents.models import DocumentVersion
from registry.documents.viewing_copy import ConversionLimits
from tests.conftest import error_code
from tests.documents import files
from tests.documents_api.support import events, files_under, stored_keys, upload, upload_workdir, uploaded


def _version(runtime) -> DocumentVersion:
    with runtime.sessions() as db:
        return db.scalar(sa.select(DocumentVersion))


@pytest.fixture
def scan(tmp_path) -> bytes:
    return files.simple_pdf(tmp_path / "scan.pdf", pages=2).read_bytes()


def test_upload_answers_before_the_copy_and_reading_it_early_is_a_logged_conflict(
    client, clerk, person, runtime, scan, make_copies
):
    document = uploaded(upload(client, person["id"], scan, "scan.pdf"))
    assert document["versions"][0]["pages"] == 2  # counted while the clerk waited
    assert document["versions"][0]["viewing_copy"]["status"] == "pending"

    early = client.get(f"/documents/{document['id']}/content")

    assert (early.status_code, error_code(early)) == (409, "viewing_copy_pending")
    assert "still being made" in early.get_json()["error"]["message"]
    [attempt] = events(runtime, Action.DOCUMENT_CONTENT_READ, document["id"])
    assert (attempt.actor_id, attempt.outcome) == (clerk.id, "failed")
    assert client.get(f"/documents/{document['id']}/original").status_code == 200  # the evidence is there already

    assert make_copies() == {"ready": 1}
    shown = client.get(f"/documents/{document['id']}").get_json()["document"]["versions"][0]["viewing_copy"]
    assert shown == {"status": "ready", "content_type": "application/pdf", "problem": None}
    assert client.get(f"/documents/{document['id']}/content").status_code == 200
    assert make_copies() == {}  # nothing is made twice


def test_a_copy_that_cannot_be_made_leaves_the_original_and_says_what_to_do(
    client, person, runtime, tmp_path, make_copies, monkeypatch
):
    # Opening the file passes; writing its copy exceeds the child's output limit and the child is killed.
    runtime.viewing_copies.policy = CopyPolicy(str(upload_workdir(runtime)), ConversionLimits(max_output_mb=1))
    scan = files.scanned_pdf(tmp_path / "scan.pdf", pages=4, photo_side=900).read_bytes()
    document = uploaded(upload(client, person["id"], scan, "scan.pdf"))

    assert make_copies() == {"failed": 1}

    version = client.get(f"/documents/{document['id']}").get_json()["document"]["versions"][0]
    problem = version["viewing_copy"]["problem"]
    assert version["viewing_copy"]["status"] == "failed"
    assert "original is kept" in problem and "lower resolution" in problem
    response = client.get(f"/documents/{document['id']}/content")
    assert (response.status_code, error_code(response)) == (409, "viewing_copy_failed")
    assert response.get_json()["error"]["message"] == problem
    assert client.get(f"/documents/{document['id']}/original").data == scan
    assert len(stored_keys(runtime)) == 1 and files_under(upload_workdir(runtime)) == []
    assert make_copies() == {}  # a failure is final: a better scan comes as a new version


def test_failed_copy_is_explained_on_the_page_in_the_clerks_language(
    client, person, runtime, tmp_path, make_copies, app, clerk
):
    from tests.kinship.helpers import web_login

    runtime.viewing_copies.policy = CopyPolicy(str(upload_workdir(runtime)), ConversionLimits(max_output_mb=1))
    scan = files.scanned_pdf(tmp_path / "scan.pdf", pages=4, photo_side=900).read_bytes()
    document = uploaded(upload(client, person["id"], scan, "scan.pdf"))
    make_copies()
    web = web_login(app, clerk)

    english = web.get(f"/documents/{document['id']}").get_data(as_text=True)
    russian = web.get(f"/documents/{document['id']}", headers={"Accept-Language": "ru"}).get_data(as_text=True)

    assert "original is kept" in _alert(english) and "refresh" not in english
    assert "оригинал" in _alert(russian) and not re.search("[A-Za-z]{4}", _alert(russian))


def _alert(page: str) -> str:
    return html.unescape(re.search(r'<p class="flash error" role="alert">(.*?)</p>', page, re.S).group(1))


def test_a_dead_workers_claim_expires_and_the_job_is_taken_up_from_the_store(
    client, person, runtime, scan, make_copies
):
    uploaded(upload(client, person["id"], scan, "scan.pdf"))
    lease = runtime.viewing_copies.policy.lease
    with runtime.sessions() as db:
        db.execute(
            sa.update(DocumentVersion).values(
                viewing_claim="worker-that-died", viewing_claimed_at=datetime.now(UTC) - lease / 2
            )
        )
        db.commit()

    assert make_copies() == {}  # a live claim is left alone
    assert _version(runtime).viewing_status == "pending"

    with runtime.sessions() as db:
        db.execute(
            sa.update(DocumentVersion).values(viewing_claimed_at=datetime.now(UTC) - lease - timedelta(seconds=1))
        )
        db.commit()
    assert make_copies() == {"ready": 1}  # the spooled upload is gone: the original came back from the store
    assert _version(runtime).viewing_claim is None


def test_a_worker_that_lost_its_claim_records_nothing_and_deletes_its_copy(client, person, runtime, scan, monkeypatch):
    uploaded(upload(client, person["id"], scan, "scan.pdf"))
    [original_key] = stored_keys(runtime)
    real_copy = copies.make_viewing_copy

    def slow_copy(*args, **kwargs):
        # While this worker converts, its lease runs out and another worker claims the job.
        with runtime.sessions() as db:
            db.execute(sa.update(DocumentVersion).values(viewing_claim="the-other-worker"))
            db.commit()
        return real_copy(*args, **kwargs)

    monkeypatch.setattr(copies, "make_viewing_copy", slow_copy)

    outcome = copies.make_copy(runtime.sessions, runtime.store, runtime.viewing_copies.policy, _version(runtime).id)

    assert outcome is None
    version = _version(runtime)
    assert (version.viewing_status, version.viewing_id, version.viewing_claim) == ("pending", None, "the-other-worker")
    assert stored_keys(runtime) == [original_key]


def test_copy_threads_make_the_copy_from_the_handed_over_upload(settings, person, clerk, monkeypatch):
    app = create_app(settings.with_overrides(copy_workers=1))
    runtime = app.extensions["registry"]
    fetched = []
    monkeypatch.setattr(copies, "_fetch_original", lambda *args: fetched.append(args) or pytest.fail("re-read"))
    client_ = _client_for(app, clerk)
    try:
        document = uploaded(
            upload(
                client_,
                person["id"],
                files.simple_pdf(Path(settings.instance_path) / "scan.pdf").read_bytes(),
                "scan.pdf",
            )
        )
        assert runtime.viewing_copies.wait_idle(timeout=120)
        assert client_.get(f"/documents/{document['id']}/content").status_code == 200
        assert fetched == [] and files_under(upload_workdir(runtime)) == []
    finally:
        runtime.close()


def test_the_sweep_of_another_process_makes_copies_nobody_queued(settings, client, person, scan):
    uploaded(upload(client, person["id"], scan, "scan.pdf"))  # this server makes no copies itself
    other = create_app(settings.with_overrides(copy_workers=1, copy_sweep_seconds=1))
    runtime = other.extensions["registry"]
    try:
        deadline = time.monotonic() + 120
        while _version(runtime).viewing_status == "pending" and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _version(runtime).viewing_status == "ready"
    finally:
        runtime.close()


def test_registry_copies_make_reports_what_it_made(settings, client, person, scan, monkeypatch):
    uploaded(upload(client, person["id"], scan, "scan.pdf"))
    for name, value in {
        "REGISTRY_INSTANCE_PATH": settings.instance_path,
        "REGISTRY_DATABASE_URL": settings.database_url,
        "REGISTRY_STORAGE_URL": settings.storage_url,
        "REGISTRY_COPY_WORKERS": "0",
        "REGISTRY_WORM_SELFTEST": "false",
    }.items():
        monkeypatch.setenv(name, value)

    first = CliRunner().invoke(cli.main, ["copies", "make"])
    again = CliRunner().invoke(cli.main, ["copies", "make"])

    assert (first.exit_code, first.output.strip()) == (0, "1 ready")
    assert (again.exit_code, again.output.strip()) == (0, "No viewing copy is waiting.")


def _client_for(app, member):
    from tests.conftest import ApiClient

    return ApiClient(app.test_client(), member.token)


def test_what_a_killed_process_left_in_the_upload_folder_is_removed_at_start(settings):
    uploads = Path(settings.instance_path) / "uploads"
    (uploads / "tmp-work-of-a-killed-job").mkdir(parents=True)
    (uploads / "tmp-work-of-a-killed-job" / "original").write_bytes(b"plaintext scan")
    (uploads / "0b1c.original").write_bytes(b"plaintext scan")
    (uploads / "upload-live").write_bytes(b"an upload arriving right now")
    long_ago = time.time() - CopyPolicy(str(uploads)).lease.total_seconds() - 60
    for stale in ("tmp-work-of-a-killed-job", "0b1c.original"):
        os.utime(uploads / stale, (long_ago, long_ago))

    create_app(settings).extensions["registry"].close()

    assert sorted(p.name for p in uploads.iterdir()) == ["upload-live"]


def test_the_copy_thread_readies_a_converter_between_uploads_never_during_one(settings, person, clerk, monkeypatch):
    """An upload opens its file in a child loaded ahead of need; loading the next one while the upload still
    stores its original slowed the upload down, so only the idle copy thread does it."""
    app = create_app(settings.with_overrides(copy_workers=1))
    runtime = app.extensions["registry"]
    started_by = []
    real_start = viewing_copy._start_converter

    def start(limits):
        started_by.append(threading.current_thread().name)
        return real_start(limits)

    monkeypatch.setattr(viewing_copy, "_start_converter", start)
    client_ = _client_for(app, clerk)
    try:
        assert runtime.viewing_copies.wait_idle(timeout=60)
        viewing_copy.prepare_converter(runtime.viewing_copies.policy.limits)  # ready (a no-op if the thread was first)
        started_by.clear()
        request_thread = threading.current_thread().name

        uploaded(
            upload(
                client_,
                person["id"],
                files.simple_pdf(Path(settings.instance_path) / "scan.pdf").read_bytes(),
                "scan.pdf",
            )
        )
        assert runtime.viewing_copies.wait_idle(timeout=120)

        assert request_thread not in started_by  # the upload used the child made ready before it
        assert started_by and all(name.startswith("viewing-copy") for name in started_by)
        spare = viewing_copy._spares._spare
        assert spare is not None and spare[2].poll() is None  # ready for the next upload
    finally:
        runtime.close()
