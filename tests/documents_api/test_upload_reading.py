"""How an upload's body is read from the server: in large pieces, and a broken connection loses nothing.

gunicorn answers every read of the request body with a Python-level loop over
8 KiB socket reads, so the 64 KiB reads of the multipart parser cost more than
the parsing; the registry reads a mebibyte at a time. Timings are not asserted
here (shared machines): the reads are counted instead.
"""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa

from registry.documents.models import DocumentVersion
from tests.documents import files
from tests.documents_api.support import files_under, upload_workdir, uploaded

MiB = 1024 * 1024


class ServerInput:
    """A WSGI server's request body (only ``read``), recording each read; it may break off.

    Like Werkzeug's development server, it is the connection itself: a read past the body would wait
    for bytes the client never sends (here it fails the request instead of hanging the test)."""

    def __init__(self, body: bytes, *, broken_after: int | None = None) -> None:
        self.size, self.body, self.broken_after = len(body), io.BytesIO(body), broken_after
        self.reads: list[int] = []
        self.read_past_the_body = False

    def read(self, size: int = -1) -> bytes:
        if self.broken_after is not None and self.body.tell() >= self.broken_after:
            raise OSError("connection reset by peer")  # gunicorn's NoMoreData is an IOError too
        if size < 0 or self.body.tell() + size > self.size:
            self.read_past_the_body = True
            raise OSError("would wait for the client for ever")
        self.reads.append(size)
        return self.body.read(size)


@pytest.fixture
def scan(tmp_path) -> bytes:
    return files.simple_pdf(tmp_path / "scan.pdf").read_bytes()


def multipart_body(content: bytes) -> tuple[bytes, str]:
    boundary = "b0undary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="kind"\r\n\r\nbirth_record\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="title"\r\n\r\nBirth record\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="scan.pdf"\r\n'
            "Content-Type: application/pdf\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


def post(client, person_id: str, body: bytes, content_type: str, server_input: ServerInput):
    return client.post(
        f"/persons/{person_id}/documents",
        input_stream=io.BytesIO(body),
        content_type=content_type,
        environ_overrides={"wsgi.input": server_input},
    )


def test_a_large_upload_is_read_from_the_server_a_mebibyte_at_a_time(client, person, scan):
    padded = scan + b"%" * (3 * MiB)  # bytes after %%EOF: still the same PDF to every reader
    body, content_type = multipart_body(padded)
    server_input = ServerInput(body)

    document = uploaded(post(client, person["id"], body, content_type, server_input))

    assert document["versions"][0]["size"] == len(padded)
    assert not server_input.read_past_the_body
    assert server_input.reads and min(server_input.reads[:-1]) >= MiB, server_input.reads[:10]
    assert len(server_input.reads) <= len(body) // MiB + 2


def test_a_small_upload_is_not_read_past_its_end(client, person, scan):
    """Reading a whole mebibyte of a 1 KiB body would wait for the client for ever (a hung upload)."""
    body, content_type = multipart_body(scan)
    server_input = ServerInput(body)

    uploaded(post(client, person["id"], body, content_type, server_input))

    assert not server_input.read_past_the_body


def test_a_connection_that_breaks_mid_upload_is_a_clear_error_and_leaves_nothing(client, person, runtime, scan):
    body, content_type = multipart_body(scan + b"%" * (3 * MiB))

    response = post(client, person["id"], body, content_type, ServerInput(body, broken_after=2 * MiB))

    assert response.status_code == 400, response.get_data(as_text=True)
    assert files_under(upload_workdir(runtime)) == []
    with runtime.sessions() as db:
        assert db.scalar(sa.select(sa.func.count()).select_from(DocumentVersion)) == 0
