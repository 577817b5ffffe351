"""A clerk's first day, in a real browser: sign in, sign the NDA, register a child, upload a scan."""
from __future__ import annotations

import io

from PIL import Image

from tests.conftest import PASSWORD


def _scan_png() -> bytes:
    image = Image.new("RGB", (600, 800), "white")
    for x in range(50, 550):
        image.putpixel((x, 100), (0, 0, 0))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def test_clerk_signs_in_signs_the_nda_and_registers_a_child(page, staff, tmp_path):
    clerk = staff("clerk", sign_nda=False)
    page.goto("/persons")
    assert "/login" in page.url
    page.fill("#f-username", clerk.username)
    page.fill("#f-password", PASSWORD)
    page.click("button[type=submit]:has-text('Sign in')")

    assert "/nda" in page.url, "an unsigned user is sent to the undertaking first"
    page.fill("#f-typed_full_name", "Someone Else")
    page.click("button:has-text('sign it')")
    assert page.locator(".field-error").first.is_visible()
    assert page.input_value("#f-typed_full_name") == "Someone Else", "what was typed is kept"
    page.fill("#f-typed_full_name", clerk.full_name)
    page.click("button:has-text('sign it')")
    assert page.url.endswith("/persons"), "after signing, the clerk lands where they were going"

    page.click("text=Register a person")
    page.fill("#f-family_name_0", "Абдирасулова")
    page.fill("#f-given_name_0", "Айгерим")
    page.fill("#f-family_name_1", "Abdirasulova")
    page.fill("#f-given_name_1", "Aigerim")
    page.select_option("#f-script_1", "latin")
    page.check("input[name=categories][value=child]")
    page.click("button:has-text('Register')")
    assert page.locator("h1").inner_text().startswith("Абдирасулова Айгерим")

    page.click("text=Upload a document")
    scan = tmp_path / "birth-record.png"
    scan.write_bytes(_scan_png())
    page.select_option("#f-kind", "birth_record")
    page.fill("#f-title", "Birth record, Raqqa")
    page.set_input_files("#f-file", str(scan))
    page.click("button:has-text('Upload')")
    viewer = page.locator("img.viewer")
    viewer.wait_for()
    assert page.evaluate("el => el.naturalWidth", viewer.element_handle()) == 600

    page.goto("/persons?q=abdirasulova")
    assert page.locator("td a").count() == 1
    page.screenshot(path=str(tmp_path / "search.png"))
    assert page.csp_violations == []
