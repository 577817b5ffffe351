"""What the pages promise a keyboard and screen-reader user without a browser: a skip link first, a document page
that waits for its viewing copy without reloading itself, and a not-found page whose offer of emergency access
says nothing about whether the person exists. (axe-core checks the rendered pages in tests/browser.)"""

from __future__ import annotations

import re
import uuid

import pytest

from tests.kinship.helpers import open_case, upload
from tests.web.browser import quick_hashing, signed_in  # noqa: F401 (fixture)

pytestmark = pytest.mark.usefixtures("quick_hashing")

FOCUSABLE = re.compile(r"<(a\s[^>]*href|button|input(?![^>]*type=\"hidden\")|select|textarea)\b[^>]*>")
BREAK_GLASS = re.compile(r'<a href="[^"]*/emergency-access"')


def test_the_first_thing_the_keyboard_reaches_is_a_link_past_the_menu_to_the_main_content(app, staff):
    clerk = staff("clerk")
    for html in (
        app.test_client().get("/login").get_data(as_text=True),
        signed_in(app, clerk.username).get("/persons").get_data(as_text=True),
    ):
        body = html[html.index("<body") :]
        first = FOCUSABLE.search(body)
        assert first and 'class="skip-link"' in first.group(0) and 'href="#content"' in first.group(0)
        assert re.search(r'<main id="content"', body)


@pytest.fixture
def document(staff, api, make_person):
    clerk = staff("clerk")
    person = make_person(clerk)
    return clerk, upload(api(clerk), person["id"], "passport", "Passport")


def test_a_document_waiting_for_its_viewing_copy_does_not_reload_itself_and_says_when_it_is_ready(
    app, runtime, document, make_copies
):
    clerk, doc = document
    browser = signed_in(app, clerk.username)
    waiting = browser.get(f"/documents/{doc['id']}").get_data(as_text=True)
    assert 'http-equiv="refresh"' not in waiting.lower()
    assert 'id="document" data-viewing-status="pending" data-poll' in waiting  # registry.js asks again, politely
    assert re.search(r'<div id="document-news"[^>]*aria-live="polite"', waiting)
    assert "<script>" not in waiting  # the Content-Security-Policy allows only files from /static

    make_copies()
    ready = browser.get(f"/documents/{doc['id']}").get_data(as_text=True)
    assert 'data-viewing-status="ready"' in ready and "data-poll" not in ready


def test_a_form_shown_again_with_its_errors_is_not_replaced_while_the_copy_is_made(app, document):
    clerk, doc = document
    browser = signed_in(app, clerk.username)
    answer = browser.post(f"/documents/{doc['id']}/persons", {"registry_number": "R2000-NOBODY1", "role": "subject"})
    html = answer.get_data(as_text=True)
    assert answer.status_code == 422 and 'data-viewing-status="pending"' in html and "data-poll" not in html


def _not_found(browser, person_id: str) -> str:
    """The page, with what differs by its nature (the address asked for, the form token) made alike."""
    response = browser.get(f"/persons/{person_id}")
    assert response.status_code == 404
    html = response.get_data(as_text=True).replace(person_id, "PERSON")
    return re.sub(r'name="csrf_token" value="[^"]+"', "CSRF", html)


@pytest.fixture
def hidden_person(staff, make_person) -> str:
    """A person registered by a clerk, in none of the lawyer's cases."""
    return make_person(staff("clerk"))["id"]


def test_a_lawyer_is_offered_emergency_access_on_the_same_page_whether_the_person_is_hidden_or_absent(
    app, runtime, staff, hidden_person
):
    lawyer = staff("lawyer")
    open_case(runtime, "KZ-1", members=[lawyer])
    browser = signed_in(app, lawyer.username)
    hidden, absent = _not_found(browser, hidden_person), _not_found(browser, str(uuid.uuid4()))
    assert hidden == absent
    assert 'href="/persons/PERSON/emergency-access"' in hidden


def test_the_offer_follows_the_person_asked_for_and_leads_to_the_emergency_form(app, staff, hidden_person):
    browser = signed_in(app, staff("lawyer").username)
    page = browser.get(f"/persons/{hidden_person}/family").get_data(as_text=True)
    assert f'href="/persons/{hidden_person}/emergency-access"' in page
    form = browser.get(f"/persons/{hidden_person}/emergency-access")
    assert form.status_code == 200 and 'name="reason"' in form.get_data(as_text=True)


@pytest.mark.parametrize("role", ["caseworker", "clerk", "auditor"])
def test_a_role_that_cannot_or_need_not_break_glass_is_never_offered_it(app, staff, hidden_person, role):
    """A caseworker or an auditor may not; a clerk sees the whole registry, so not found means not there."""
    browser = signed_in(app, staff(role).username)
    paths = [f"/persons/{uuid.uuid4()}", f"/persons/{uuid.uuid4()}/family"]
    if role == "caseworker":
        paths.append(f"/persons/{hidden_person}")  # outside the caseworker's cases
    for path in paths:
        response = browser.get(path)
        assert response.status_code in (403, 404) and not BREAK_GLASS.search(response.get_data(as_text=True))


def test_the_emergency_form_for_a_person_that_is_not_there_does_not_offer_itself(app, staff):
    browser = signed_in(app, staff("lawyer").username)
    response = browser.post(f"/persons/{uuid.uuid4()}/emergency-access", {"reason": "The mother is at the desk now."})
    assert response.status_code == 404 and not BREAK_GLASS.search(response.get_data(as_text=True))
