"""The commands that used to need curl, typed as a user types them (typer's runner), against a real server
on both databases: correcting, voiding, releasing and signing records, steps, notes, users and tokens, test
runs, comparisons, the audit export on stdout, and "did you mean" for a mistyped code."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from rich.console import Console
from typer.testing import CliRunner, Result

from clients.cli import app, output
from clients.client import Client
from clients.cycler_model import lfp_cycling
from schemas import Role
from schemas.analyses import AnalysisIn
from schemas.cycling import TestOptions
from tests.conftest import Person
from tests.lab import ASSEMBLY, publish_bench_over_http

CYCLING = "lfp-li-cycling@1"

# Wide enough that rich never wraps a line the assertions read.
runner = CliRunner(env={"COLUMNS": "200", "NO_COLOR": "1"})


@dataclass
class Lab:
    root: str
    people: dict[Role, Person]

    def cli(self, *args: str, role: Role = Role.scientist, input: str | None = None) -> Result:
        token = self.people[role].token
        return runner.invoke(app, ["--url", self.root, "--token", token, *args], input=input)

    def http(self, role: Role = Role.scientist) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.people[role].token}"}
        return httpx.Client(base_url=f"{self.root}/api/v1", headers=headers, timeout=60)

    def client(self, role: Role = Role.scientist) -> Client:
        return Client(self.root, self.people[role].token)

    def lot(self, type_name: str = "FeCl3·6H2O", quantity: str = "25 g") -> str:
        with self.http() as api:
            made = api.post("/lots", json={"type": type_name, "quantity": quantity})
        assert made.status_code == 201, made.text
        return str(made.json()["code"])

    def cells(self, count: int) -> tuple[int, list[str]]:
        """`count` coin cells assembled in one step from a Li disc lot: (the step's id, their codes)."""
        publish_bench_over_http(f"{self.root}/api/v1", self.people[Role.admin].token, ASSEMBLY)
        disc = self.lot("Li foil disc", "100 count")
        with self.http() as api:
            step = api.post(
                "/steps",
                json={
                    "protocol": ASSEMBLY,
                    "inputs": [{"role": "anode", "item": disc, "amount": f"{count} count"}],
                    "outputs": [{"type": "CR2025 coin cell", "count": count}],
                },
            )
        assert step.status_code == 201, step.text
        return step.json()["id"], [output["code"] for output in step.json()["outputs"]]


@pytest.fixture
def lab(live_server: str, people: dict[Role, Person], monkeypatch: pytest.MonkeyPatch) -> Iterator[Lab]:
    # Wide consoles: rich would wrap a table's cells and a long message where the assertions read them.
    monkeypatch.setattr(output, "console", Console(width=250, color_system=None))
    monkeypatch.setattr(output, "err_console", Console(width=250, color_system=None, stderr=True))
    yield Lab(live_server.removesuffix("/api/v1"), people)


def ok(result: Result) -> str:
    assert result.exit_code == 0, result.output
    return result.output


def refused(result: Result) -> str:
    assert result.exit_code != 0, result.output
    return result.output


# -- items -------------------------------------------------------------------------------------------------


def test_items_correct_reads_the_version_itself_and_a_stale_one_shows_what_changed(lab: Lab) -> None:
    code = lab.lot()
    said = ok(lab.cli("items", "correct", code, "--set", "supplier=Merck", "--set",
                      "prop.purity=99.5 %", "--reason", "supplier misread from the label"))  # fmt: skip
    assert f"Corrected {code}: now version 2" in said
    assert "supplier: ∅ → Merck" in said
    with lab.client() as client:
        item = client.item(code)
    assert item.supplier == "Merck" and item.properties["purity"] == {"value": 99.5, "unit": "%"}

    # Somebody corrected it since the version this user read (1): the command shows that change and asks.
    stale = lab.cli("items", "correct", code, "--set", "supplier_lot=SLBX1234", "--reason",
                    "lot number added from the bottle", "--seen-version", "1", input="y\n")  # fmt: skip
    said = ok(stale)
    assert f"{code} changed since version 1" in said
    assert "supplier: ∅ → Merck" in said  # what the other correction did
    assert f"Corrected {code}: now version 3" in said
    with lab.client() as client:
        item = client.item(code)
    assert (item.version, item.supplier, item.supplier_lot) == (3, "Merck", "SLBX1234")

    declined = lab.cli("items", "correct", code, "--set", "name=Iron chloride", "--reason",
                       "product name from the label", "--seen-version", "2", input="n\n")  # fmt: skip
    assert "nothing was changed" in refused(declined)
    with lab.client() as client:
        assert client.item(code).version == 3

    bad = refused(lab.cli("items", "correct", code, "--set", "colour", "--reason", "no value given here"))
    assert "FIELD=VALUE" in bad
    unknown = refused(lab.cli("items", "correct", code, "--set", "suplier=X", "--reason", "a misspelt field"))
    assert "did you mean supplier?" in unknown


def test_items_void_and_release_and_sign(lab: Lab) -> None:
    code = lab.lot("DMF", "1 L")
    said = ok(lab.cli("items", "void", code, "--reason", "received twice by mistake"))
    assert f"Voided {code}" in said and "received twice by mistake" in said
    with lab.client() as client:
        assert client.item(code).status == "voided"

    # A template whose output waits in quarantine for a reviewer.
    template = {
        "name": "cli-quarantine",
        "title": "A synthesis whose product is reviewed",
        "inputs": [{"role": "iron_source", "types": ["FeCl3·6H2O"], "amount": {"unit": "g"}}],
        "outputs": [{"types": ["NH2-MIL-101(Fe)"], "quarantined": True}],
    }
    with lab.http(Role.admin) as admin:
        assert admin.post("/templates", json=template).status_code == 201
    iron = lab.lot()
    with lab.http() as api:
        step = api.post(
            "/steps",
            json={
                "protocol": "cli-quarantine@1",
                "inputs": [{"role": "iron_source", "item": iron, "amount": "2.75 g"}],
                "outputs": [{"type": "NH2-MIL-101(Fe)"}],
            },
        ).json()
    batch = step["outputs"][0]["code"]
    said = ok(lab.cli("items", "release", batch, "--note", "XRD matches the reference", role=Role.reviewer))
    assert f"Released {batch}" in said
    with lab.client() as client:
        assert client.item(batch).status == "released"

    signed = ok(lab.cli("sign", batch, "--meaning", "reviewed", role=Role.reviewer,
                        input=f"{lab.people[Role.reviewer].password}\n"))  # fmt: skip
    assert f"Signed item:{batch} v" in signed and "reviewed" in signed


def test_a_mistyped_code_gets_did_you_mean(lab: Lab) -> None:
    _, (first, *_) = lab.cells(2)
    typo = first[:-3] + "O" + first[-2:]  # CC-0001 → CC-0O01
    said = refused(lab.cli("items", "show", typo))
    assert f"no item {typo} — did you mean {first}?" in said
    assert f"did you mean {first}?" in refused(lab.cli("trace", typo))
    assert "did you mean coating-solution?" in refused(lab.cli("step", "new", "coating-soluton"))


def test_help_shows_json_as_a_plain_flag_and_a_table_counts_in_words(lab: Lab) -> None:
    shown = ok(runner.invoke(app, ["items", "list", "--help"], env={"COLUMNS": "200"}))
    assert "--json" in shown and "<bool>" not in shown
    lab.lot()
    assert "1 item" in ok(lab.cli("items", "list")) and "1 items" not in ok(lab.cli("items", "list"))
    assert json.loads(ok(lab.cli("items", "list", "--json")))["items"][0]["type"] == "FeCl3·6H2O"


# -- steps and notes -----------------------------------------------------------------------------------------


def test_step_show_list_and_void(lab: Lab) -> None:
    step_id, cells = lab.cells(3)
    listed = ok(lab.cli("step", "list", "--protocol", ASSEMBLY))
    assert f"#{step_id}" in listed and ASSEMBLY in listed and "1 step" in listed
    shown = ok(lab.cli("step", "show", str(step_id)))
    assert ASSEMBLY in shown and all(cell in shown for cell in cells) and "3 count" in shown
    assert json.loads(ok(lab.cli("step", "show", str(step_id), "--json")))["id"] == step_id

    said = ok(lab.cli("step", "void", str(step_id), "--reason", "logged against the wrong lot"))
    assert f"Voided step #{step_id}" in said
    with lab.client() as client:
        assert client.step(step_id).status == "voided"
    assert "no step 999999" in refused(lab.cli("step", "show", "999999"))


def test_note_list_and_show(lab: Lab) -> None:
    code = lab.lot()
    ok(lab.cli("note", "add", "--link", code, "--tag", "colour", "# Powder darker than usual\nRust-brown."))
    ok(lab.cli("note", "add", "# Glovebox O2 at 0.8 ppm"))
    listed = ok(lab.cli("note", "list"))
    assert "2 entries" in listed and "Powder darker than usual" in listed and "Glovebox O2" in listed
    about = ok(lab.cli("note", "list", "--link", code))
    assert "1 entry" in about and "Glovebox" not in about
    entry_id = json.loads(ok(lab.cli("note", "list", "--link", code, "--json")))["items"][0]["id"]
    shown = ok(lab.cli("note", "show", str(entry_id)))
    assert "Powder darker than usual" in shown and "Rust-brown." in shown and f"item:{code}" in shown


# -- users and tokens ----------------------------------------------------------------------------------------


def test_user_add_then_token_list_and_revoke(lab: Lab) -> None:
    said = ok(lab.cli("user", "add", "nora", "--role", "scientist", "--full-name", "Nora Lind",
                      input="nora-secret-pw\nnora-secret-pw\n", role=Role.admin))  # fmt: skip
    assert "Added user nora (scientist)" in said
    assert refused(lab.cli("user", "add", "nina", "--role", "scientist", input="a\na\n"))  # not an admin

    with Client(lab.root) as anonymous:
        token = anonymous.create_token("nora", "nora-secret-pw", name="bench-pc").token
    nora = runner.invoke(app, ["--url", lab.root, "--token", token, "token", "list"])
    listed = ok(nora)
    assert "bench-pc" in listed and "1 token" in listed and "live" in listed
    with Client(lab.root, token) as client:
        token_id = client.tokens()[0].id
    ok(runner.invoke(app, ["--url", lab.root, "--token", token, "token", "revoke", str(token_id)]))
    with Client(lab.root, token) as client, pytest.raises(Exception, match="401"):
        client.me()


# -- test runs and comparisons -------------------------------------------------------------------------------


def test_test_show_cycles_csv_plot_void_and_compare_chosen_cells(lab: Lab, tmp_path: Path) -> None:
    _, (first, second, third) = lab.cells(3)
    runs = {}
    with lab.client() as client:
        for cell in (first, second):
            made, options = lfp_cycling(cycles=20), TestOptions.model_validate({"active_mass": "12.5 mg"})
            runs[cell] = client.upload_test(cell, "run.csv", io.BytesIO(made), CYCLING, options).id
    run = runs[first]
    shown = ok(lab.cli("test", "show", str(run)))
    assert f"Test {run}" in shown and first in shown and "mAh/g" in shown and "99999" not in shown

    table = ok(lab.cli("test", "cycles", str(run)))
    assert "cycle" in table and "CE %" in table
    text = ok(lab.cli("test", "cycles", str(run), "--csv"))
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows and rows[0]["cycle"] == "1"

    plot = tmp_path / "run.svg"
    said = ok(lab.cli("test", "plot", str(run), "-o", str(plot)))
    assert plot.read_text().lstrip().startswith(("<?xml", "<svg")) and str(plot) in said

    compared = ok(lab.cli("compare", "--cell", first, "--cell", second))
    assert first in compared and second in compared and "2 cells" in compared
    only = json.loads(ok(lab.cli("compare", "--cell", first, "--json")))
    assert [group["group"] for group in only["groups"]] == [first]

    ok(lab.cli("test", "void", str(runs[second]), "--reason", "wrong cell on the channel"))
    after = json.loads(ok(lab.cli("compare", "--cell", first, "--cell", second, "--json")))
    assert [group["group"] for group in after["groups"]] == [first]
    assert "did you mean" in refused(lab.cli("compare", "--cell", third[:-1] + "X"))


def test_test_dqdv_dvdq_profiles_and_analysis_nyquist_as_tables_sheets_and_figures(
    lab: Lab, tmp_path: Path
) -> None:
    from tests.cycler_files import fixture
    from tests.test_cycling_dqdv import MAPPING, _two_plateau_file

    _, (cell,) = lab.cells(1)
    with lab.client() as client:
        options = TestOptions.model_validate({**MAPPING, "active_mass": "12.5 mg"})
        run = client.upload_test(cell, "plateaus.csv", io.BytesIO(_two_plateau_file()), CYCLING, options).id
    table = ok(lab.cli("test", "dqdv", str(run), "--cycles", "1,2"))
    assert "5 mV grid" in table and "strongest peak at V" in table
    assert table.count("charge") >= 4 and ("3.45" in table or "3.95" in table)
    sheet = ok(lab.cli("test", "dqdv", str(run), "-c", "2", "--format", "csv"))
    assert sheet.startswith("# capacity integrated") and "cycle,direction,voltage_V,dqdv_mAh_per_V" in sheet
    figure = tmp_path / "dqdv.svg"
    said = ok(lab.cli("test", "dqdv", str(run), "--cycles", "1,2", "-o", str(figure)))
    assert "cycle 2 · discharge" in figure.read_text() and str(figure) in said
    png = tmp_path / "dvdq.png"
    ok(lab.cli("test", "dvdq", str(run), "-c", "1", "-o", str(png), "--points", "300"))
    assert png.read_bytes().startswith(b"\x89PNG")
    assert "300 capacity points" in ok(lab.cli("test", "dvdq", str(run), "-c", "1", "--points", "300"))
    profiles = json.loads(ok(lab.cli("test", "profiles", str(run), "-c", "2", "--json")))
    assert [p["direction"] for p in profiles["profiles"]] == ["charge", "discharge"]
    assert "capacity mAh/g" in ok(lab.cli("test", "profiles", str(run), "-c", "2"))

    assert "whole cycle numbers" in refused(lab.cli("test", "dqdv", str(run), "--cycles", "one"))
    assert "needs a file" in refused(lab.cli("test", "dvdq", str(run), "--format", "png"))
    assert "choose csv, png or svg" in refused(lab.cli("test", "profiles", str(run), "--format", "gif"))
    assert "name it .csv, .png or .svg" in refused(
        lab.cli("test", "dqdv", str(run), "-o", str(tmp_path / "x"))
    )
    assert "has no cycle 9" in refused(lab.cli("test", "dqdv", str(run), "--cycles", "9"))
    assert "--cycles" in ok(lab.cli("test", "dqdv", "--help"))

    with lab.client() as client:
        content = fixture("biologic_mpr/mb.issue_223.mpt").read_bytes()
        stored = client.upload_file("mb.issue_223.mpt", content)
        body = {"technique": "EIS", "subjects": [cell], "files": [{"sha256": stored.sha256}]}
        analysis = client.add_analysis(AnalysisIn.model_validate(body)).id
    spectra = ok(lab.cli("analysis", "nyquist", str(analysis)))
    assert "PEIS (Ns 1)" in spectra and "GEIS (Ns 7)" in spectra and "nothing is fitted" in spectra
    nyquist = tmp_path / "nyquist.svg"
    ok(lab.cli("analysis", "nyquist", str(analysis), "-o", str(nyquist)))
    assert "Re(Z) / Ω" in nyquist.read_text()


def test_compare_by_what_cells_descend_from(lab: Lab) -> None:
    _, (first, second) = lab.cells(2)
    with lab.client() as client:
        for cell in (first, second):
            client.upload_test(cell, "run.csv", io.BytesIO(lfp_cycling(cycles=20)), CYCLING, TestOptions())
        disc = client.item(first).produced_by
        assert disc is not None
        source = client.step(disc).inputs[0].item.code
    compared = ok(lab.cli("compare", "--from", source))
    assert first in compared and second in compared and f"cells made from {source}" in compared


# -- the audit trail -----------------------------------------------------------------------------------------


def test_audit_export_streams_to_stdout_and_verify_says_what_is_wrong(lab: Lab, tmp_path: Path) -> None:
    lab.lot()
    exported = runner.invoke(
        app, ["--url", lab.root, "--token", lab.people[Role.auditor].token, "audit", "export", "-o", "-"]
    )
    assert exported.exit_code == 0, exported.output
    lines = exported.stdout.splitlines()
    assert lines and all(line.startswith("{") for line in lines)  # nothing but the export on stdout
    assert json.loads(lines[-1])["manifest"]["count"] == len(lines) - 1
    trail = tmp_path / "trail.jsonl"
    trail.write_text(exported.stdout)
    assert "chain intact" in ok(lab.cli("audit", "verify", str(trail), role=Role.auditor))

    to_file = tmp_path / "kept.jsonl"
    said = runner.invoke(app, ["--url", lab.root, "--token", lab.people[Role.auditor].token,
                               "audit", "export", "-o", str(to_file)])  # fmt: skip
    assert said.exit_code == 0 and said.stdout == "" and str(to_file) in said.stderr
    assert not Path("cellprov-audit.jsonl").exists()

    message = tmp_path / "message.jsonl"
    message.write_text("Wrote cellprov-audit.jsonl (1,234 bytes). Check it with `cellprov audit verify`.\n")
    plain = refused(lab.cli("audit", "verify", str(message), role=Role.auditor))
    assert "is not a cellprov audit export" in plain and "its first line" in plain
    assert "validation error" not in plain and "pydantic" not in plain
    other = tmp_path / "other.jsonl"
    other.write_text('{"hello": "world"}\n')
    plain = refused(lab.cli("audit", "verify", str(other), role=Role.auditor))
    assert "not an audit event: it has no seq" in plain and "validation error" not in plain


def test_units_and_numbers_read_as_people_write_them() -> None:
    from clients.cli.output import count, quantity_text, unit_text

    assert unit_text("cm**2") == "cm²" and unit_text("mg/cm**2") == "mg/cm²" and unit_text("m**-1") == "m⁻¹"
    assert quantity_text({"value": 53.22, "unit": "cm**2"}) == "53.22 cm²"
    assert quantity_text({"value": 147.79999999999998, "unit": "mAh/g"}) == "147.8 mAh/g"
    assert count(1, "item") == "1 item" and count(2, "entry", "entries") == "2 entries"
    assert count(0, "cell") == "0 cells"
