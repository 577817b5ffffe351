"""An auditor working in Russian, in a real browser: from the work page to a child's access report by registry
number, then the PDF export, with every action and outcome in words and no raw code anywhere.

Screenshots of the pages (1366 and 820 px wide) and of the PDF's first page are left in tests/browser/shots/
for a person to look at.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pypdfium2 as pdfium
import pytest

from tests.conftest import PASSWORD

SHOTS = Path(__file__).parent / "shots"
RAW_CODES = ("person.created", "person.viewed", "audit.access_report", "allowed", "denied")


@pytest.fixture
def child(staff, make_person, api):
    """A child registered and looked at by a clerk: the report has something to say."""
    clerk = staff("clerk")
    person = make_person(
        clerk,
        names=[{"family_name": "Абдирасулова", "given_name": "Айша"}],
        birth_date="2016-03-01",
        birth_date_precision="year",
        categories=["child"],
    )
    assert api(clerk).get(f"/persons/{person['id']}").status_code == 200
    return person


@pytest.fixture
def russian_page(browser, live_server, axe):
    context = browser.new_context(
        base_url=live_server, locale="ru-RU", accept_downloads=True, viewport={"width": 1366, "height": 900}
    )
    page = context.new_page()
    page.csp_violations = []
    page.on("console", lambda msg: "Content Security Policy" in msg.text and page.csp_violations.append(msg.text))
    axe.watch(page)
    yield page
    context.close()


def shoot(page, axe, name: str) -> None:
    axe(page, name)
    SHOTS.mkdir(exist_ok=True)
    for width in (1366, 820):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1366, "height": 900})


def test_an_auditor_in_russian_finds_a_childs_report_by_number_and_downloads_the_pdf(
    russian_page, axe, staff, child, tmp_path
):
    page = russian_page
    auditor = staff("auditor")
    page.goto("/")
    axe(page, "start page")
    page.click("a.button[href='/login']")
    axe(page, "sign-in")
    page.fill("#f-username", auditor.username)
    page.fill("#f-password", PASSWORD)
    page.click("main button[type=submit]")

    assert page.url.endswith("/work/audit"), "after signing in the auditor lands on their work page"
    assert page.locator("h1").inner_text() == "Работа аудитора"
    shoot(page, axe, "auditor-work")

    page.fill("#f-person", child["registry_number"].lower())  # typed from a paper, in lower case
    page.click("form[action='/audit/persons'] button")
    assert page.url.endswith(f"/audit/persons/{child['id']}")
    assert child["registry_number"] in page.locator("h1").inner_text()
    table = page.locator("main table").first.inner_text()
    assert "регистрация лица" in table
    assert not [code for code in RAW_CODES if code in table], table
    shoot(page, axe, "access-report")

    with page.expect_download() as download:
        page.click("a[href$='format=pdf']")
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.name == f"access-report-{child['registry_number']}.pdf"
    document = pdfium.PdfDocument(saved.read_bytes())
    text = " ".join(document[i].get_textpage().get_text_range() for i in range(len(document)))
    assert child["registry_number"] in text and "Отчёт о доступе" in text
    assert not [code for code in RAW_CODES if code in text], text
    if shutil.which("pdftoppm"):  # Debian: poppler-utils
        first_page = ["pdftoppm", "-f", "1", "-l", "1", "-r", "80", "-png"]
        subprocess.run([*first_page, str(saved), str(SHOTS / "access-report-pdf")], check=True)
    assert page.csp_violations == []
