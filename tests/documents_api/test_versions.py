"""Versions (a restored or re-issued document) and duplicate detection across persons."""

from __future__ import annotations

import io
import json

import pikepdf
import pytest

from registry.audit.events import Action
from tests.conftest import error_code
from tests.documents import files
from tests.documents_api.support import add_version, events, fingerprint_of, stored_keys, upload, uploaded


def _pages(pdf: bytes) -> int:
    with pikepdf.open(io.BytesIO(pdf)) as opened:
        return len(opened.pages)


class TestVersions:
    @pytest.fixture
    def storage_url(self, each_store) -> str:
        return each_store

    def test_new_version_keeps_the_old_one_readable(
        self, api, staff, clerk, client, person, runtime, tmp_path, make_copies
    ):
        first = files.simple_pdf(tmp_path / "first.pdf", pages=1).read_bytes()
        second = files.simple_pdf(tmp_path / "second.pdf", pages=2).read_bytes()
        document = uploaded(upload(client, person["id"], first, "birth-record.pdf", kind="birth_record"))
        registrar = staff("clerk")

        response = add_version(
            api(registrar),
            document["id"],
            second,
            "birth-record-reissued.pdf",
            "Re-issued by the civil registry of Shymkent",
        )

        assert response.status_code == 201, response.get_json()
        versions = response.get_json()["document"]["versions"]
        assert [(v["number"], v["uploaded_by"], v["reason"]) for v in versions] == [
            (1, clerk.id, "initial"),
            (2, registrar.id, "Re-issued by the civil registry of Shymkent"),
        ]
        path = f"/documents/{document['id']}"
        assert make_copies() == {"ready": 2}
        history = client.get(path).get_json()["document"]["versions"]
        assert [v["fingerprint"] for v in history] == [fingerprint_of(runtime, first), fingerprint_of(runtime, second)]
        assert _pages(client.get(f"{path}/content").data) == 2
        assert _pages(client.get(f"{path}/content?version=1").data) == 1
        assert client.get(f"{path}/original?version=1").data == first
        assert client.get(f"{path}/original").data == second
        assert len(stored_keys(runtime)) == 4
        [added] = events(runtime, Action.DOCUMENT_VERSION_ADDED, document["id"])
        assert (added.actor_id, added.outcome) == (registrar.id, "allowed")

    def test_refused_version_changes_nothing(self, client, person, runtime, tmp_path, make_copies):
        first = files.simple_pdf(tmp_path / "first.pdf").read_bytes()
        document = uploaded(upload(client, person["id"], first, "passport.pdf"))
        make_copies()

        response = add_version(client, document["id"], files.HTML, "passport.pdf", "Better scan")

        assert (response.status_code, error_code(response)) == (415, "unsupported_content_type")
        assert len(client.get(f"/documents/{document['id']}").get_json()["document"]["versions"]) == 1
        assert len(stored_keys(runtime)) == 2


def test_version_needs_a_reason(client, person, tmp_path):
    pdf = files.simple_pdf(tmp_path / "scan.pdf").read_bytes()
    document = uploaded(upload(client, person["id"], pdf, "scan.pdf"))

    response = add_version(client, document["id"], pdf, "scan.pdf", "  ")

    assert response.status_code == 422 and list(response.get_json()["error"]["fields"]) == ["reason"]


@pytest.mark.parametrize("query, status, field", [("?version=7", 404, None), ("?version=first", 422, "version")])
def test_unknown_version_is_refused(client, person, tmp_path, query, status, field):
    document = uploaded(upload(client, person["id"], files.simple_pdf(tmp_path / "scan.pdf").read_bytes(), "scan.pdf"))

    response = client.get(f"/documents/{document['id']}/content{query}")

    assert response.status_code == status
    assert response.get_json()["error"].get("fields", {}).keys() == ({field} if field else set())


def test_duplicate_is_pointed_out_only_where_the_uploader_may_see(
    api, staff, client, make_person, clerk, open_case, runtime, tmp_path
):
    scan = files.simple_pdf(tmp_path / "scan.pdf").read_bytes()
    mother, child, stranger = (make_person(clerk) for _ in range(3))
    first = uploaded(upload(client, mother["id"], scan, "birth.pdf", kind="birth_record"))

    again = upload(client, child["id"], scan, "birth.pdf", kind="birth_record")
    assert [d["id"] for d in again.get_json()["duplicates"]] == [first["id"]]

    outsider, insider = staff("lawyer"), staff("lawyer")
    open_case([outsider], [stranger["id"]])
    open_case([insider], [stranger["id"], mother["id"]])
    blind = upload(api(outsider), stranger["id"], scan, "birth.pdf", kind="birth_record")
    seeing = upload(api(insider), stranger["id"], scan, "birth.pdf", kind="birth_record")

    assert blind.status_code == 201 and blind.get_json()["duplicates"] == []
    # The insider sees the mother's copy and the one just added for the stranger, not the child's.
    assert {d["id"] for d in seeing.get_json()["duplicates"]} == {first["id"], uploaded(blind)["id"]}
    logged = {e.actor_id: json.loads(e.details) for e in events(runtime, Action.DOCUMENT_UPLOADED)}
    assert logged[outsider.id]["duplicates"] == []
