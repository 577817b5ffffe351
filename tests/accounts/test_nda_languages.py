"""The undertaking in English, Russian and Kazakh: the signer reads one language and signs that text's hash,
typing any of their registered spellings."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from registry.accounts import service as accounts
from registry.accounts.models import NdaAcknowledgement, User
from registry.accounts.undertaking_files import read_undertaking
from registry.audit.service import SYSTEM
from tests.web.browser import Browser, csrf_from, quick_hashing, signed_in  # noqa: F401 (fixture)

pytestmark = pytest.mark.usefixtures("quick_hashing")

RU = ("Обязательство", "Я не разглашаю ничего из того, что вижу в этом реестре, и использую это только для своих дел.")
KK = ("Міндеттеме", "Осы тізілімде көргенімнің бәрін жария етпеймін және тек өз істерім үшін пайдаланамын.")


@pytest.fixture
def three_languages(runtime):
    with runtime.sessions() as db:
        nda = accounts.publish_nda(
            db,
            SYSTEM,
            title="Undertaking v2",
            text="I keep all I see here to myself, always.",
            translations={"ru": RU, "kk": KK},
        )
        db.commit()
        return {t.language: t for t in accounts.nda_texts(nda).values()}


def _form(browser: Browser, query: dict[str, str], headers: dict[str, str] | None = None) -> tuple[str, dict]:
    html = browser.get("/nda", query_string=query, headers=headers or {}).get_data(as_text=True)
    hidden = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', html))
    return html, {**hidden, "csrf_token": csrf_from(html)}


def _spell(runtime, username: str, spellings: str) -> None:
    with runtime.sessions() as db:
        user = db.scalar(sa.select(User).where(User.username == username))
        accounts.set_other_spellings(db, SYSTEM, user, spellings)
        db.commit()


def test_a_russian_reader_reads_and_signs_the_russian_text_with_a_cyrillic_spelling(
    app, runtime, staff, three_languages
):
    clerk = staff("clerk", sign_nda=False)
    _spell(runtime, clerk.username, "Тест Клерк")
    browser = signed_in(app, clerk.username)
    html, form = _form(browser, {}, headers={"Accept-Language": "ru"})
    assert RU[1] in html and "I keep all I see" not in html
    assert form["language"] == "ru" and form["text_sha256"] == hashlib.sha256((RU[1] + "\n").encode()).hexdigest()

    signed = browser.post("/nda", {**form, "typed_full_name": "  тест   КЛЕРК "}, csrf=False)
    assert signed.status_code == 302
    with runtime.sessions() as db:
        ack = db.scalar(sa.select(NdaAcknowledgement).where(NdaAcknowledgement.user_id == clerk.id))
        assert (ack.language, ack.text_sha256) == ("ru", three_languages["ru"].text_sha256)


def test_the_hash_must_be_that_of_the_language_signed(app, runtime, staff, three_languages):
    clerk = staff("clerk", sign_nda=False)
    browser = signed_in(app, clerk.username)
    _html, form = _form(browser, {"language": "kk"})
    assert form["language"] == "kk"
    english_hash = three_languages["en"].text_sha256
    refused = browser.post(
        "/nda", {**form, "text_sha256": english_hash, "typed_full_name": clerk.full_name}, csrf=False
    )
    assert refused.status_code == 422
    assert not accounts_signed(runtime, clerk.id)
    assert browser.post("/nda", {**form, "typed_full_name": clerk.full_name}, csrf=False).status_code == 302
    assert accounts_signed(runtime, clerk.id) == ["kk"]


def accounts_signed(runtime, user_id: str) -> list[str]:
    with runtime.sessions() as db:
        return list(db.scalars(sa.select(NdaAcknowledgement.language).where(NdaAcknowledgement.user_id == user_id)))


def test_only_registered_spellings_sign_and_the_page_says_which_they_are(app, runtime, staff, three_languages):
    clerk = staff("clerk", sign_nda=False)
    _spell(runtime, clerk.username, "Тест Клерк\nTest Klerk")
    browser = signed_in(app, clerk.username)
    _html, form = _form(browser, {"language": "en"})
    refused = browser.post("/nda", {**form, "typed_full_name": "Someone Else"}, csrf=False)
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "Тест Клерк" in page and "Test Klerk" in page
    assert browser.post("/nda", {**form, "typed_full_name": "test klerk"}, csrf=False).status_code == 302


def test_only_an_administrator_adds_spellings_and_it_is_logged(app, runtime, staff):
    admin, clerk = staff("admin"), staff("clerk")
    browser = signed_in(app, admin.username)
    response = browser.post(
        f"/admin/users/{clerk.id}",
        {"roles": "clerk", "active": "on", "reason": "", "other_spellings": "Тест Клерк\n\n Test  Klerk "},
    )
    assert response.status_code == 302
    with runtime.sessions() as db:
        assert db.get(User, clerk.id).spellings == [clerk.full_name, "Тест Клерк", "Test Klerk"]
    too_many = browser.post(
        f"/admin/users/{clerk.id}",
        {"roles": "clerk", "active": "on", "other_spellings": "\n".join(f"N{i}" for i in range(9))},
    )
    assert too_many.status_code == 422


def test_an_administrator_publishes_three_languages_and_a_half_given_one_is_refused(app, runtime, staff):
    admin = staff("admin")
    browser = signed_in(app, admin.username)
    texts = {
        "title": "Undertaking",
        "text": "English text of the undertaking, long enough.",
        "title_ru": RU[0],
        "text_ru": RU[1],
        "title_kk": KK[0],
        "text_kk": "",
    }
    refused = browser.post("/admin/nda", texts)
    assert refused.status_code == 422 and 'href="#f-text_kk"' in refused.get_data(as_text=True)
    assert browser.post("/admin/nda", {**texts, "text_kk": KK[1]}).status_code == 302
    with runtime.sessions() as db:
        assert sorted(accounts.nda_texts(accounts.current_nda(db))) == ["en", "kk", "ru"]


def test_the_api_lists_every_language_and_signs_one(api, staff, three_languages):
    clerk = staff("clerk", sign_nda=False)
    nda = api(clerk).get("/nda").get_json()["nda"]
    assert set(nda["texts"]) == {"en", "ru", "kk"} and nda["texts"]["ru"]["text"].startswith("Я не")
    signed = api(clerk).post(
        "/nda/acknowledgements",
        json={
            "version": nda["version"],
            "language": "ru",
            "text_sha256": nda["texts"]["ru"]["text_sha256"],
            "typed_full_name": clerk.full_name,
        },
    )
    assert signed.status_code == 201 and signed.get_json()["acknowledgement"]["language"] == "ru"


def test_the_default_undertaking_files_come_in_three_languages():
    title, text, translations = read_undertaking(Path(__file__).parents[2] / "config" / "nda" / "default.md")
    assert title.startswith("Undertaking") and sorted(translations) == ["kk", "ru"]
    assert translations["ru"][0].startswith("Обязательство") and "міндеттеме" in translations["kk"][1]
