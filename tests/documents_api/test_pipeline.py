"""The upload pipeline end to end through the API, on the filesystem store and on S3 over HTTP.

What a clerk uploads comes back bit for bit as the original; what staff view is a
copy without anything active; what the storage operator holds is ciphertext; and
an upload that fails half-way leaves neither a row nor an object behind.
"""

from __future__ import annotations

import errno
import io
import json
import socket
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import boto3
import pikepdf
import pytest
import sqlalchemy as sa

from registry.audit.events import Action
from registry.documents.models import Document, DocumentVersion, StoredObject
from registry.documents.scrub import OBJECT_PREFIX
from storage import S3Store
from tests.documents import files
from tests.documents_api.support import (
    active_names,
    events,
    files_under,
    fingerprint_of,
    sha256,
    stored_bytes,
    stored_keys,
    upload,
    upload_workdir,
    uploaded,
)

MARKER = "KINSHIP-PLAINTEXT-MARKER-4e1c"


@pytest.fixture
def storage_url(each_store) -> str:
    return each_store


def test_hostile_pdf_is_viewed_clean_and_kept_exact(client, person, tmp_path, runtime, make_copies):
    hostile = files.hostile_pdf(tmp_path / "hostile.pdf").read_bytes()
    assert {"/JavaScript", "/OpenAction", "attachments"} <= active_names(hostile)  # the scan sees them

    document = uploaded(upload(client, person["id"], hostile, "passport.pdf"))
    version = document["versions"][0]
    assert version["fingerprint"] == fingerprint_of(runtime, hostile) and version["size"] == len(hostile)
    assert sha256(hostile) not in json.dumps(document)  # nobody can confirm a guessed file from the record
    assert version["content_type"] == "application/pdf" and version["pages"] == 1
    assert version["viewing_copy"] == {"status": "pending", "content_type": None, "problem": None}
    assert make_copies() == {"ready": 1}

    copy = client.get(f"/documents/{document['id']}/content")
    assert copy.status_code == 200 and copy.mimetype == "application/pdf"
    assert active_names(copy.data) == set()
    with pikepdf.open(io.BytesIO(copy.data)) as pdf:
        assert len(pdf.pages) == 1
        assert "/Metadata" not in pdf.Root and not dict(pdf.docinfo)
    assert files.JS_SOURCE not in copy.data and files.PAYLOAD not in copy.data

    original = client.get(f"/documents/{document['id']}/original")
    assert original.status_code == 200
    assert original.data == hostile
    assert files_under(upload_workdir(runtime)) == []


def test_the_store_holds_no_plaintext_of_file_name_or_contents(client, person, runtime, make_copies):
    marked_pdf = files.raw_pdf(files.one_page_objects(files.MARK_DRAWING + f"\n% {MARKER}".encode()))
    marked_csv = f"sample,locus,allele\n{MARKER},D8S1179,13\n".encode()
    assert MARKER.encode() in marked_pdf

    pdf_doc = uploaded(upload(client, person["id"], marked_pdf, f"{MARKER}.pdf"))
    csv_doc = uploaded(
        upload(client, person["id"], marked_csv, f"{MARKER}.csv", kind="genomic_test_result", title="STR profile")
    )
    make_copies()

    # Read back through the API, the marker is there: the store decrypts what it holds.
    assert MARKER.encode() in client.get(f"/documents/{pdf_doc['id']}/original").data
    assert MARKER.encode() in client.get(f"/documents/{csv_doc['id']}/content").data
    raw = stored_bytes(runtime)
    assert len(raw) == 4
    for key, data in raw.items():
        assert MARKER not in key
        assert MARKER.encode() not in data
        assert MARKER not in "".join(runtime.raw_store.metadata(key).values())


def _break_put(monkeypatch, runtime) -> None:
    """Storing the next object fails half-way.

    On a folder the disk fills up in the middle of the write; on S3 the endpoint
    goes dead (a closed port), as when the storage network drops.
    """
    real_put = runtime.raw_store.put
    if isinstance(runtime.raw_store, S3Store):
        broken_put = S3Store(
            runtime.raw_store.bucket,
            endpoint_url=_closed_port_url(),
            region="us-east-1",
            path_style=True,
            access_key="testing",
            secret_key="testing",
            connect_timeout=1,
            max_attempts=1,
        ).put
    else:

        def broken_put(key, stream, length=None, metadata=None):
            return real_put(key, _DiskFullAfter(stream, 64), length, metadata)

    monkeypatch.setattr(runtime.raw_store, "put", broken_put)


class _DiskFullAfter(io.RawIOBase):
    def __init__(self, stream, allowed: int):
        self.stream, self.left = stream, allowed

    def read(self, size=-1):
        if self.left <= 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        chunk = self.stream.read(min(self.left, size if size and size > 0 else self.left))
        self.left -= len(chunk)
        return chunk


def _closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


def test_storage_failure_half_way_leaves_no_row_and_no_object(client, person, tmp_path, runtime, monkeypatch):
    pdf = files.simple_pdf(tmp_path / "scan.pdf").read_bytes()
    _break_put(monkeypatch, runtime)

    response = upload(client, person["id"], pdf, "scan.pdf")

    assert response.status_code == 503, response.get_json()
    assert response.get_json()["error"]["code"] == "storage_unavailable"
    with runtime.sessions() as db:
        for table in (Document, DocumentVersion, StoredObject):
            assert db.scalar(sa.select(sa.func.count()).select_from(table)) == 0
    assert stored_keys(runtime) == []
    _assert_container_empty(runtime)
    assert files_under(upload_workdir(runtime)) == []
    assert [e.outcome for e in events(runtime, Action.DOCUMENT_UPLOADED)] == ["failed"]
    monkeypatch.undo()
    assert uploaded(upload(client, person["id"], pdf, "scan.pdf"))  # the store works again: nothing is stuck


def test_storage_failure_while_storing_the_copy_keeps_the_job_and_no_stray_object(
    client, person, tmp_path, runtime, monkeypatch, make_copies
):
    pdf = files.simple_pdf(tmp_path / "scan.pdf").read_bytes()
    document = uploaded(upload(client, person["id"], pdf, "scan.pdf"))
    [original_key] = stored_keys(runtime)
    _break_put(monkeypatch, runtime)

    assert make_copies() == {"pending": 1}

    with runtime.sessions() as db:
        version = db.scalar(sa.select(DocumentVersion))
        assert (version.viewing_status, version.viewing_id, version.viewing_claim) == ("pending", None, None)
    assert stored_keys(runtime) == [original_key]
    _assert_container_holds(runtime, [original_key])
    response = client.get(f"/documents/{document['id']}/content")
    assert (response.status_code, response.get_json()["error"]["code"]) == (409, "viewing_copy_pending")
    monkeypatch.undo()
    assert make_copies() == {}  # a failed attempt waits a lease before the next ...
    with runtime.sessions() as db:
        db.execute(
            sa.update(DocumentVersion).values(
                viewing_claimed_at=datetime.now(UTC) - runtime.viewing_copies.policy.lease
            )
        )
        db.commit()
    assert make_copies() == {"ready": 1}  # ... then the store works again and the copy is made
    assert client.get(f"/documents/{document['id']}/content").status_code == 200
    assert files_under(upload_workdir(runtime)) == []


def test_file_refused_while_its_original_was_being_stored_leaves_nothing(client, person, tmp_path, runtime):
    locked = files.encrypted_pdf(tmp_path / "locked.pdf", user_password="1234").read_bytes()

    response = upload(client, person["id"], locked, "passport.pdf")

    assert (response.status_code, response.get_json()["error"]["code"]) == (422, "password_protected")
    assert stored_keys(runtime) == []
    _assert_container_empty(runtime)
    assert files_under(upload_workdir(runtime)) == []


def _assert_container_empty(runtime) -> None:
    _assert_container_holds(runtime, [])


def _assert_container_holds(runtime, keys: list[str]) -> None:
    """Look at the folder or bucket directly: no temporary file, no old version, no pending upload."""
    store = runtime.raw_store
    if isinstance(store, S3Store):
        s3 = boto3.client(
            "s3",
            endpoint_url=store.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        listing = s3.list_object_versions(Bucket=store.bucket, Prefix=OBJECT_PREFIX)
        assert [v["Key"] for v in listing.get("Versions", [])] == keys and listing.get("DeleteMarkers", []) == []
        assert s3.list_multipart_uploads(Bucket=store.bucket, Prefix=OBJECT_PREFIX).get("Uploads", []) == []
    else:
        folder = Path(urlsplit(runtime.settings.storage_url).path)
        stored = {
            str(path.relative_to(folder)).split("~", 1)[0]  # key~meta.json
            for path in files_under(folder / OBJECT_PREFIX)
        }
        assert sorted(stored) == keys
