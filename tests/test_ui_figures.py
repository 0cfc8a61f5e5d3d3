"""The figures in /ui through the ASGI app: the test-run page draws dQ/dV of a few cycles (first after
formation, middle, last) and lets one choose others; an analysis page with a BioLogic impedance file shows its
Nyquist plot; each image is the API's SVG."""

import re
import xml.etree.ElementTree as ET

import pytest

from clients.cycler_model import lfp_cycling
from schemas import Role
from tests.cycler_files import fixture
from tests.test_cycling_api import bench, make_cells, upload
from tests.test_ui import logged_in

__all__ = ["bench"]  # the autouse fixture publishing the protocols make_cells logs against

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def sam(app, people):
    return logged_in(app, people[Role.scientist])


def _words(content: bytes) -> str:
    return " ".join("".join(t.itertext()) for t in ET.fromstring(content).iter(f"{SVG}text"))


def test_the_test_run_page_draws_dqdv_of_the_first_middle_and_last_cycles_and_lets_one_choose(api, sam):
    cell = make_cells(api, {"bare Li": 1})["bare Li"][0]
    run = upload(api, cell, lfp_cycling(cycles=30), formation_cycles=2).json()
    shown = sam.get(f"/ui/tests/{run['id']}")
    assert shown.status_code == 200, shown.text
    src = re.search(r'id="dqdv-plot" src="([^"]+)"', shown.text)
    assert src is not None and src.group(1) == f"/ui/tests/{run['id']}/dqdv.svg?cycles=3,17,30"
    assert "Cycles 3, 17, 30 (unless chosen: the first complete cycle after formation" in shown.text
    figure = sam.get(src.group(1))
    assert figure.status_code == 200 and figure.headers["content-type"].startswith("image/svg+xml")
    words = _words(figure.content)
    assert "cycle 3 · charge" in words and "cycle 30 · discharge" in words and "dQ/dV / mAh V⁻¹" in words
    # The same figure as the API's.
    api_figure = api.get(f"/tests/{run['id']}/dqdv", params={"cycles": "3,17,30", "format": "svg"})
    assert api_figure.content == figure.content
    for other in ("profiles", "dvdq"):
        assert f'href="/ui/tests/{run["id"]}/{other}.svg?cycles=3,17,30"' in shown.text
        drawn = sam.get(f"/ui/tests/{run['id']}/{other}.svg", params={"cycles": "3,17,30"})
        assert drawn.status_code == 200 and "cycle 17 · charge" in _words(drawn.content)
    assert 'id="choose-cycles"' in shown.text and 'name="cycles"' in shown.text

    chosen = sam.get(f"/ui/tests/{run['id']}", params={"cycles": "1, 10"})
    assert chosen.status_code == 200
    assert f'src="/ui/tests/{run["id"]}/dqdv.svg?cycles=1,10"' in chosen.text
    assert 'value="1, 10"' in chosen.text

    refused = sam.get(f"/ui/tests/{run['id']}", params={"cycles": "99"})
    assert refused.status_code == 422 and refused.headers["content-type"].startswith("text/html")
    assert "has no cycle 99" in refused.text and 'id="dqdv-plot"' in refused.text  # the default figure stays
    assert sam.get(f"/ui/tests/{run['id']}/dqdv.svg", params={"cycles": "99"}).status_code == 422


def test_an_analysis_page_with_an_eis_file_shows_its_nyquist_plot(api, sam):
    cell = make_cells(api, {"bare Li": 1})["bare Li"][0]
    content = fixture("biologic_mpr/mb.issue_223.mpt").read_bytes()
    stored = api.post("/files", files={"file": ("mb.issue_223.mpt", content)}).json()
    analysis = api.post(
        "/analyses",
        json={
            "technique": "EIS",
            "subjects": [cell],
            "title": "impedance after formation",
            "results": [{"name": "R_ohmic", "value": 0.33, "unit": "ohm"}],
            "files": [{"sha256": stored["sha256"], "label": "EC-Lab export"}],
        },
    ).json()
    item_page = sam.get(f"/ui/items/{cell}").text
    assert f'href="/ui/analyses/{analysis["id"]}"' in item_page
    shown = sam.get(f"/ui/analyses/{analysis['id']}")
    assert shown.status_code == 200, shown.text
    assert "impedance after formation" in shown.text and "PEIS (Ns 1) (19 points" in shown.text
    assert f'src="/ui/analyses/{analysis["id"]}/nyquist.svg"' in shown.text
    figure = sam.get(f"/ui/analyses/{analysis['id']}/nyquist.svg")
    assert figure.status_code == 200 and figure.headers["content-type"].startswith("image/svg+xml")
    assert "−Im(Z) / Ω" in _words(figure.content)
    assert figure.content == api.get(f"/analyses/{analysis['id']}/nyquist", params={"format": "svg"}).content
    download = sam.get(f"/ui/analyses/{analysis['id']}/files/{stored['sha256']}")
    assert download.status_code == 200 and download.content == content

    gcpl = fixture("biologic_mpr/gcpl.issue_149.mpt").read_bytes()
    other = api.post("/files", files={"file": ("gcpl.issue_149.mpt", gcpl)}).json()
    cycling = api.post(
        "/analyses",
        json={"technique": "EIS", "subjects": [cell], "files": [{"sha256": other["sha256"]}]},
    ).json()
    page = sam.get(f"/ui/analyses/{cycling['id']}")
    assert page.status_code == 200 and "nyquist-plot" not in page.text
    assert 'id="no-nyquist"' in page.text and "not an impedance spectrum" in page.text
    assert sam.get(f"/ui/analyses/{cycling['id']}/nyquist.svg").status_code == 422
