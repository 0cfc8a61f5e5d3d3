"""What a scientist sees in /ui (issue 19, points 3, 5, 6, 7) through the ASGI app: test data on a cell's page
and its test-run page, analyses, labels whose QR codes decode to the item's URL, scan to open, lists, the step
page against its template, the lineage picture, compare, HTML error pages, search hits that open, offline
docs."""

import re
import xml.etree.ElementTree as ET

import pypdfium2
import pytest
import zxingcpp

from clients.cycler_model import lfp_cycling
from schemas import Role
from service.ui import lists
from tests.cycler_files import fixture
from tests.lab import ASSEMBLY, COATING, SYNTHESIS, log, publish_bench, receive, used
from tests.test_cycling_api import make_cells, upload
from tests.test_templates import hydrothermal, stock  # noqa: F401  (stock is a fixture)
from tests.test_ui import browser, csrf_of, logged_in

NDAX = "neware_ndax/46_1_5_60_bts16.ndax"  # 7 KB, one cycle, 84 records (SOURCES.md)
MM = 72 / 25.4  # PDF points per millimetre


@pytest.fixture
def bench(admin):
    publish_bench(admin, COATING, ASSEMBLY)


@pytest.fixture
def sam(app, people):
    return logged_in(app, people[Role.scientist])


def _count_tests(api, cell: str) -> int:
    return len(api.get(f"/items/{cell}/tests").json())


def _is_html_page(response, status: int) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("text/html"), response.headers["content-type"]
    assert '<header class="top">' in response.text and "Back to the notebook" in response.text
    assert "script-src 'none'" in response.headers["content-security-policy"]


def test_upload_a_real_cycler_file_on_the_cells_page_and_read_its_test_run_page(api, sam, bench):
    cell = make_cells(api, {"bare Li": 1}, active_mass_mg=None)["bare Li"][0]
    cell_page = sam.get(f"/ui/items/{cell}").text
    assert 'id="upload-test"' in cell_page and "<option>lfp-li-cycling@1</option>" in cell_page
    content = fixture(NDAX).read_bytes()

    no_csrf = sam.post(
        f"/ui/items/{cell}/tests", data={"protocol": "lfp-li-cycling@1"}, files={"file": ("r.ndax", content)}
    )
    assert no_csrf.status_code == 422 or no_csrf.status_code == 403
    bad_mass = sam.post(
        f"/ui/items/{cell}/tests",
        data={"csrf": csrf_of(cell_page), "protocol": "lfp-li-cycling@1", "active_mass": "twelve"},
        files={"file": ("r.ndax", content)},
    )
    _is_html_page(bad_mass, 422)
    assert "active mass" in bad_mass.text
    assert _count_tests(api, cell) == 0  # refused: nothing recorded

    sent = sam.post(
        f"/ui/items/{cell}/tests",
        data={"csrf": csrf_of(cell_page), "protocol": "lfp-li-cycling@1"},
        files={"file": ("46_1_5_60_bts16.ndax", content)},
    )
    assert sent.status_code == 303, sent.text
    run_id = int(sent.headers["location"].rsplit("/", 1)[1])
    assert [t["id"] for t in api.get(f"/items/{cell}/tests").json()] == [run_id]
    shown = sam.get(sent.headers["location"])
    assert shown.status_code == 200
    parsed = shown.text[shown.text.index('id="parsed"') :]
    assert "neware_ndax" in parsed and "fastnda" in parsed and ">84<" in parsed and "1 cycle<" in parsed
    assert "not given" in parsed  # no active mass: no per-gram capacities
    assert 'id="metrics"' in shown.text and "initial capacity" in shown.text
    assert f'src="/ui/tests/{run_id}/plot.png"' in shown.text
    plot = sam.get(f"/ui/tests/{run_id}/plot.png")
    assert plot.status_code == 200 and plot.content.startswith(b"\x89PNG")
    rows = re.findall(r"<tr><td>(\d+)</td><td>([0-9.]+)</td>", shown.text)
    assert rows and rows[0][0] == "1" and float(rows[0][1]) == pytest.approx(16.68, abs=0.01)
    csv = sam.get(f"/ui/tests/{run_id}/cycles.csv")
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text.splitlines()[0].startswith("cycle") and len(csv.text.strip().splitlines()) == 2
    assert sam.get(f"/ui/tests/{run_id}/file").content == content
    # The cell's page lists the run and links to its page.
    assert f'href="/ui/tests/{run_id}"' in sam.get(f"/ui/items/{cell}").text


def test_a_test_run_page_shows_metrics_in_their_units_and_the_warnings(api, sam, bench):
    cell = make_cells(api, {"bare Li": 1})["bare Li"][0]
    run = upload(api, cell, lfp_cycling(cycles=30)).json()
    text = sam.get(f"/ui/tests/{run['id']}").text
    assert "mAh g⁻¹" in text and "mAh/g" not in text
    assert re.search(r"initial specific capacity</td><td>160(\.\d)? mAh g⁻¹", text), text
    heavy = make_cells(api, {"bare Li": 1}, active_mass_mg=1.0)["bare Li"][0]
    implausible = upload(api, heavy, lfp_cycling(cycles=5)).json()
    assert implausible["warnings"]
    page = sam.get(f"/ui/tests/{implausible['id']}").text
    assert 'id="warnings"' in page and implausible["warnings"][0]["message"] in page


def test_record_an_analysis_of_an_item_from_its_page(api, sam):
    lot = receive(api, "FeCl3·6H2O", "25 g")["code"]
    form = sam.get(f"/ui/items/{lot}/analyses/new")
    assert form.status_code == 200 and "<option>XRD</option>" in form.text
    token = csrf_of(form.text)
    refused = sam.post(
        f"/ui/items/{lot}/analyses",
        data={"csrf": token, "technique": "XRD", "results": "crystallinity is high"},
    )
    assert refused.status_code == 422 and "name = value unit" in refused.text
    assert api.get(f"/items/{lot}/analyses").json() == []
    sent = sam.post(
        f"/ui/items/{lot}/analyses",
        data={
            "csrf": token,
            "technique": "XRD",
            "instrument": "Bruker D8",
            "title": "phase check",
            "results": "crystallite size = 32.5 nm\nLiF fraction = 41.7 %",
        },
        files={"files": ("pattern.xy", b"10 100\n20 340\n")},
    )
    assert sent.status_code == 303, sent.text
    recorded = api.get(f"/items/{lot}/analyses").json()
    assert [(r["name"], r["value"], r["unit"]) for r in recorded[0]["results"]] == [
        ("crystallite size", 32.5, "nm"),
        ("LiF fraction", 41.7, "%"),
    ]
    assert [f["name"] for f in recorded[0]["files"]] == ["pattern.xy"]
    page = sam.get(f"/ui/items/{lot}").text
    assert "crystallite size: 32.5 nm" in page and "Bruker D8" in page


def _pdf_pages(content: bytes) -> list[tuple[float, float, list[str]]]:
    """Each page's size in mm and the QR codes read from its rendering."""
    pages = []
    document = pypdfium2.PdfDocument(content)
    for page in document:
        width, height = page.get_size()
        image = page.render(scale=1200 / 72).to_pil()  # 1200 dpi: a 25 mm label's modules are 0.3 mm
        texts = [found.text for found in zxingcpp.read_barcodes(image)]
        pages.append((width / MM, height / MM, sorted(texts)))
    return pages


@pytest.mark.parametrize(
    ("layout", "size"), [("cryo", (25, 10)), ("tape62", (62, 29)), ("a4-3x8", (210, 297))]
)
def test_a_label_pdf_has_the_size_printed_and_its_qr_code_is_the_items_url(api, sam, layout, size):
    lot = receive(api, "FeCl3·6H2O", "25 g", supplier_lot="MKCR4471")["code"]
    response = sam.get(f"/ui/items/{lot}/label.pdf", params={"layout": layout})
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    [(width, height, codes)] = _pdf_pages(response.content)
    assert (width, height) == pytest.approx(size, abs=0.2)
    assert codes == [f"http://testserver/ui/items/{lot}"]


def test_a_sheet_of_labels_and_the_public_url(api, app, sam):
    codes = [receive(api, "DMF", "1 L")["code"] for _ in range(3)]
    sheet = sam.get("/ui/labels.pdf", params={"codes": ",".join(codes), "layout": "a4-3x8"})
    [(width, height, read)] = _pdf_pages(sheet.content)
    assert (round(width), round(height)) == (210, 297)
    assert read == sorted(f"http://testserver/ui/items/{code}" for code in codes)
    app.state.settings.public_url = "https://lab.example.org/"
    tape = sam.get("/ui/labels.pdf", params={"codes": ",".join(codes[:2]), "layout": "tape62"})
    assert [page[2] for page in _pdf_pages(tape.content)] == [
        [f"https://lab.example.org/ui/items/{code}"] for code in codes[:2]
    ]
    svg = sam.get(f"/ui/items/{codes[0]}/label.svg")
    assert svg.headers["content-type"].startswith("image/svg+xml")
    root = ET.fromstring(svg.content)
    assert (root.get("width"), root.get("height")) == ("62mm", "29mm")
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert texts[0] == codes[0] and texts[1] == "DMF" and re.fullmatch(r"\d{4}-\d\d-\d\d", texts[2])
    _is_html_page(sam.get("/ui/labels.pdf", params={"codes": codes[0], "layout": "A5"}), 422)
    _is_html_page(sam.get("/ui/labels.pdf", params={"codes": "NOPE-0001"}), 404)


def test_a_scanned_code_or_label_url_opens_the_record_and_words_are_searched(api, sam):
    lot = receive(api, "FeCl3·6H2O", "25 g", supplier_lot="MKCR4471")["code"]
    for typed in (lot, f"http://testserver/ui/items/{lot}", f"  {lot}\n"):
        jumped = sam.get("/ui/search", params={"q": typed})
        assert jumped.status_code == 303 and jumped.headers["location"] == f"/ui/items/{lot}", typed
    words = sam.get("/ui/search", params={"q": "MKCR4471"})
    assert words.status_code == 200 and f"/ui/items/{lot}" in words.text
    assert sam.get("/ui/search", params={"q": "FECL-9999"}).status_code == 200  # no such code: searched


def test_every_kind_of_search_hit_links_to_a_page_that_opens(api, sam, bench):
    cell = make_cells(api, {"bare Li": 1})["bare Li"][0]
    upload(api, cell, lfp_cycling(cycles=5), name="zebrafinch.csv")
    api.post(
        "/analyses",
        json={"technique": "SEM", "subjects": [cell], "title": "zebrafinch morphology", "results": []},
    )
    api.post(
        "/entries", json={"title": "zebrafinch note", "body": "about " + cell, "links": [f"item:{cell}"]}
    )
    kinds = set()
    for query in ("zebrafinch", cell.split("-")[0], "lfp"):
        found = sam.get("/ui/search", params={"q": query}, follow_redirects=False)
        for kind, href in re.findall(
            r'<li class="hit hit-([a-z_]+)">\s*<span[^>]*>[^<]*</span>\s*<a href="([^"]+)"', found.text
        ):
            kinds.add(kind)
            opened = sam.get(href, follow_redirects=True)
            assert opened.status_code == 200, (kind, href, opened.text[:300])
            assert opened.headers["content-type"].startswith("text/html"), (kind, href)
    assert {"item", "entry", "analysis", "test_run"} <= kinds


def test_lists_by_kind_type_and_status_with_what_is_left_and_pages(api, sam, monkeypatch):
    lots = [receive(api, "DMF", f"{n + 1} L")["code"] for n in range(3)]
    fecl = receive(api, "FeCl3·6H2O", "25 g")["code"]
    shown = sam.get("/ui/items", params={"kind": "lot", "type": "DMF"}).text
    assert all(code in shown for code in lots) and fecl not in shown and "3 L" in shown
    monkeypatch.setattr(lists, "PAGE_SIZE", 2)
    first = sam.get("/ui/items", params={"kind": "lot", "type": "DMF"}).text
    found = re.search(r'href="(/ui/items\?[^"]+)" rel="next"', first)
    assert found, first
    second = sam.get(found.group(1).replace("&amp;", "&")).text
    assert lots[0] in second and lots[2] not in second
    _is_html_page(sam.get("/ui/items", params={"kind": "gadget"}), 422)
    assert fecl in sam.get("/ui/items", params={"status": "released"}).text


def test_the_step_page_shows_each_parameter_against_its_template_and_the_deviation(
    api,
    sam,
    stock,  # noqa: F811
):
    body = hydrothermal(stock)
    body["parameters"]["temperature"] = {"value": 120, "unit": "degC"}
    body["deviations"] = [
        {
            "field": "/parameters/temperature",
            "justification": "exploring crystallinity at a higher temperature",
        }
    ]
    deviating = api.post("/steps", json=body).json()
    plain = api.post("/steps", json=hydrothermal(stock)).json()
    page = sam.get(f"/ui/steps/{deviating['id']}").text
    row = re.search(r'<tr class="deviating"><td>temperature</td>.*?</tr>', page, re.S)
    assert row, page
    assert "120 °C" in row.group(0) and "110 ± 5 °C" in row.group(0)
    assert "exploring crystallinity at a higher temperature" in row.group(0)
    assert 'id="deviating"' in page
    computed = page[page.index('id="computed"') :]
    ratio = deviating["computed"]
    assert ratio and "fe linker ratio" in computed  # the template's check, as computed for this step
    assert 'id="deviating"' not in sam.get(f"/ui/steps/{plain['id']}").text
    listed = sam.get("/ui/steps", params={"protocol": "nh2-mil-101-fe-hydrothermal"}).text
    marked = re.findall(r'<tr( class="deviating")?><td><a href="/ui/steps/(\d+)">', listed)
    assert (' class="deviating"', str(deviating["id"])) in marked and ("", str(plain["id"])) in marked


def test_the_item_page_draws_the_lineage_and_history_reads_as_a_person_writes(api, admin, sam):
    publish_bench(admin, SYNTHESIS)
    lot = receive(api, "FeCl3·6H2O", "25 g")["code"]
    linker = receive(api, "2-aminoterephthalic acid", "10 g")["code"]
    step = log(
        api,
        SYNTHESIS,
        [used("iron_source", lot, "2.75 g"), used("linker", linker, "0.9 g")],
        {"type": "NH2-MIL-101(Fe)", "quantity": "1.2 g"},
    )
    mof = step["outputs"][0]["code"]
    page = sam.get(f"/ui/items/{mof}").text
    graph = page[page.index("<svg") : page.index("</svg>") + 6]
    root = ET.fromstring(graph)
    links = {a.get("href") for a in root.iter("{http://www.w3.org/2000/svg}a")}
    assert {f"/ui/items/{mof}", f"/ui/items/{lot}", f"/ui/items/{linker}", f"/ui/steps/{step['id']}"} <= links
    history = sam.get(f"/ui/items/{lot}").text
    assert "<code>remaining</code> 25 g → 22.25 g" in history
    assert "{'value'" not in history and "&#39;value&#39;" not in history


def test_compare_groups_of_cells_by_what_they_are_made_from(api, sam, bench):
    cells = make_cells(api, {"bare Li": 2, "MOF@CoPc/Li anode": 2})
    for kind, fade in (("bare Li", 0.3), ("MOF@CoPc/Li anode", 0.02)):
        for cell in cells[kind]:
            assert upload(api, cell, lfp_cycling(cycles=20, fade_per_cycle_pct=fade)).status_code == 201
    page = sam.get("/ui/compare", params={"by": "role:anode", "protocol": "lfp-li-cycling@1"})
    assert page.status_code == 200
    table = page.text[page.text.index('id="groups"') :]
    assert "<strong>Li foil disc</strong>" in table and "<strong>MOF@CoPc/Li anode</strong>" in table
    assert all(code in table for group in cells.values() for code in group)
    plot_src = re.search(r'id="compare-plot" src="([^"]+)"', page.text).group(1).replace("&amp;", "&")
    assert sam.get(plot_src).content.startswith(b"\x89PNG")
    by_hand = sam.get("/ui/compare", params={"cells": ", ".join(cells["bare Li"]), "by": "cell"}).text
    assert all(f"<strong>{code}</strong>" in by_hand for code in cells["bare Li"])
    assert cells["MOF@CoPc/Li anode"][0] not in by_hand
    _is_html_page(sam.get("/ui/compare", params={"by": "colour"}), 422)


def test_every_ui_refusal_is_a_page_saying_what_to_do(app, api, people, sam):
    _is_html_page(sam.get("/ui/items/NOPE-0001"), 404)
    _is_html_page(sam.get("/ui/no/such/page"), 404)
    _is_html_page(sam.get("/ui/tests/seven"), 422)
    _is_html_page(sam.get("/ui/tests/999999"), 404)
    _is_html_page(sam.post("/ui/items/NOPE-0001/tests", data={"csrf": "0" * 64}), 422)
    lot = receive(api, "DMF", "1 L")["code"]
    auditor = logged_in(app, people[Role.auditor])
    page = auditor.get(f"/ui/items/{lot}").text
    assert "upload-test" not in page and "/analyses/new" not in page
    forged = auditor.post(f"/ui/items/{lot}/analyses", data={"csrf": csrf_of(page), "technique": "XRD"})
    _is_html_page(forged, 403)
    # The API still answers problem+json.
    assert api.get("/items/NOPE-0001").headers["content-type"] == "application/problem+json"


def test_the_api_docs_load_nothing_from_elsewhere(app):
    anonymous = browser(app)
    for path in ("/docs", "/redoc"):
        page = anonymous.get(path)
        assert page.status_code == 200
        sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
        assert sources and all(s.startswith("/") for s in sources), sources
        for source in sources:
            if source.endswith((".js", ".css")):
                asset = anonymous.get(source)
                assert asset.status_code == 200 and len(asset.content) > 10_000, source
