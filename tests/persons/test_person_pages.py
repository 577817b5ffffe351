"""The person's page shows the file's history; a clerk corrects the record in a form that opens filled in."""
from __future__ import annotations

import re

from tests.conftest import PASSWORD


def _signed_in(app, username):
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    client.post("/login", data={"csrf_token": token, "username": username, "password": PASSWORD})
    return client


def _csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def test_clerk_corrects_a_record_and_the_history_shows_it(app, staff, make_person):
    clerk = staff("clerk")
    person = make_person(clerk)
    client = _signed_in(app, clerk.username)
    form = client.get(f"/persons/{person['id']}/edit").get_data(as_text=True)
    assert 'value="Абдирасулова"' in form and 'value="Abdirasulova"' in form
    assert re.search(r'value="child"\s+checked', form)

    fields = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', form))
    fields.update({"csrf_token": _csrf(form), "citizenship": "KZ", "status": "in_rehabilitation",
                   "birth_date_precision": "year", "kind_0": "official", "script_0": "cyrillic",
                   "kind_1": "recorded_abroad", "script_1": "latin", "categories": ["child", "orphan"]})
    response = client.post(f"/persons/{person['id']}/edit", data=fields)
    assert response.status_code == 302

    page = client.get(f"/persons/{person['id']}").get_data(as_text=True)
    assert "KZ" in page and "Abdirasulova" in page
    history = page.split("History", 1)[1]
    assert history.count(clerk.username) == 2  # registered, then changed


def test_a_stale_form_is_refused_and_keeps_what_was_typed(app, staff, make_person, api):
    clerk = staff("clerk")
    person = make_person(clerk)
    client = _signed_in(app, clerk.username)
    form = client.get(f"/persons/{person['id']}/edit").get_data(as_text=True)
    assert api(clerk).patch(f"/persons/{person['id']}", json={"citizenship": "RU"}).status_code == 200
    fields = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', form))
    fields.update({"csrf_token": _csrf(form), "citizenship": "KZ", "kind_0": "official", "script_0": "cyrillic"})
    response = client.post(f"/persons/{person['id']}/edit", data=fields)
    assert response.status_code == 409
    assert 'value="KZ"' in response.get_data(as_text=True)


def test_a_caseworker_cannot_open_the_edit_form(app, staff, make_person):
    clerk, caseworker = staff("clerk"), staff("caseworker")
    person = make_person(clerk)
    response = _signed_in(app, caseworker.username).get(f"/persons/{person['id']}/edit")
    assert response.status_code == 403
