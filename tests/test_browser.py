"""The notebook in a real browser: headless Chromium (Debian's package) driven by Playwright, real server.

Skipped only when no Chromium is installed and CI is not true; `make test` installs it where it can, and
under CI=true a missing browser is a failure.
"""

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from clients.client import Client
from clients.example import WorkedExample, load_worked_example
from schemas import Role
from tests.conftest import IN_CI, Person
from tests.test_ui import XSS

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _chromium() -> str | None:
    for candidate in (os.environ.get("CELLPROV_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium")):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


@pytest.fixture
def chromium_page() -> Iterator[object]:
    executable = _chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if IN_CI:
            pytest.fail("playwright is not installed (pip install -e '.[dev]')")
        pytest.skip("playwright is not installed (pip install -e '.[dev]')")
    if executable is None:
        if IN_CI:
            pytest.fail("chromium is mandatory under CI=true: apt-get install chromium")
        pytest.skip("no chromium found (apt-get install chromium, or `make test` as root installs it)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.set_default_timeout(20_000)
        yield page
        browser.close()


@pytest.fixture
def loaded(live_server: str, people: dict[Role, Person]) -> WorkedExample:
    with Client(live_server.removesuffix("/api/v1"), token=people[Role.scientist].token) as client:
        return load_worked_example(client)


def test_a_scientist_finds_a_cell_traces_it_and_writes_an_entry(
    chromium_page, live_server: str, loaded: WorkedExample, people: dict[Role, Person]
) -> None:
    page = chromium_page
    base = live_server.removesuffix("/api/v1")
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    cell = loaded.cells["MOF@CoPc/Li"][0]

    page.goto(f"{base}/ui/items/{cell}")  # not logged in: sent to the form, and back afterwards
    page.fill("input[name=username]", people[Role.scientist].username)
    page.fill("input[name=password]", people[Role.scientist].password)
    page.click("section.login button[type=submit]")
    page.wait_for_url(f"**/ui/items/{cell}")

    page.goto(f"{base}/ui")
    page.fill("input[name=q]", cell)  # an exact code, typed or scanned, opens its record straight away
    page.press("input[name=q]", "Enter")
    page.wait_for_url(f"**/ui/items/{cell}")
    assert page.locator("h1").inner_text().startswith(cell)

    # The cell's test run shows its metrics and its capacity/CE plot, which opens on its own.
    run = loaded.tests[cell]
    plot = page.locator(f"#test-{run} img.plot")
    assert plot.evaluate("img => img.complete && img.naturalWidth > 0")
    assert "fade_per_cycle" in page.locator(f"#test-{run}").inner_text()
    page.locator(f"#test-{run} a").first.click()
    page.wait_for_url(f"**/ui/tests/{run}/plot.png")
    page.go_back()

    # Follow the upstream tree down to the FeCl3·6H2O lot and open it.
    lot_link = page.locator(f"#lineage a[href='/ui/items/{loaded.fecl3_lot}']").first
    assert lot_link.is_visible()
    lot_link.click()
    page.wait_for_url(f"**/ui/items/{loaded.fecl3_lot}")
    assert "MKCR4471" in page.locator("table.props").inner_text()
    assert cell in page.locator("#cells").inner_text()  # the recall list names the cell

    # Write an entry about the cell, then find it by search.
    page.goto(f"{base}/ui/items/{cell}")
    page.click("text=write an entry about it")
    page.fill("input[name=title]", "Gas bubbles after formation")
    page.fill("textarea[name=body]", "Small **gas bubbles** under the separator after the formation cycles.")
    page.fill("input[name=tags]", "formation")
    page.click("form.entry button[type=submit]")
    page.wait_for_url("**/ui/entries/*")
    assert page.locator("#entry-body strong").inner_text() == "gas bubbles"
    page.fill("input[name=q]", "bubbles separator")
    page.press("input[name=q]", "Enter")
    page.wait_for_url("**/ui/search?q=*")
    assert "Gas bubbles after formation" in page.locator("ol.hits").inner_text()
    page.goto(f"{base}/ui/items/{cell}")
    assert "Gas bubbles after formation" in page.locator("ul.entries").inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "cell-page.png"), full_page=True)
    assert dialogs == []


def test_a_hostile_entry_runs_nothing_in_the_browser(
    chromium_page, live_server: str, people: dict[Role, Person]
) -> None:
    page = chromium_page
    base = live_server.removesuffix("/api/v1")
    with Client(base, token=people[Role.scientist].token) as client:
        response = client.request(
            "POST", "/entries", json={"title": "<img src=x onerror=alert(1)>", "body": XSS}
        )
        entry_id = response.json()["id"]
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(f"{base}/ui/login?next=/ui/entries/{entry_id}")
    page.fill("input[name=username]", people[Role.scientist].username)
    page.fill("input[name=password]", people[Role.scientist].password)
    page.click("section.login button[type=submit]")
    page.wait_for_url(f"**/ui/entries/{entry_id}")
    for link in page.locator("#entry-body a").all():
        href = link.get_attribute("href") or ""
        if href:
            link.click(no_wait_after=True)
    page.goto(f"{base}/ui/search?q=bold")
    assert page.locator("#entry-body script, script").count() == 0
    assert dialogs == []
