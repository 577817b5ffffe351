"""The documents API keeps to its published contract: answers match their schemas, and an upload or link with a
field the contract does not name is refused by that name before any file is taken in."""

from __future__ import annotations

import pytest

from tests.conftest import error_code
from tests.documents import files
from tests.documents_api.support import add_version, files_under, upload, upload_workdir, uploaded
from tests.web.test_openapi_contract import answer_schema, matches


@pytest.fixture
def spec(app) -> dict:
    return app.test_client().get("/api/v1/openapi.json").get_json()


@pytest.fixture
def pdf(tmp_path) -> bytes:
    return files.simple_pdf(tmp_path / "scan.pdf").read_bytes()


def test_upload_version_and_link_answers_match_their_schemas(client, person, make_person, clerk, spec, pdf):
    response = upload(client, person["id"], pdf, "scan.pdf", fields='{"record_number": "1147", "sealed": true}')
    matches(response.get_json(), answer_schema(spec, "/persons/{person_id}/documents", "post", "201"))
    document = uploaded(response)
    assert document["fields"] == {"record_number": "1147", "sealed": True} and document["kind"] == "passport"
    matches(client.get(f"/documents/{document['id']}").get_json(), answer_schema(spec, "/documents/{document_id}"))
    again = add_version(client, document["id"], pdf, "scan.pdf", "Re-issued by the civil registry")
    matches(again.get_json(), answer_schema(spec, "/documents/{document_id}/versions", "post", "201"))
    mother = make_person(clerk)
    linked = client.post(f"/documents/{document['id']}/persons", json={"person_id": mother["id"], "role": "mother"})
    matches(linked.get_json(), answer_schema(spec, "/documents/{document_id}/persons", "post", "201"))
    assert {"person_id": mother["id"], "role": "mother"} in linked.get_json()["document"]["persons"]


def test_an_upload_with_a_field_the_contract_does_not_name_is_refused_by_name(client, person, runtime, pdf):
    response = upload(client, person["id"], pdf, "scan.pdf", issued_by="Civil registry, Raqqa")
    assert response.status_code == 422 and error_code(response) == "validation_error"
    assert response.get_json()["error"]["fields"] == {"issued_by": "This field is not accepted here."}
    assert files_under(upload_workdir(runtime)) == []


def test_structured_fields_and_roles_are_refused_in_words(client, person, pdf):
    floats = upload(client, person["id"], pdf, "scan.pdf", fields='{"weight": 3.5}')
    assert floats.status_code == 422 and list(floats.get_json()["error"]["fields"]) == ["fields"]
    document = uploaded(upload(client, person["id"], pdf, "scan.pdf"))
    role = client.post(f"/documents/{document['id']}/persons", json={"person_id": person["id"], "role": "aunt"})
    assert role.status_code == 422
    assert role.get_json()["error"]["fields"]["role"].startswith("Choose one of: subject, mother, father")
    extra = client.post(
        f"/documents/{document['id']}/persons", json={"person_id": person["id"], "role": "mother", "note": "x"}
    )
    assert extra.status_code == 422 and list(extra.get_json()["error"]["fields"]) == ["note"]


def test_the_files_served_are_of_the_types_the_document_names(client, person, spec, pdf, make_copies):
    document = uploaded(upload(client, person["id"], pdf, "scan.pdf"))
    make_copies()
    for path in ("/documents/{document_id}/content", "/documents/{document_id}/original"):
        declared = spec["paths"]["/api/v1" + path]["get"]["responses"]["200"]["content"]
        response = client.get(path.format(document_id=document["id"]))
        assert response.status_code == 200 and response.data.startswith(b"%PDF")
        assert response.mimetype in declared, (path, response.mimetype)
