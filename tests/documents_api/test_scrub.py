"""`registry storage scrub`: every object re-read and verified against the database, on both stores."""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa

from registry.documents.models import DocumentVersion
from registry.documents.scrub import scrub
from tests.documents import files
from tests.documents_api.support import upload, uploaded


@pytest.fixture
def storage_url(each_store) -> str:
    return each_store


@pytest.fixture
def viewing_key(client, person, runtime, tmp_path, make_copies) -> str:
    """One uploaded document; the key of its viewing copy (never under retention, so it can be damaged)."""
    uploaded(upload(client, person["id"], files.simple_pdf(tmp_path / "scan.pdf").read_bytes(), "scan.pdf"))
    make_copies()
    with runtime.sessions() as db:
        return db.scalar(sa.select(DocumentVersion)).viewing.key


def _scrub(runtime):
    with runtime.sessions() as db:
        return scrub(db, runtime.store, runtime.raw_store)


def test_clean_store_is_ok(runtime, viewing_key):
    report = _scrub(runtime)
    assert report.ok and report.checked == 2 and report.lines() == []


def test_flipped_byte_is_corrupt(runtime, viewing_key):
    raw = runtime.raw_store
    with raw.open(viewing_key) as fh:
        data = bytearray(fh.read())
    data[len(data) // 2] ^= 0x01
    raw.put(viewing_key, io.BytesIO(bytes(data)), len(data), raw.metadata(viewing_key))

    report = _scrub(runtime)

    assert (report.corrupt, report.missing, report.orphans) == ([viewing_key], [], [])
    assert not report.ok and report.lines() == [f"CORRUPT {viewing_key}"]


def test_deleted_object_is_missing(runtime, viewing_key):
    runtime.raw_store.delete(viewing_key)

    report = _scrub(runtime)

    assert (report.corrupt, report.missing, report.orphans) == ([], [viewing_key], [])


def test_stray_object_is_an_orphan(runtime, viewing_key):
    runtime.raw_store.put("objects/left-behind", io.BytesIO(b"ciphertext?"), 11)

    report = _scrub(runtime)

    assert (report.corrupt, report.missing, report.orphans) == ([], [], ["objects/left-behind"])
    assert report.checked == 2
