"""A lawyer, working in Kazakh, takes a maternity claim from claimed to court established in pages alone:
claim, upload the DNA result from the claim, type its findings, upload the ruling, record it while it is
open to appeal, then record it as final. Every step is screenshotted at a desktop and a tablet width
(tests/browser/shots/, not kept in git) for a person to look at."""

from __future__ import annotations

import io
import uuid
from pathlib import Path

import sqlalchemy as sa
from PIL import Image, ImageDraw
from playwright.sync_api import expect

from registry.kinship.models import Relationship
from tests.conftest import PASSWORD
from tests.kinship.helpers import genomic_fields, open_case

SHOTS = Path(__file__).parent / "shots" / "lawyer"
WIDTHS = (1366, 820)


def _scan(title: str) -> bytes:
    page = Image.new("RGB", (850, 1100), "white")
    ImageDraw.Draw(page).text((60, 60), title, fill="black")
    out = io.BytesIO()
    page.save(out, "PNG")
    return out.getvalue()


class Camera:
    """Screenshots of each step at every width, numbered in the order they were taken."""

    def __init__(self, page, axe):
        self.page, self.axe, self.n = page, axe, 0
        SHOTS.mkdir(parents=True, exist_ok=True)
        for old in SHOTS.glob("*.png"):
            old.unlink()

    def __call__(self, step: str) -> None:
        """axe looks at the page first: every screenshotted page is also checked."""
        self.axe(self.page, step)
        self.n += 1
        for width in WIDTHS:
            self.page.set_viewport_size({"width": width, "height": 900})
            self.page.screenshot(path=str(SHOTS / f"{self.n:02d}-{step}-{width}.png"), full_page=True)
        self.page.set_viewport_size({"width": WIDTHS[0], "height": 900})


def _status(runtime, relationship_id: str) -> str:
    with runtime.sessions() as db:
        return db.scalar(sa.select(Relationship.status).where(Relationship.id == relationship_id))


def _upload_from_claim(page, shoot, tmp_path, name: str, title: str) -> None:
    page.click(".next-step a.button")
    page.wait_for_selector("#f-other_role")
    shoot(f"{name}-upload")
    scan = tmp_path / f"{name}.png"
    scan.write_bytes(_scan(title))
    page.fill("#f-title", title)
    page.set_input_files("#f-file", str(scan))
    page.click("main form button[type=submit]")
    page.wait_for_selector(".next-step a.button")
    page.locator("img.viewer").wait_for(timeout=60_000)  # the viewing copy is shown without a reload
    shoot(f"{name}-uploaded")
    page.click(".next-step a.button")


def test_a_lawyer_in_kazakh_takes_a_claim_to_court_established(
    browser, live_server, axe, runtime, staff, make_person, tmp_path
):
    lawyer, clerk = staff("lawyer"), staff("clerk")
    mother = make_person(
        clerk,
        names=[{"family_name": "Абдирасулова", "given_name": "Мадина"}],
        sex="female",
        birth_date="1990-04-12",
        birth_date_precision="exact",
        categories=["woman"],
    )
    child = make_person(
        clerk,
        names=[{"family_name": "Абдирасулова", "given_name": "Айша"}],
        birth_date="2016-03-01",
        birth_date_precision="year",
        categories=["child"],
    )
    open_case(runtime, "KZ-7", members=[lawyer], person_ids=[mother["id"], child["id"]])
    context = browser.new_context(base_url=live_server, locale="kk", viewport={"width": WIDTHS[0], "height": 900})
    page = context.new_page()
    violations: list[str] = []
    page.on("console", lambda msg: "Content Security Policy" in msg.text and violations.append(msg.text))
    axe.watch(page)
    shoot = Camera(page, axe)

    page.goto("/login")
    axe(page, "sign-in")
    page.fill("#f-username", lawyer.username)
    page.fill("#f-password", PASSWORD)
    page.click("main button[type=submit]")
    assert page.locator("html").get_attribute("lang") == "kk"
    axe(page, "work page")

    page.goto(f"/persons/{child['id']}/family")
    page.fill("#f-registry_number", mother["registry_number"])
    page.select_option("#f-kind", "biological_mother")
    page.fill("#f-note", "Анасының айтуы бойынша")
    shoot("claim-form")
    page.click("form[action$='/family/claims'] button[type=submit]")
    page.wait_for_url("**/relationships/*")
    relationship_id = page.url.rsplit("/", 1)[1]
    shoot("claimed")
    assert _status(runtime, relationship_id) == "claimed"

    _upload_from_claim(page, shoot, tmp_path, "dna", "ДНҚ сараптамасы 14/2024")
    fields = {**genomic_fields(), "seal_numbers": "S-100200, S-100201"}
    for name in (
        "laboratory",
        "accreditation",
        "loci_tested",
        "combined_relationship_index",
        "probability_of_relatedness",
        "collected_by",
        "collected_on",
        "collected_where",
        "seal_numbers",
        "cost",
    ):
        page.fill(f"#f-{name}", str(fields[name]))
    page.select_option("#f-conclusion", "inclusion")
    shoot("findings-form")
    page.click("main form button[type=submit]")
    page.wait_for_url(f"**/relationships/{relationship_id}")
    shoot("supported")
    assert _status(runtime, relationship_id) == "genetically_supported"

    _upload_from_claim(page, shoot, tmp_path, "ruling", "Сот шешімі 2-1234/2024")
    page.fill("#f-court", "Алматы қаласының мамандандырылған ауданаралық соты")
    page.fill("#f-case_number", "2-1234/2024")
    page.fill("#f-ruling_date", "2024-06-01")
    page.fill("#f-decision", "Ана мен баланың туыстығы анықталсын.")
    page.select_option("#f-appeal_status", "open")
    assert page.is_checked(f"input[name=relationship_ids][value='{relationship_id}']")
    shoot("ruling-form")
    page.click("form[action$='/court-ruling'] button[type=submit]")
    page.wait_for_url(f"**/relationships/{relationship_id}")
    shoot("ruling-awaiting")
    assert _status(runtime, relationship_id) == "genetically_supported"

    page.click(".flash.warning a[href$='/court-ruling']")
    page.select_option("#f-appeal-only", "final")
    shoot("appeal-form")
    page.click("form[action$='/appeal'] button[type=submit]")
    page.wait_for_url(f"**/relationships/{relationship_id}")
    shoot("established")
    assert _status(runtime, relationship_id) == "court_established"

    page.goto(f"/persons/{child['id']}/family")
    expect(page.locator("figure.family svg a")).to_have_count(2)  # the child and her mother, each a link
    shoot("family")

    page.goto(f"/persons/{uuid.uuid4()}")  # a number mistyped, or a person outside the lawyer's cases
    expect(page.locator(".emergency-offer a")).to_be_visible()
    shoot("not-found")
    assert violations == []
    context.close()
