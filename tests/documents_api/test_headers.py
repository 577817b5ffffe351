"""How a document leaves the registry: shown inline in a sandbox or saved, never cached or sniffed."""

from __future__ import annotations

import uuid
from urllib.parse import quote, unquote

import pytest

from tests.documents import files
from tests.documents_api.support import uploaded

HOSTILE_NAME = "C:\\Users\\clerk\\..\\..\\pass\u202egpj.\x07port\r\n scan.pdf"  # displays as "passfdp.nacs trop.jpg"
BIDI_AND_CONTROLS = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069") | {chr(c) for c in range(32)}


def _upload_named(client, person_id: str, content: bytes, filename: str) -> dict:
    """Upload with the name in RFC 2231 form, so every character reaches the server as typed
    (a plain quoted name loses backslashes and stops at a quote when parsed)."""
    boundary = uuid.uuid4().hex
    parts = [
        ('name="kind"', b"passport"),
        ('name="title"', b"Passport"),
        (f"name=\"file\"; filename*=UTF-8''{quote(filename, safe='')}", content),
    ]
    body = (
        b"".join(
            f"--{boundary}\r\nContent-Disposition: form-data; {disposition}\r\n\r\n".encode() + value + b"\r\n"
            for disposition, value in parts
        )
        + f"--{boundary}--\r\n".encode()
    )
    return uploaded(
        client.post(
            f"/persons/{person_id}/documents", data=body, content_type=f"multipart/form-data; boundary={boundary}"
        )
    )


def _filenames(disposition: str) -> tuple[str, str]:
    """The plain and the UTF-8 (RFC 6266) file name of a Content-Disposition header."""
    plain = disposition.split('filename="', 1)[1].split('"', 1)[0]
    extended = unquote(disposition.split("filename*=UTF-8''", 1)[1].split(";", 1)[0])
    return plain, extended


@pytest.mark.parametrize(
    "endpoint, disposition, name",
    [
        ("content", "inline", "passgpj.port scan-view.pdf"),
        ("original", "attachment", "passgpj.port scan.pdf"),
    ],
)
def test_download_headers(client, person, tmp_path, make_copies, endpoint, disposition, name):
    pdf = files.simple_pdf(tmp_path / "scan.pdf").read_bytes()
    document = _upload_named(client, person["id"], pdf, HOSTILE_NAME)
    assert document["versions"][0]["filename"] == "passgpj.port scan.pdf"
    make_copies()

    response = client.get(f"/documents/{document['id']}/{endpoint}")

    assert response.status_code == 200
    header = response.headers["Content-Disposition"]
    assert header.split(";", 1)[0] == disposition
    assert _filenames(header) == (name, name)
    assert not BIDI_AND_CONTROLS & set(unquote(header)) and "\\" not in header and "/" not in unquote(header)
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"
    csp = [part.strip() for part in response.headers["Content-Security-Policy"].split(";")]
    assert "sandbox" in csp and "default-src 'none'" in csp
    assert response.headers["Content-Type"] == "application/pdf"
    assert int(response.headers["Content-Length"]) == len(response.data)


def test_name_in_another_script_survives_in_the_utf8_form(client, person, tmp_path):
    pdf = files.simple_pdf(tmp_path / "scan.pdf").read_bytes()
    document = _upload_named(client, person["id"], pdf, 'Свидетельство о рождении "копия".pdf')

    header = client.get(f"/documents/{document['id']}/original").headers["Content-Disposition"]

    plain, extended = _filenames(header)
    assert extended == "Свидетельство о рождении _копия_.pdf"
    assert plain.isascii() and plain.endswith(".pdf") and '"' not in plain
