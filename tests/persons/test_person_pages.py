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
    fields.update(
        {
            "csrf_token": _csrf(form),
            "citizenship": "KZ",
            "status": "in_rehabilitation",
            "birth_date_precision": "year",
            "kind_0": "official",
            "script_0": "cyrillic",
            "kind_1": "recorded_abroad",
            "script_1": "latin",
            "categories": ["child", "orphan"],
        }
    )
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


def _registration(client) -> dict:
    page = client.get("/persons/new").get_data(as_text=True)
    return {
        "csrf_token": _csrf(page),
        "kind_0": "official",
        "script_0": "cyrillic",
        "kind_1": "recorded_abroad",
        "script_1": "latin",
        "sex": "female",
        "birth_date_precision": "exact",
        "status": "returned",
    }


def test_a_failed_registration_lists_its_errors_at_the_top_linking_to_each_field(app, staff):
    client = _signed_in(app, staff("clerk").username)
    response = client.post(
        "/persons/new", data={**_registration(client), "family_name_0": "Абдирасулова", "birth_date": "01.03.2016"}
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    summary = page.split('id="error-summary"', 1)[1].split("</div>", 1)[0]
    assert '<a href="#f-birth_date">' in summary and "YYYY-MM-DD" in summary
    assert page.index('id="error-summary"') < page.index('<form method="post" novalidate>')
    assert 'id="f-birth_date"' in page and 'value="Абдирасулова"' in page
    for group in ("Names", "Person and birth", "Return", "Restricted: seen only by registry clerks"):
        assert f"<legend>{group}</legend>" in page


def test_latin_letters_under_cyrillic_are_questioned_once(app, staff):
    client = _signed_in(app, staff("clerk").username)
    form = {**_registration(client), "family_name_0": "Abdirasulova", "given_name_0": "Aigerim"}
    asked = client.post("/persons/new", data=form)
    page = asked.get_data(as_text=True)
    assert asked.status_code == 422
    assert '<a href="#f-script_0">' in page and "These letters are Latin" in page
    assert 'name="script_confirmed_0"' in page and 'value="Abdirasulova"' in page

    corrected = client.post("/persons/new", data={**form, "script_0": "latin"})
    assert corrected.status_code == 302
    kept = client.post("/persons/new", data={**form, "script_confirmed_0": "1", "family_name_0": "Abdirasulova B"})
    assert kept.status_code == 302
    shown = client.get(kept.headers["Location"]).get_data(as_text=True)
    assert "written in Latin letters: check the script" in shown


def test_a_refused_name_is_shown_by_the_input_it_was_typed_in(app, staff):
    """The form is checked by the API's model; its refusal of names.0.family_name points at the row it came from
    (here the second row, the first left empty)."""
    client = _signed_in(app, staff("clerk").username)
    form = {**_registration(client), "family_name_1": "X" * 201, "given_name_1": "Aigerim"}
    response = client.post("/persons/new", data=form)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    summary = page.split('id="error-summary"', 1)[1].split("</div>", 1)[0]
    assert '<a href="#f-family_name_1">At most 200 characters.</a>' in summary
    assert 'id="e-family_name_1"' in page
