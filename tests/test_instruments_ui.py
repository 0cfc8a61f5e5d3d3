"""The instrument pages of /ui through the ASGI app: the channel board and an instrument's page."""

from schemas import Role
from tests.test_instruments import GLOVEBOX, _calibration
from tests.test_instruments_steps import GLOVE_ASSEMBLY, _assemble, _assembly_template
from tests.test_instruments_steps import lab as lab  # the fixture, used by name
from tests.test_ui import logged_in


def test_the_board_and_an_instrument_page_show_cells_calibrations_and_impact(app, api, admin, people, lab):
    _assembly_template(admin, demands=False)
    step = _assemble(api, lab["lot"], f"{GLOVE_ASSEMBLY}@1", [{"role": "glovebox", "instrument": "GB-2"}])
    cell = step.json()["outputs"][0]["code"]
    api.post("/instruments/NW1/calibrations", json=_calibration(10, 365))
    assert (
        api.post("/channels/NW1-3/load", json={"cell": cell, "protocol": "lfp-li-cycling@1"}).status_code
        == 201
    )

    browser = logged_in(app, people[Role.auditor])
    board = browser.get("/ui/channels")
    assert board.status_code == 200, board.text
    html = board.text
    assert "1 of 8 channels hold a cell" in html
    assert '<td>NW1-3</td><td><a href="/ui/instruments/NW1">NW1</a></td>' in html
    assert f'href="/ui/items/{cell}"' in html and "lfp-li-cycling@1" in html
    assert 'href="/ui/instruments/GB-2"' in html  # the gloveboxes are listed under the cyclers
    free = browser.get("/ui/channels", params={"status": "free"}).text
    assert f'href="/ui/items/{cell}"' not in free and "NW1-4" in free

    glovebox = browser.get("/ui/instruments/GB-2")
    assert glovebox.status_code == 200
    page = glovebox.text
    assert GLOVEBOX["make"] in page and "overdue" in page
    assert 'id="impact"' in page and f'href="/ui/steps/{step.json()["id"]}"' in page and "glovebox" in page
    cycler = browser.get("/ui/instruments/NW1").text
    assert "in calibration" in cycler and f'href="/ui/items/{cell}"' in cycler
    assert "Nothing used NW1 while its calibration was due, overdue or never done." in cycler

    missing = browser.get("/ui/instruments/NOPE")
    assert missing.status_code == 404 and "no instrument with code" in missing.text
    bad = browser.get("/ui/channels", params={"status": "broken"})
    assert 400 <= bad.status_code < 500
