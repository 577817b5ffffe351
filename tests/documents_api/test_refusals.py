"""Files the registry refuses, and the one it accepts only after cleaning (a phone photo with GPS).

Every refusal has a stable code and status, stores nothing, leaves no temporary
file behind, and is written to the access log as a failed upload.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from PIL import Image

from registry.audit.events import Action
from registry.documents.models import Document, StoredObject
from tests.conftest import error_code
from tests.documents import files
from tests.documents_api.support import (
    active_names,
    events,
    files_under,
    person_ids,
    sha256,
    stored_keys,
    upload,
    upload_workdir,
    uploaded,
)

MIB = 1024 * 1024


def _encrypted(tmp: Path) -> bytes:
    return files.encrypted_pdf(tmp / "locked.pdf", user_password="1234").read_bytes()


def _bomb(tmp: Path) -> bytes:
    return files.png_bomb(tmp / "bomb.png").read_bytes()


REFUSED: list[tuple[str, Callable[[Path], bytes], str, str | None, int, str]] = [
    ("encrypted PDF", _encrypted, "passport.pdf", "application/pdf", 422, "password_protected"),
    ("HTML named .pdf", lambda _: files.HTML, "passport.pdf", "application/pdf", 415, "unsupported_content_type"),
    (
        "program named .pdf",
        lambda _: files.windows_executable(),
        "passport.pdf",
        "application/pdf",
        415,
        "unsupported_content_type",
    ),
    ("decompression bomb", _bomb, "scan.png", "image/png", 422, "image_too_large"),
    ("zero bytes", lambda _: b"", "passport.pdf", "application/pdf", 422, "empty_file"),
]


@pytest.mark.parametrize(
    "make, filename, declared, status, code", [case[1:] for case in REFUSED], ids=[case[0] for case in REFUSED]
)
def test_refused_file_stores_nothing(client, clerk, person, runtime, tmp_path, make, filename, declared, status, code):
    response = upload(client, person["id"], make(tmp_path), filename, content_type=declared)

    assert response.status_code == status, response.get_json()
    assert error_code(response) == code
    assert response.get_json()["error"]["message"]
    _assert_nothing_stored(runtime)
    [failed] = events(runtime, Action.DOCUMENT_UPLOADED)
    assert (failed.outcome, failed.actor_id) == ("failed", clerk.id)
    assert person_ids(failed) == [person["id"]] and json.loads(failed.details) == {"refused": code}


def test_truncated_pdf_is_refused_as_damaged_or_copied_clean(client, person, runtime, tmp_path, make_copies):
    whole = files.scanned_pdf(tmp_path / "scan.pdf", pages=3, photo_side=400).read_bytes()
    truncated = whole[: len(whole) // 2]  # an interrupted download

    response = upload(client, person["id"], truncated, "scan.pdf")

    if response.status_code == 201:  # qpdf repaired it: the original is evidence as it came
        document = response.get_json()["document"]
        assert client.get(f"/documents/{document['id']}/original").data == truncated
        make_copies()
        copy = client.get(f"/documents/{document['id']}/content")
        if copy.status_code == 200:
            assert active_names(copy.data) == set()
        else:  # the pages cannot be drawn: the clerk is told so, and what to do
            assert (copy.status_code, error_code(copy)) == (409, "viewing_copy_failed")
            assert "upload" in copy.get_json()["error"]["message"]
    else:
        assert (response.status_code, error_code(response)) == (422, "malformed_file")
        _assert_nothing_stored(runtime)
    assert files_under(upload_workdir(runtime)) == []


def test_phone_photo_copy_has_no_exif_or_gps(client, person, runtime, tmp_path, make_copies):
    path = tmp_path / "photo.jpg"
    upright_size = files.sideways_gps_jpeg(path)
    photo = path.read_bytes()
    with Image.open(io.BytesIO(photo)) as original:
        assert original.getexif().get_ifd(0x8825)  # the upload does carry GPS

    document = uploaded(upload(client, person["id"], photo, "photo.jpg", content_type="image/jpeg"))
    make_copies()
    copy = client.get(f"/documents/{document['id']}/content")

    assert copy.status_code == 200 and copy.mimetype == "image/jpeg"
    with Image.open(io.BytesIO(copy.data)) as viewed:
        assert len(viewed.getexif()) == 0
        assert not {"exif", "xmp", "comment", "icc_profile"} & set(viewed.info)
        assert viewed.size == upright_size
    assert files.SECRET_NAME.encode() not in copy.data and b"PhoneMaker" not in copy.data
    assert sha256(client.get(f"/documents/{document['id']}/original").data) == sha256(photo)


@pytest.mark.parametrize(
    "form, field",
    [
        ({"kind": "passport", "title": "Passport"}, "file"),
        ({"kind": "diary", "title": "Passport", "file": True}, "kind"),
        ({"kind": "passport", "title": "   ", "file": True}, "title"),
    ],
)
def test_incomplete_form_names_the_field(client, person, runtime, tmp_path, form, field):
    data = dict(form)
    if data.pop("file", False):
        data["file"] = (io.BytesIO(files.simple_pdf(tmp_path / "scan.pdf").read_bytes()), "scan.pdf")

    response = client.post(f"/persons/{person['id']}/documents", data=data, content_type="multipart/form-data")

    assert response.status_code == 422 and error_code(response) == "validation_error"
    assert list(response.get_json()["error"]["fields"]) == [field]
    _assert_nothing_stored(runtime)
    assert files_under(upload_workdir(runtime)) == []  # the spooled file part went with the request


class TestSizeLimit:
    @pytest.fixture
    def settings(self, settings):
        return settings.with_overrides(max_upload_mb=1)

    @pytest.mark.parametrize("size", [MIB + MIB // 2, 3 * MIB], ids=["counted while spooling", "whole request"])
    def test_oversize_file_is_refused(self, client, person, runtime, size):
        body = b"%PDF-1.7\n" + bytes(size)

        response = upload(client, person["id"], body, "scan.pdf")

        assert (response.status_code, error_code(response)) == (413, "file_too_large")
        assert "1 MB" in response.get_json()["error"]["message"]
        _assert_nothing_stored(runtime)

    def test_file_at_the_limit_is_taken(self, client, person, tmp_path):
        pdf = files.simple_pdf(tmp_path / "scan.pdf").read_bytes()
        padded = pdf + b"%" + b" " * (MIB - len(pdf) - 2) + b"\n"  # a comment after %%EOF
        assert len(padded) == MIB
        assert uploaded(upload(client, person["id"], padded, "scan.pdf"))["versions"][0]["size"] == MIB


def _assert_nothing_stored(runtime) -> None:
    with runtime.sessions() as db:
        assert db.scalar(sa.select(sa.func.count()).select_from(Document)) == 0
        assert db.scalar(sa.select(sa.func.count()).select_from(StoredObject)) == 0
    assert stored_keys(runtime) == []
    assert files_under(upload_workdir(runtime)) == []
