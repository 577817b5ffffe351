"""A real browser (Debian's Chromium driven by Playwright) against the app on a loopback port, with axe-core
(from npm, pinned in this folder's package-lock.json) checking every page a journey visits."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
HERE = Path(__file__).parent
AXE = HERE / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa"]
AXE_BLOCKING = ("serious", "critical")


def _missing(message: str) -> None:
    """A missing tool skips these tests on a laptop and fails them in CI (REGISTRY_REQUIRE_BROWSER=1)."""
    if os.environ.get("REGISTRY_REQUIRE_BROWSER") == "1":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def browser():
    if CHROMIUM is None:
        _missing("NO BROWSER: install Debian's chromium (apt-get install chromium) to run tests/browser")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def axe_source() -> str:
    """axe-core as package-lock.json pins it, installed with ``npm ci`` the first time."""
    said = ""
    if not AXE.exists() and shutil.which("npm"):
        said = subprocess.run(
            ["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund"],
            cwd=HERE,
            check=False,
            capture_output=True,
            text=True,
            timeout=300,
        ).stderr[-2000:]
    if not AXE.exists():
        _missing(f"NO AXE: run `npm ci` in {HERE} (needs npm) to check the pages' accessibility. {said}")
    return AXE.read_text(encoding="utf-8")


class Axe:
    """``axe(page, step)`` runs axe-core on the page as it is and fails on a serious or critical violation.

    Every page a watched tab lands on must be checked before it moves on (``watch``): a journey cannot
    visit a page that nobody checked. The script is evaluated through the DevTools protocol, which the
    pages' Content-Security-Policy does not govern, so the app's CSP stays exactly as in production.
    """

    def __init__(self, source: str):
        self.source = source
        self.unchecked: list[str] = []
        self.landed: dict[object, str | None] = {}

    def watch(self, page) -> None:
        self.landed[page] = None
        last = {"url": ""}

        def landed(frame) -> None:
            if frame is not page.main_frame or not frame.url.startswith("http"):
                return
            url, previous = frame.url, last["url"]
            last["url"] = url
            if "#" in url and url.split("#")[0] == previous.split("#")[0]:
                return  # a link within the page (the skip link): the same page
            if self.landed[page] is not None:
                self.unchecked.append(self.landed[page])
            self.landed[page] = url

        page.on("framenavigated", landed)

    def __call__(self, page, step: str = "") -> None:
        if not page.evaluate("() => typeof window.axe === 'object'"):
            page.evaluate(self.source)
        found = page.evaluate(
            """tags => axe.run(document, {runOnly: {type: "tag", values: tags}, iframes: false})
                 .then(result => result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                                               nodes: v.nodes.map(n => n.target.join(" "))})))""",
            AXE_TAGS,
        )
        self.landed[page] = None
        blocking = [v for v in found if v["impact"] in AXE_BLOCKING]
        assert not blocking, f"axe, {step or page.url}:\n" + "\n".join(
            f"  {v['impact']} {v['id']} ({v['help']}): {', '.join(v['nodes'][:5])}" for v in blocking
        )

    def every_page_checked(self) -> list[str]:
        return self.unchecked + [url for url in self.landed.values() if url is not None]


@pytest.fixture
def axe(axe_source):
    checker = Axe(axe_source)
    yield checker
    unchecked = checker.every_page_checked()
    assert not unchecked, f"pages visited without an accessibility check: {unchecked}"


@pytest.fixture
def live_server(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture
def page(browser, live_server, axe):
    context = browser.new_context(base_url=live_server, locale="en-GB")
    page = context.new_page()
    page.csp_violations = []
    page.on("console", lambda msg: "Content Security Policy" in msg.text and page.csp_violations.append(msg.text))
    axe.watch(page)
    yield page
    context.close()


@pytest.fixture
def settings(settings):
    """As in production: a copy thread makes the viewing copy after the upload has answered."""
    return settings.with_overrides(copy_workers=1)
