"""Test data, labels and comparison in a real browser (headless Debian chromium through Playwright, a real
server, both databases): a scientist uploads a real cycler file to a cell and opens its test-run page,
prints a label sheet whose QR code reads as the cell's URL, and compares two groups of cells. The pages'
screenshots are the README's (docs/)."""

from pathlib import Path

import httpx
import pypdfium2
import zxingcpp

from clients.cycler_model import lfp_cycling
from schemas import Role
from tests.conftest import Person
from tests.cycler_files import fixture
from tests.lab import ASSEMBLY, COATING, publish_bench_over_http
from tests.test_browser import chromium_page  # noqa: F401  (the fixture)
from tests.test_cycling_api import make_cells, upload

DOCS = Path(__file__).resolve().parents[1] / "docs"
NDAX = "neware_ndax/46_1_5_60_bts16.ndax"  # 7 KB, one cycle (fixtures' SOURCES.md)


def _log_in(page, base: str, person: Person, target: str) -> None:
    page.goto(f"{base}/ui/login?next={target}")
    page.fill("input[name=username]", person.username)
    page.fill("input[name=password]", person.password)
    page.click("section.login button[type=submit]")
    page.wait_for_url(f"**{target}")


def test_a_scientist_uploads_a_cycler_file_prints_labels_and_compares_cells(
    chromium_page,  # noqa: F811
    live_server: str,
    people: dict[Role, Person],
) -> None:
    page = chromium_page
    base = live_server.removesuffix("/api/v1")
    publish_bench_over_http(live_server, people[Role.admin].token, COATING, ASSEMBLY)
    headers = {"Authorization": f"Bearer {people[Role.scientist].token}"}
    with httpx.Client(base_url=live_server, headers=headers, timeout=60) as api:
        cells = make_cells(api, {"bare Li": 2, "MOF@CoPc/Li anode": 2})  # type: ignore[arg-type]
        for kind, fade in (("bare Li", 0.3), ("MOF@CoPc/Li anode", 0.02)):
            for cell in cells[kind]:
                made = upload(api, cell, lfp_cycling(cycles=40, fade_per_cycle_pct=fade))
                assert made.status_code == 201, made.text
        spare = make_cells(api, {"bare Li": 1}, active_mass_mg=None)["bare Li"][0]
    DOCS.mkdir(exist_ok=True)

    # Compare the cells grouped by their anode: two groups, their metrics and the overlaid plot.
    _log_in(page, base, people[Role.scientist], "/ui/compare")
    page.fill("input[name=by]", "role:anode")
    page.select_option("select[name=protocol]", "lfp-li-cycling@1")
    page.select_option("select[name=band]", "sd")
    page.click("#compare button[type=submit]")
    page.wait_for_url("**/ui/compare?*")
    groups = page.locator("#groups").inner_text()
    assert "Li foil disc" in groups and "MOF@CoPc/Li anode" in groups
    assert page.locator("#groups tr").count() == 3
    assert page.locator("#compare-plot").evaluate("img => img.complete && img.naturalWidth > 0")
    page.screenshot(path=str(DOCS / "compare-page.png"), full_page=True)

    # Upload a real Neware file to a cell from its page; the test-run page shows what was read.
    page.goto(f"{base}/ui/items/{spare}")
    page.select_option("#upload-test select[name=protocol]", "lfp-li-cycling@1")
    page.set_input_files("#upload-test input[name=file]", str(fixture(NDAX)))
    page.click("#upload-test button[type=submit]")
    page.wait_for_url("**/ui/tests/*")
    run_id = page.url.rsplit("/", 1)[1]
    parsed = page.locator("#parsed").inner_text()
    assert "neware_ndax" in parsed and "fastnda" in parsed and "84" in parsed
    assert page.locator("#capacity-plot").evaluate("img => img.complete && img.naturalWidth > 0")
    assert page.locator("#cycles tr").count() == 2  # the header and the one cycle
    # dQ/dV of the run's one cycle, drawn and fitting a tablet's width.
    dqdv = page.locator("#dqdv-plot")
    assert dqdv.evaluate("img => img.complete && img.naturalWidth > 0")
    page.set_viewport_size({"width": 768, "height": 1024})
    box = dqdv.bounding_box()
    assert box is not None and box["x"] + box["width"] <= 768
    page.set_viewport_size({"width": 1200, "height": 900})
    with page.expect_download() as download:
        page.click("text=Download the cycles as CSV")
    assert Path(download.value.path()).read_text().startswith("cycle")
    page.screenshot(path=str(DOCS / "test-run-page.png"), full_page=True)
    page.goto(f"{base}/ui/items/{spare}")
    assert page.locator(f"a[href='/ui/tests/{run_id}']").count() == 1

    # An EIS analysis of the cell with a real EC-Lab export: its page draws the Nyquist plot.
    with httpx.Client(base_url=live_server, headers=headers, timeout=60) as api:
        content = fixture("biologic_mpr/mb.issue_223.mpt").read_bytes()
        stored = api.post("/files", files={"file": ("mb.issue_223.mpt", content)}).json()
        analysis = api.post(
            "/analyses",
            json={"technique": "EIS", "subjects": [spare], "files": [{"sha256": stored["sha256"]}]},
        ).json()
    page.goto(f"{base}/ui/items/{spare}")
    page.click(f"a[href='/ui/analyses/{analysis['id']}']")
    page.wait_for_url(f"**/ui/analyses/{analysis['id']}")
    assert page.locator("#nyquist-plot").evaluate("img => img.complete && img.naturalWidth > 0")
    page.goto(f"{base}/ui/items/{spare}")

    # Print a sheet of labels for the cells: the PDF the link opens, rendered; each QR is its cell's page.
    codes = [code for group in cells.values() for code in group]
    sheet_url = page.locator("#labels a", has_text="A4 sheet").get_attribute("href")
    assert sheet_url and sheet_url.startswith("/ui/labels.pdf")
    sheet = page.request.get(f"{base}/ui/labels.pdf?codes={','.join(codes)}&layout=a4-3x8")
    assert sheet.status == 200 and sheet.headers["content-type"] == "application/pdf"
    rendered = pypdfium2.PdfDocument(sheet.body())[0].render(scale=600 / 72).to_pil()
    read = sorted(found.text for found in zxingcpp.read_barcodes(rendered))
    assert read == sorted(f"{base}/ui/items/{code}" for code in codes)
    rendered.crop((0, 0, rendered.width, rendered.height // 3)).resize(
        (rendered.width // 4, rendered.height // 12)
    ).save(DOCS / "label-sheet.png")
