"""A clerk's first day, in a real browser: sign in, sign the NDA, register a child, upload a scan; and the same
in Russian with a mother and a child born abroad, screenshots at a desk's and a tablet's width."""

from __future__ import annotations

import io
import os
from pathlib import Path

from PIL import Image
from playwright.sync_api import expect

from registry.accounts import service as accounts
from registry.accounts.models import User
from registry.audit.service import SYSTEM
from tests.conftest import PASSWORD


def _scan_png() -> bytes:
    image = Image.new("RGB", (600, 800), "white")
    for x in range(50, 550):
        image.putpixel((x, 100), (0, 0, 0))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


class _HeldCopies:
    """Viewing copies asked for are made only on ``release``: the page is seen while its copy is being made."""

    def __init__(self, copies):
        self.submit, self.jobs = copies.submit, []

    def hold(self, *args, **kwargs) -> None:
        self.jobs.append((args, kwargs))

    def release(self) -> None:
        for args, kwargs in self.jobs:
            self.submit(*args, **kwargs)


def _hold_viewing_copies(runtime, monkeypatch) -> _HeldCopies:
    held = _HeldCopies(runtime.viewing_copies)
    monkeypatch.setattr(runtime.viewing_copies, "submit", held.hold)
    return held


def test_clerk_signs_in_signs_the_nda_and_registers_a_child(page, axe, staff, runtime, monkeypatch, tmp_path):
    clerk = staff("clerk", sign_nda=False)
    page.goto("/persons")
    assert "/login" in page.url
    axe(page, "sign-in")
    page.keyboard.press("Tab")  # the keyboard's first stop: past the menu, and visible when reached
    expect(page.locator(".skip-link")).to_be_focused()
    expect(page.locator(".skip-link")).to_be_in_viewport()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    expect(page.locator("#f-username")).to_be_focused()
    page.fill("#f-username", clerk.username)
    page.fill("#f-password", PASSWORD)
    page.click("button[type=submit]:has-text('Sign in')")

    assert "/nda" in page.url, "an unsigned user is sent to the undertaking first"
    axe(page, "undertaking")
    page.fill("#f-typed_full_name", "Someone Else")
    page.click("button:has-text('sign it')")
    assert page.locator(".field-error").first.is_visible()
    assert page.input_value("#f-typed_full_name") == "Someone Else", "what was typed is kept"
    axe(page, "undertaking refused")
    page.fill("#f-typed_full_name", clerk.full_name)
    page.click("button:has-text('sign it')")
    assert page.url.endswith("/persons"), "after signing, the clerk lands where they were going"
    axe(page, "persons")

    page.click("text=Register a person")
    axe(page, "registration")
    page.fill("#f-family_name_0", "Абдирасулова")
    page.fill("#f-given_name_0", "Айгерим")
    page.fill("#f-family_name_1", "Abdirasulova")
    page.fill("#f-given_name_1", "Aigerim")
    page.select_option("#f-script_1", "latin")
    page.check("input[name=categories][value=child]")
    page.click("button:has-text('Register')")
    assert page.locator("h1").inner_text().startswith("Абдирасулова Айгерим")
    axe(page, "person")

    page.click("text=Upload a document")
    axe(page, "upload")
    scan = tmp_path / "birth-record.png"
    scan.write_bytes(_scan_png())
    page.select_option("#f-kind", "birth_record")
    page.fill("#f-title", "Birth record, Raqqa")
    page.set_input_files("#f-file", str(scan))
    held = _hold_viewing_copies(runtime, monkeypatch)
    page.click("button:has-text('Upload')")
    expect(page.locator(".viewing-pending")).to_be_visible()
    axe(page, "document, copy being made")
    page.evaluate("() => { window.notReloaded = true; }")
    held.release()
    viewer = page.locator("img.viewer")
    viewer.wait_for()
    # Shown in place when ready, not by reloading the page; and said to a screen reader.
    expect(page.locator("#document-news")).to_have_text("The viewing copy is ready and shown below.")
    assert page.evaluate("() => window.notReloaded") is True
    assert page.evaluate("el => el.naturalWidth", viewer.element_handle()) == 600
    axe(page, "document")

    page.goto("/persons?q=abdirasulova")
    assert page.locator("td a").count() == 1
    axe(page, "search")
    page.screenshot(path=str(tmp_path / "search.png"))
    assert page.csp_violations == []


SHOTS = Path(__file__).parent / "shots"
WIDTHS = (1366, 820)


def _shoot(page, axe, name: str) -> None:
    """The page at a desk's width and a tablet's, whole, for a person to look at; and axe's look at it."""
    axe(page, name)
    SHOTS.mkdir(exist_ok=True)
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": WIDTHS[0], "height": 900})


def _noisy_scan(path: Path) -> None:
    """A scan of a few megabytes (noise does not compress), big enough to watch it being sent."""
    Image.frombytes("RGB", (1200, 1000), os.urandom(1200 * 1000 * 3)).save(path, "PNG")


def test_a_clerks_first_day_in_russian(page, axe, staff, runtime, tmp_path):
    clerk = staff("clerk", sign_nda=False)
    with runtime.sessions() as db:
        user = db.get(User, clerk.id)
        accounts.set_other_spellings(db, SYSTEM, user, "Тестова Клерк")
        accounts.publish_nda(
            db,
            SYSTEM,
            title="Undertaking",
            text="I keep everything I see here to myself.",
            translations={
                "ru": ("Обязательство", "Всё, что я вижу в реестре, я храню в тайне."),
                "kk": ("Міндеттеме", "Тізілімде көргенімнің бәрін құпия сақтаймын."),
            },
        )
        db.commit()
    page.goto("/login")
    axe(page, "sign-in")
    page.select_option("select[name=locale]", "ru")
    page.click("header button:has-text('Change')")
    axe(page, "sign-in-ru")
    page.fill("#f-username", clerk.username)
    page.fill("#f-password", PASSWORD)
    page.click("main button[type=submit]")
    axe(page, "after sign-in")
    page.goto("/persons")
    assert "/nda" in page.url
    assert "Всё, что я вижу в реестре" in page.inner_text("#nda-text"), "the undertaking in the reader's language"
    _shoot(page, axe, "1-nda-ru")
    page.fill("#f-typed_full_name", "Тестова Клерк")
    page.click("main form button[type=submit]")
    axe(page, "after the undertaking")

    page.goto("/persons/new")
    axe(page, "registration")
    page.fill("#f-family_name_0", "Abdirasulova")  # Latin letters, script left at Cyrillic: a slip
    page.fill("#f-given_name_0", "Zarina")
    assert page.locator(".script-hint").first.is_visible(), "questioned while typing"
    page.select_option("#f-sex", "female")
    page.fill("#f-birth_date", "1990-05-14")
    page.click("main form button[type=submit]")
    expect(page.locator("#error-summary")).to_be_focused(timeout=10_000)  # the summary, not the top of the page
    _shoot(page, axe, "2-registration-errors")
    page.click("#error-summary a[href='#f-script_0']")
    expect(page.locator("#f-script_0")).to_be_focused(timeout=10_000)
    page.fill("#f-family_name_0", "Абдирасулова")
    page.fill("#f-given_name_0", "Зарина")
    page.fill("#f-family_name_1", "Abdirasulova")
    page.fill("#f-given_name_1", "Zarina")
    page.select_option("#f-script_1", "latin")
    page.check("input[name=categories][value=woman]")
    page.click("main form button[type=submit]")
    assert page.locator("h1").inner_text().startswith("Абдирасулова Зарина")
    axe(page, "mother")

    page.goto("/persons/new")
    page.fill("#f-family_name_0", "Абдирасулова")
    page.fill("#f-given_name_0", "Айгерим")
    page.fill("#f-birth_date", "2018-09-01")
    page.select_option("#f-birth_date_precision", "month")
    page.fill("#f-place_of_birth_designation", "Алматы")
    page.fill("#f-place_of_birth_recorded", "Raqqa")
    page.check("input[name=categories][value=child]")
    _shoot(page, axe, "3-registration-child")
    page.click("main form button[type=submit]")
    assert "сентябрь 2018" in page.inner_text("main"), "a month-and-year date stays partial"
    _shoot(page, axe, "4-child")

    page.click("a.button[href$='/documents/new']")
    axe(page, "upload")
    scan = tmp_path / "birth-record.png"
    _noisy_scan(scan)
    page.select_option("#f-kind", "birth_record")
    page.fill("#f-title", "Запись о рождении, Ракка")
    page.set_input_files("#f-file", str(scan))
    assert "МБ" in page.inner_text(".file-chosen"), "the chosen file's size, in words"
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 20, "downloadThroughput": -1, "uploadThroughput": 1_000_000},
    )
    page.click("main form button[type=submit]")
    page.locator(".upload-progress").wait_for(state="visible")
    expect(page.locator(".upload-status")).to_contain_text("МБ")
    _shoot(page, axe, "5-upload-progress")
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
    )
    page.locator("img.viewer").wait_for(timeout=60_000)
    assert "/documents/" in page.url
    _shoot(page, axe, "6-document")

    page.click("nav a[href='/documents']")
    axe(page, "documents")
    page.select_option("#f-kind", "birth_record")
    page.click("main form button[type=submit]")
    expect(page.locator("main table a").first).to_have_text("Запись о рождении, Ракка")
    expect(page.locator("main table td").nth(2)).to_contain_text("Абдирасулова Айгерим")  # a name, not only a number
    _shoot(page, axe, "7-documents-list")
    assert page.csp_violations == []
