"""The upload page: a refused file comes back as the same form, the reason beside the file field."""

from __future__ import annotations

import html
import io
import re

import pytest

from registry.audit.events import Action
from tests.conftest import PASSWORD
from tests.documents import files
from tests.documents_api.support import events


def _csrf(page: bytes) -> str:
    return re.search(rb'name="csrf_token" value="([^"]+)"', page).group(1).decode()


@pytest.fixture
def browser(app, clerk):
    web = app.test_client()
    token = _csrf(web.get("/login").data)
    signed_in = web.post("/login", data={"username": clerk.username, "password": PASSWORD, "csrf_token": token})
    assert signed_in.status_code == 302, signed_in.data[:500]
    return web


def _submit(browser, person_id: str, content: bytes, filename: str, title: str):
    page = f"/persons/{person_id}/documents/new"
    form = browser.get(page)
    assert form.status_code == 200
    return browser.post(
        page,
        content_type="multipart/form-data",
        data={
            "csrf_token": _csrf(form.data),
            "kind": "birth_record",
            "role": "mother",
            "title": title,
            "file": (io.BytesIO(content), filename),
        },
    )


def _file_error(page: str) -> str:
    match = re.search(
        r'<input id="f-file"[^>]*aria-describedby="e-file"[^>]*>\s*'
        r'<p class="field-error" id="e-file">([^<]+)</p>',
        page,
    )
    assert match, "the error is not beside the file field"
    return html.unescape(match.group(1))


def test_refused_file_is_explained_beside_the_field_and_the_title_kept(browser, clerk, person, runtime):
    title = "Birth record, Raqqa, 2016 <original>"

    response = _submit(browser, person["id"], files.HTML, "birth.pdf", title)

    assert response.status_code == 415
    page = response.get_data(as_text=True)
    assert "web page (HTML)" in _file_error(page)
    assert f'value="{html.escape(title)}"' in page
    assert re.search(r'<option value="birth_record"\s+selected>', page)
    [failed] = events(runtime, Action.DOCUMENT_UPLOADED)
    assert (failed.actor_id, failed.outcome) == (clerk.id, "failed")


def test_damaged_file_is_explained_and_nothing_is_kept(browser, person, runtime, tmp_path):
    truncated = files.scanned_pdf(tmp_path / "scan.pdf", pages=2, photo_side=300).read_bytes()[:4000]

    response = _submit(browser, person["id"], truncated, "scan.pdf", "Birth record")

    assert response.status_code == 422
    assert "damaged" in _file_error(response.get_data(as_text=True))
    assert list(runtime.raw_store.iter_keys("objects/")) == []


def test_accepted_file_leads_to_the_document_page(browser, person, tmp_path, make_copies):
    pdf = files.simple_pdf(tmp_path / "scan.pdf").read_bytes()

    response = _submit(browser, person["id"], pdf, "scan.pdf", "Birth record, Raqqa, 2016")

    assert response.status_code == 302
    document_page = browser.get(response.headers["Location"])
    assert document_page.status_code == 200
    page = document_page.get_data(as_text=True)
    assert "Birth record, Raqqa, 2016" in page
    # The copy is still being made: the page says so and comes back by itself.
    assert "The viewing copy is being made" in page and "data-poll" in page
    assert "<iframe" not in page

    make_copies()
    page = browser.get(response.headers["Location"]).get_data(as_text=True)
    assert '<iframe class="viewer"' in page and "refresh" not in page
