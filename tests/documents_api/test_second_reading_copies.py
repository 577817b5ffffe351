"""Second reading of "viewing copies after the upload answers": what the new queue leaves behind.

Each test guards a defect that reading found (its docstring tells what went wrong before the fix) or
a risk it checked and found handled.
"""

from __future__ import annotations

import io
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from registry.app import create_app
from registry.audit.events import Action
from registry.documents import copies
from registry.documents.models import DocumentVersion
from tests.conftest import ApiClient, error_code
from tests.documents import files
from tests.documents_api.support import events, files_under, stored_keys, upload, upload_workdir, uploaded


@pytest.fixture
def scan(tmp_path) -> bytes:
    return files.simple_pdf(tmp_path / "scan.pdf").read_bytes()


def _versions(runtime) -> dict[str, DocumentVersion]:
    with runtime.sessions() as db:
        return {v.document_id: v for v in db.scalars(sa.select(DocumentVersion))}


class _Gate:
    """Holds the copy worker inside make_copy until released (a long scan being drawn)."""

    def __init__(self, monkeypatch):
        self.started = threading.Event()
        self.release = threading.Event()
        real = copies.make_copy

        def held(*args, **kwargs):
            self.started.set()
            assert self.release.wait(120)
            return real(*args, **kwargs)

        monkeypatch.setattr(copies, "make_copy", held)


@pytest.fixture
def threaded(settings, clerk, monkeypatch):
    """An app with one copy thread whose first job is held at the gate."""
    gate = _Gate(monkeypatch)
    app = create_app(settings.with_overrides(copy_workers=1))
    runtime = app.extensions["registry"]
    yield app, runtime, ApiClient(app.test_client(), clerk.token), gate
    gate.release.set()
    runtime.close()


# ---------------------------------------------------------------- plaintext left on disk


def test_stopping_the_server_with_copies_queued_leaves_no_plaintext_upload_behind(
    threaded, person, scan, settings, make_copies
):
    """ViewingCopies.close() shuts the pool down with cancel_futures=True: a queued job's `_run` never
    runs, so its `finally: _remove(spooled)` never runs either and `<uploads>/<version>.original`
    (the plaintext upload) stays on disk. Nothing ever removes it: the sweep / `registry copies make`
    of the next process makes the copy from the store and never looks at the uploads folder."""
    app, runtime, client, gate = threaded
    uploaded(upload(client, person["id"], scan, "first.pdf"))
    assert gate.started.wait(60)  # the one copy thread is busy with the first upload
    uploaded(upload(client, person["id"], scan, "second.pdf"))  # queued behind it, spool handed over

    stopping = threading.Thread(target=runtime.close)  # the server is stopped / restarted (deploy, SIGTERM)
    stopping.start()
    gate.release.set()
    stopping.join(120)

    assert make_copies() == {"ready": 1}  # the next process makes the forgotten copy from the store ...
    assert files_under(upload_workdir(runtime)) == []  # ... and no plaintext upload is left in instance/uploads


def test_uploads_waiting_for_a_copy_thread_do_not_pile_up_as_plaintext_on_disk(threaded, person, scan):
    """Every accepted upload keeps its plaintext spool (up to REGISTRY_MAX_UPLOAD_MB each) in
    instance/uploads until a copy thread reaches it; the queue is unbounded. One signed-in clerk
    uploading large scans faster than they are drawn (seconds per page, 2 min wall clock each)
    fills the local disk with plaintext; before this change the spool lived only as long as the request.
    Bound it: keep the spool only for jobs a thread starts now, otherwise delete it and let the
    worker read the original back from the store."""
    app, runtime, client, gate = threaded
    uploaded(upload(client, person["id"], scan, "first.pdf"))
    assert gate.started.wait(60)
    for n in range(4):
        uploaded(upload(client, person["id"], scan, f"more-{n}.pdf"))

    kept = [p for p in files_under(upload_workdir(runtime)) if p.name.endswith(".original")]
    assert len(kept) <= 1, f"{len(kept)} plaintext uploads wait on disk for one copy thread"


def test_a_client_that_disconnects_mid_upload_leaves_no_partial_spool(client, person, runtime, scan):
    """Guard: the parser writes file parts straight into instance/uploads; a body cut short must not
    leave the partial (plaintext) part there."""
    boundary = "cutshort"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="kind"\r\n\r\npassport\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="title"\r\n\r\nPassport\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="p.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n"
    ).encode()
    body = head + scan * 50
    response = client.post(
        f"/persons/{person['id']}/documents",
        input_stream=io.BytesIO(body),
        content_type=f"multipart/form-data; boundary={boundary}",
        environ_overrides={"CONTENT_LENGTH": str(len(body) + 100_000)},
    )

    assert response.status_code in (400, 422), response.get_data(as_text=True)
    assert files_under(upload_workdir(runtime)) == []
    assert _versions(runtime) == {}


# ---------------------------------------------------------------- claims and the queue


def test_a_database_failure_while_recording_the_copy_leaves_no_unreferenced_copy(client, person, runtime, scan):
    """`_finish` registers `on_rollback(delete copy)`, but when the flush/UPDATE/commit raises, the
    `with sessions()` block only closes the session; registry.db runs rollback actions on
    `after_soft_rollback`, which Session.close() does not emit. The stored copy is never referenced
    and never deleted; the job is released and retried, storing another orphan each time."""
    uploaded(upload(client, person["id"], scan, "scan.pdf"))
    [original_key] = stored_keys(runtime)
    [version] = _versions(runtime).values()

    def database_gone(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("UPDATE DOCUMENT_VERSIONS") and "viewing_id" in statement:
            raise sa.exc.OperationalError(statement, parameters, Exception("database is locked"))

    sa.event.listen(runtime.engine, "before_cursor_execute", database_gone)
    try:
        outcome = copies.make_copy(runtime.sessions, runtime.store, runtime.viewing_copies.policy, version.id)
    finally:
        sa.event.remove(runtime.engine, "before_cursor_execute", database_gone)

    assert outcome == "pending"  # released, to be tried again
    assert _versions(runtime)[version.document_id].viewing_claim is None
    assert stored_keys(runtime) == [original_key], "a viewing copy was stored that no row references"


def test_copies_make_does_not_stop_at_a_batch_of_versions_that_keep_failing(
    client, person, runtime, scan, make_copies, monkeypatch
):
    """`make_waiting` loops while `waiting_versions` (the 100 OLDEST pending, SWEEP_BATCH) returns ids
    it has not seen. A version whose copy fails with a storage/OS error is released and stays pending,
    so once the 100 oldest are such versions the list is all 'seen' and the loop ends: every newer
    upload stays pending (and the periodic sweep re-queues the same 100 forever, starving the rest).
    Shown with a batch of 1 instead of uploading 101 documents."""
    real = copies.waiting_versions
    monkeypatch.setattr(copies, "waiting_versions", lambda sessions, lease, limit=1: real(sessions, lease, 1))
    broken = uploaded(upload(client, person["id"], scan, "broken.pdf"))
    fine = uploaded(
        upload(
            client,
            person["id"],
            files.simple_pdf(Path(runtime.settings.instance_path) / "b.pdf", pages=2).read_bytes(),
            "fine.pdf",
        )
    )
    with runtime.sessions() as db:
        version = db.scalar(sa.select(DocumentVersion).where(DocumentVersion.document_id == broken["id"]))
        runtime.raw_store.delete(version.original.key)  # its original cannot be read back just now

    make_copies()

    assert _versions(runtime)[fine["id"]].viewing_status == "ready"


# ---------------------------------------------------------------- reading the state (guards)


def test_the_page_route_for_a_pending_copy_is_a_logged_409(app, clerk, person, client, runtime, scan):
    """Guard: the HTML content route answers a pending copy like the API (no 500), and logs the attempt."""
    from tests.kinship.helpers import web_login

    document = uploaded(upload(client, person["id"], scan, "scan.pdf"))
    web = web_login(app, clerk)
    response = web.get(f"/documents/{document['id']}/content")

    assert response.status_code == 409
    [attempt] = events(runtime, Action.DOCUMENT_CONTENT_READ, document["id"])
    assert (attempt.actor_id, attempt.outcome) == (clerk.id, "failed")


def test_pending_state_of_a_genomic_result_is_hidden_from_a_caseworker(
    api, staff, client, person, runtime, open_case, tmp_path
):
    """Guard: the 409 'pending'/'failed' answers must not reveal a genomic result to a caseworker."""
    caseworker = staff("caseworker")
    open_case([caseworker], [person["id"]])
    text = b"locus,allele\nD3S1358,15\n"
    document = uploaded(
        upload(
            client,
            person["id"],
            text,
            "result.csv",
            kind="genomic_test_result",
            title="DNA result",
            content_type="text/csv",
        )
    )
    reader = api(caseworker)
    for path in (f"/documents/{document['id']}", f"/documents/{document['id']}/content"):
        response = reader.get(path)
        assert (response.status_code, error_code(response)) == (404, "not_found"), path
