"""Operators see how the registry runs (Prometheus metrics, JSON logs) without ever seeing whom it concerns."""

from __future__ import annotations

import io
import json
import logging

import pytest
from pythonjsonlogger.json import JsonFormatter

from tests.documents import files

TOKEN = "metrics-token-for-the-test-0123456789"
NAMES = {"family_name": "Жанузакова", "given_name": "Перизат", "patronymic": "Ерболовна"}


@pytest.fixture
def settings(settings):
    return settings.with_overrides(metrics_token=TOKEN, log_format="json")


@pytest.fixture
def json_lines():
    """Everything the registry logs while the test runs, as the JSON handler writes it."""
    [handler] = [h for h in logging.getLogger().handlers if isinstance(h.formatter, JsonFormatter)]
    written = io.StringIO()
    handler.setStream(written)
    yield written
    logging.getLogger().removeHandler(handler)


def test_metrics_are_only_for_the_token_and_name_routes_not_persons(app, api, staff, make_person):
    clerk = staff("clerk")
    person = make_person(clerk, names=[{**NAMES, "script": "cyrillic", "kind": "official"}])
    api(clerk).get(f"/persons/{person['id']}")
    web = app.test_client()

    assert web.get("/metrics").status_code == 404
    assert web.get("/metrics", headers={"Authorization": "Bearer wrong-token-0123456789abcdef"}).status_code == 404
    scraped = web.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})

    assert scraped.status_code == 200
    text = scraped.get_data(as_text=True)
    assert 'registry_requests_total{method="GET",route="/api/v1/persons/<person_id>",status="200"} 1.0' in text
    assert "registry_copy_queue_depth 0.0" in text and "registry_audit_log_length" in text
    assert person["id"] not in text and person["registry_number"] not in text


def test_json_logs_say_how_each_request_went_and_never_whom_it_concerned(
    app, api, staff, make_person, tmp_path, make_copies, json_lines, caplog
):
    caplog.set_level(logging.DEBUG)
    clerk = api(staff("clerk"))
    person = clerk.post(
        "/persons",
        json={
            "names": [
                {**NAMES, "script": "cyrillic", "kind": "official"},
                {"family_name": "Zhanuzakova", "given_name": "Perizat", "script": "latin", "kind": "recorded_abroad"},
            ],
            "sex": "female",
            "birth_date": "2011-04-02",
            "birth_date_precision": "exact",
            "place_of_birth_recorded": "Idlib",
        },
    ).get_json()["person"]
    title = "Свидетельство о рождении Перизат"
    upload = clerk.post(
        f"/persons/{person['id']}/documents",
        data={
            "kind": "birth_record",
            "title": title,
            "file": (io.BytesIO(files.simple_pdf(tmp_path / "b.pdf").read_bytes()), "perizat-birth.pdf"),
        },
    )
    assert upload.status_code == 201, upload.get_json()
    document_id = upload.get_json()["document"]["id"]
    make_copies()
    clerk.get(f"/persons?q={NAMES['family_name']}")
    clerk.get(f"/persons?q={person['registry_number']}")
    clerk.get(f"/documents/{document_id}/content")
    clerk.get("/persons/not-a-person")

    lines = [json.loads(line) for line in json_lines.getvalue().splitlines()]
    finished = [line for line in lines if line["logger"] == "registry.requests"]
    assert {(line["method"], line["route"], line["status"]) for line in finished} >= {
        ("POST", "/api/v1/persons", 201),
        ("GET", "/api/v1/persons", 200),
        ("GET", "/api/v1/documents/<document_id>/content", 200),
        ("GET", "/api/v1/persons/<person_id>", 404),
    }
    assert all(line["request_id"] and line["user_id"] and "duration_ms" in line for line in finished)
    everything = json_lines.getvalue() + "\n".join(r.getMessage() for r in caplog.records)
    for private in (
        *NAMES.values(),
        "Zhanuzakova",
        "Perizat",
        "Idlib",
        title,
        "perizat-birth",
        person["registry_number"],
    ):
        assert private not in everything, f"{private!r} reached the logs"
