"""Two clerks merge a mother registered twice, in a real browser: one, working in Russian, proposes the merge
from the review queue; the page says it waits for a second clerk and offers her nothing but withdrawing it. The
other, working in Kazakh, sees who proposed it and why, and approves it; the survivor's page then lists the
merged record.

Screenshots (1366 and 820 px wide) are left in tests/browser/shots/ for a person to look at.
"""

from __future__ import annotations

import pytest

from tests.browser.test_auditor_journey import shoot
from tests.conftest import PASSWORD
from tests.persons.test_matching import MOTHER, MOTHER_AGAIN

REASON_RU = "Одна женщина: написание из лагерного списка, тот же год рождения."
REASON_KK = "Екі іс қағазы салыстырылды: фотосуреттер мен анасының аты сәйкес."


@pytest.fixture
def clerk_in(browser, live_server, axe):
    contexts = []

    def open_as(member, locale: str):
        context = browser.new_context(base_url=live_server, locale=locale, viewport={"width": 1366, "height": 900})
        contexts.append(context)
        page = context.new_page()
        axe.watch(page)
        page.goto("/login")
        axe(page, f"sign-in {locale}")
        page.fill("#f-username", member.username)
        page.fill("#f-password", PASSWORD)
        page.click("main button[type=submit]")
        axe(page, f"work page {locale}")
        return page

    yield open_as
    for context in contexts:
        context.close()


def test_one_clerk_proposes_a_merge_in_russian_and_another_approves_it_in_kazakh(clerk_in, axe, staff, make_person):
    first, second = staff("clerk", name="saparova"), staff("clerk", name="bekov")
    mother, again = make_person(first, **MOTHER), make_person(first, **MOTHER_AGAIN)

    page = clerk_in(first, "ru-RU")
    page.goto("/matches")
    assert page.locator("h1").inner_text() == "Возможные дубликаты"
    shoot(page, axe, "merge-queue-ru")
    page.fill("form.match-decision input[name=reason]", REASON_RU)
    page.click("form.match-decision button[value=same]")
    assert "второго сотрудника" in page.locator("main").inner_text()  # the flash: it waits for a second clerk
    axe(page, "queue after the proposal")
    page.goto("/matches")
    waiting = page.locator("form.match-decision")
    assert "ждёт подтверждения второго сотрудника" in waiting.inner_text()
    assert waiting.locator("button[value=approve]").count() == 0  # her own proposal: only withdrawing it
    shoot(page, axe, "merge-proposed-ru")

    page = clerk_in(second, "kk-KZ")
    page.goto(f"/persons/{mother['id']}")
    form = page.locator("form.match-decision")
    assert first.full_name in form.inner_text() and REASON_RU in form.inner_text()
    shoot(page, axe, "merge-approve-kk")
    form.locator("input[name=reason]").fill(REASON_KK)
    form.locator("button[value=approve]").click()
    assert page.url.endswith(f"/persons/{mother['id']}")
    assert again["registry_number"] in page.locator("main").inner_text()  # listed among the merged records
    shoot(page, axe, "merge-done-kk")
