"""An EIS analysis with a BioLogic file gives its Nyquist plot (−Im(Z) against Re(Z), nothing fitted): the
real Modulo Bat export in the fixtures (PEIS and GEIS sequences), and a generated single-technique PEIS export
of a known circuit; a file that is not an impedance spectrum is a 422."""

import csv
import io
import math
import xml.etree.ElementTree as ET

import pytest

from tests.cycler_files import fixture
from tests.test_cycling_api import bench, make_cells

__all__ = ["bench"]  # the autouse fixture publishing the protocols make_cells logs against

MODULO_BAT = "biologic_mpr/mb.issue_223.mpt"  # PEIS, GEIS, PEIS, GEIS of 19 points each (SOURCES.md)
GCPL = "biologic_mpr/gcpl.issue_149.mpt"
R0, RCT, C = 10.0, 50.0, 10e-6  # ohm, ohm, farad: a Randles cell without diffusion


def _randles(frequency: float) -> complex:
    omega = 2 * math.pi * frequency
    return R0 + RCT / (1 + 1j * omega * RCT * C)


def _peis_mpt() -> bytes:
    """A single-technique PEIS text export of the Randles cell, 100 kHz to 0.1 Hz at 10 points per decade.

    The layout is EC-Lab's own for PEIS (v11.50, VMP-300), as a PEIS .mpt sample in jdhuang-csm/hybrid-drt
    `tests/test_dataload_reader_files.py` (commit ab91dd3c) shows it: "EC-Lab ASCII FILE", "Nb header lines",
    the technique's name on line 4, `key : value` lines, the settings table in 20-character columns, "Number
    of loops", then tab-separated columns `freq/Hz, Re(Z)/Ohm, -Im(Z)/Ohm, |Z|/Ohm, Phase(Z)/deg, time/s,
    <Ewe>/V, <I>/mA, cycle number, Ns` with a trailing tab. EC-Lab writes decimal commas in European locales.
    """
    settings = [
        ("Mode", "Single sine"),
        ("E (V)", "0.0000"),
        ("vs.", "Eoc"),
        ("fi", "100.000"),
        ("unit fi", "kHz"),
        ("ff", "100.000"),
        ("unit ff", "mHz"),
        ("Nd", "10"),
        ("Points", "per decade"),
        ("Va (mV)", "10.0"),
    ]
    above = [
        "Potentio Electrochemical Impedance Spectroscopy",
        "",
        "Run on channel : 6 (SN 6269)",
        "Electrode connection : standard",
        "Device : VMP-300 (SN 0263)",
        "EC-Lab for windows v11.50 (software)",
        "Cycle Definition : Charge/Discharge alternance",
        *(f"{key:<20}{value:<20}" for key, value in settings),
        "",
        "Number of loops : 1",
        "Loop 0 from point number 0 to 60",
        "",
    ]
    columns = (
        "freq/Hz\tRe(Z)/Ohm\t-Im(Z)/Ohm\t|Z|/Ohm\tPhase(Z)/deg\ttime/s\t<Ewe>/V\t<I>/mA\tcycle number\tNs\t"
    )
    header = ["EC-Lab ASCII FILE", f"Nb header lines : {len(above) + 4:<26}", "", *above, columns]
    rows = []
    for k in range(61):
        frequency = 1e5 * 10 ** (-k / 10)
        z = _randles(frequency)
        values = [frequency, z.real, -z.imag, abs(z), math.degrees(math.atan2(z.imag, z.real)), 2.0 * k]
        rows.append("\t".join(f"{v:.7E}" for v in values) + "\t3.6980000E+000\t1.0000000E-003\t1\t0\t")
    return ("\n".join(header + rows) + "\n").encode("cp1252")


def _with_comma(content: bytes) -> bytes:
    """The data rows with decimal commas, as a European EC-Lab writes them."""
    text = content.decode("cp1252")
    head, _, body = text.partition("\t\n")
    return (head + "\t\n" + body.replace(".", ",")).encode("cp1252")


def _analysis(api, cell: str, name: str, content: bytes, technique: str = "EIS") -> dict:
    stored = api.post("/files", files={"file": (name, content)})
    assert stored.status_code == 201, stored.text
    created = api.post(
        "/analyses",
        json={
            "technique": technique,
            "subjects": [cell],
            "title": name,
            "files": [{"sha256": stored.json()["sha256"], "label": name}],
        },
    )
    assert created.status_code == 201, created.text
    return created.json()


@pytest.fixture
def cell(api):
    return make_cells(api, {"bare Li": 1})["bare Li"][0]


def test_the_nyquist_plot_of_a_real_modulo_bat_export_names_each_spectrum(api, cell):
    analysis = _analysis(api, cell, "mb.issue_223.mpt", fixture(MODULO_BAT).read_bytes())
    answer = api.get(f"/analyses/{analysis['id']}/nyquist")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert "nothing is fitted" in body["method"] and body["file"]["name"] == "mb.issue_223.mpt"
    assert [(s["label"], s["technique"], s["sequence"]) for s in body["spectra"]] == [
        ("PEIS (Ns 1)", "PEIS", 1),
        ("GEIS (Ns 3)", "GEIS", 3),
        ("PEIS (Ns 5)", "PEIS", 5),
        ("GEIS (Ns 7)", "GEIS", 7),
    ]
    first = body["spectra"][0]
    assert len(first["frequency_Hz"]) == 19 and first["frequency_Hz"][0] == pytest.approx(1000.3202)
    # The first PEIS point of the file, as EC-Lab wrote it: 1000.3202 Hz, 0.32711428 Ω, 0.108958 Ω.
    assert (first["re_Z_ohm"][0], first["minus_im_Z_ohm"][0]) == pytest.approx((0.32711428, 0.108958))
    assert first["frequency_Hz"][-1] == pytest.approx(1.0000639)

    sheet = api.get(f"/analyses/{analysis['id']}/nyquist", params={"format": "csv"})
    assert sheet.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(sheet.text.split("\n", 1)[1])))
    assert len(rows) == 76 and rows[0]["spectrum"] == "PEIS (Ns 1)" and rows[-1]["technique"] == "GEIS"

    png = api.get(f"/analyses/{analysis['id']}/nyquist", params={"format": "png"})
    assert png.headers["content-type"] == "image/png" and png.content.startswith(b"\x89PNG\r\n\x1a\n")
    svg = api.get(f"/analyses/{analysis['id']}/nyquist", params={"format": "svg"})
    assert svg.headers["content-type"].startswith("image/svg+xml")
    root = ET.fromstring(svg.content)
    words = " ".join("".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}text"))
    for text in ("PEIS (Ns 1)", "GEIS (Ns 7)", "Re(Z) / Ω", "−Im(Z) / Ω"):
        assert text in words


@pytest.mark.parametrize("locale", ["point", "comma"])
def test_a_peis_export_of_a_known_circuit_gives_its_semicircle(api, cell, locale, tmp_path):
    content = _peis_mpt()
    if locale == "comma":
        content = _with_comma(content)
    analysis = _analysis(api, cell, "randles_PEIS_C06.mpt", content)
    body = api.get(f"/analyses/{analysis['id']}/nyquist").json()
    (spectrum,) = body["spectra"]
    assert (spectrum["label"], spectrum["technique"]) == ("PEIS", "PEIS")
    assert len(spectrum["frequency_Hz"]) == 61
    for f, re_z, minus_im in zip(
        spectrum["frequency_Hz"], spectrum["re_Z_ohm"], spectrum["minus_im_Z_ohm"], strict=True
    ):
        z = _randles(f)
        assert (re_z, minus_im) == pytest.approx((z.real, -z.imag), rel=1e-6)
    # The semicircle runs from R0 to R0 + Rct, its top at Rct / 2 where ω·Rct·C = 1.
    assert min(spectrum["re_Z_ohm"]) == pytest.approx(R0, abs=0.05)
    assert max(spectrum["re_Z_ohm"]) == pytest.approx(R0 + RCT, rel=1e-3)
    assert max(spectrum["minus_im_Z_ohm"]) == pytest.approx(RCT / 2, rel=0.01)
    svg = api.get(f"/analyses/{analysis['id']}/nyquist", params={"format": "svg"})
    assert svg.status_code == 200 and b"PEIS" in svg.content


def test_a_file_that_is_not_an_impedance_spectrum_is_a_422_saying_what_it_is(api, cell):
    cycling = _analysis(api, cell, "gcpl.issue_149.mpt", fixture(GCPL).read_bytes())
    for params in ({}, {"format": "png"}, {"format": "csv"}):
        refused = api.get(f"/analyses/{cycling['id']}/nyquist", params=params)
        assert refused.status_code == 422, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        problem = refused.json()
        assert "Galvanostatic Cycling with Potential Limitation" in problem["detail"]
        assert "not an impedance spectrum" in problem["detail"]
    text = _analysis(api, cell, "notes.txt", b"Rct = 42 ohm\n")
    refused = api.get(f"/analyses/{text['id']}/nyquist")
    assert refused.status_code == 422 and "not an EC-Lab file" in refused.json()["detail"]
    bare = api.post("/analyses", json={"technique": "EIS", "subjects": [cell]}).json()
    refused = api.get(f"/analyses/{bare['id']}/nyquist")
    assert refused.status_code == 422 and "has no file" in refused.json()["detail"]
    good = _analysis(api, cell, "randles.mpt", _peis_mpt())
    unknown = api.get(f"/analyses/{good['id']}/nyquist", params={"file": "other.mpt"})
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["pointer"] == "query:file"
    assert api.get(f"/analyses/{good['id']}/nyquist", params={"file": "randles.mpt"}).status_code == 200
    assert api.get(f"/analyses/{good['id']}/nyquist", params={"format": "gif"}).status_code == 422
    assert api.get("/analyses/424242/nyquist").status_code == 404


def test_an_mpr_is_read_through_the_optional_galvani_extra_or_refused_saying_so(api, cell):
    analysis = _analysis(api, cell, "mb.issue_223.mpr", fixture("biologic_mpr/mb.issue_223.mpr").read_bytes())
    refused = api.get(f"/analyses/{analysis['id']}/nyquist")
    assert refused.status_code == 422, refused.text
    detail = refused.json()["detail"]
    # galvani 0.5 cannot decode this file's column 112 (SOURCES.md); without galvani the extra is named.
    assert "galvani" in detail and ".mpt" in detail
