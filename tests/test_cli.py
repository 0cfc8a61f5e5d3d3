"""The `cellprov` command line against a real server (`cellprov-server serve` in a subprocess, new SQLite)."""

from __future__ import annotations

import json
import os
import queue
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner, Result

from clients import cli
from clients.cli import output
from service import commands

REPO = Path(__file__).resolve().parents[1]
STARTUP_TIMEOUT = 120.0


@dataclass
class Server:
    url: str
    token: str
    first_cell: str
    log: Path
    password: str = ""
    banner: str = ""  # what `cellprov-server serve` printed up to the worked example's hint


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _server_env(tmp: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("CELLPROV_")}
    env.update(
        CELLPROV_DATABASE_URL=f"sqlite:///{tmp / 'cellprov.db'}",
        CELLPROV_FILES_DIR=str(tmp / "files"),
        CELLPROV_CONFIG=str(tmp / "no-config.toml"),
        PYTHONPATH=str(REPO),
        PYTHONUNBUFFERED="1",
        COLUMNS="200",
    )
    return env


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`cellprov-server serve` on an empty database: makes the admin, prints the token, loads the example."""
    tmp = tmp_path_factory.mktemp("cli-server")
    port = _free_port()
    log = tmp / "server.log"
    with log.open("w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "service.commands", "serve", "--port", str(port)],
            cwd=tmp,
            env=_server_env(tmp),
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
    lines: queue.Queue[str] = queue.Queue()

    def read_stdout() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)
        lines.put("")  # the process ended

    threading.Thread(target=read_stdout, daemon=True).start()
    seen: list[str] = []
    try:
        while True:
            try:
                line = lines.get(timeout=STARTUP_TIMEOUT)
            except queue.Empty:
                pytest.fail(
                    f"no example hint from `cellprov-server serve`:\n{''.join(seen)}\n{log.read_text()}"
                )
            if not line:
                pytest.fail(f"`cellprov-server serve` ended early:\n{''.join(seen)}\n{log.read_text()}")
            seen.append(line)
            if hint := re.search(r"try: cellprov trace (\S+)", line):
                break
        banner = "".join(seen)
        token = re.search(r"export CELLPROV_TOKEN=(\S+)", banner)
        assert token, "the admin token was not printed:\n" + banner
        password = re.search(r"password: (\S+)", banner)
        assert password, "the admin password was not printed:\n" + banner
        yield Server(
            url=f"http://127.0.0.1:{port}",
            token=token.group(1),
            first_cell=hint.group(1),
            log=log,
            password=password.group(1),
            banner=banner,
        )
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    # Tables and trees wrap at the terminal width; make it wide so an item code is never split in two.
    monkeypatch.setattr(output, "console", Console(width=200, color_system=None))
    monkeypatch.setattr(output, "err_console", Console(width=200, color_system=None, stderr=True))
    for key in ("CELLPROV_URL", "CELLPROV_TOKEN"):
        monkeypatch.delenv(key, raising=False)


def cellprov(server: Server, *args: str, input: str | None = None, token: bool = True) -> Result:
    options = ["--url", server.url] + (["--token", server.token] if token else [])
    return CliRunner().invoke(cli.app, [*options, *args], input=input)


def ok(result: Result) -> str:
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.stdout


def cells_by_anode(server: Server) -> dict[str, set[str]]:
    page = json.loads(ok(cellprov(server, "--json", "items", "list", "--kind", "cell", "--all")))
    grouped: dict[str, set[str]] = {}
    for item in page["items"]:
        anode = re.sub(r"^LFP\|\|(.*) #\d+$", r"\1", item["name"])
        grouped.setdefault(anode, set()).add(item["code"])
    return grouped


def test_the_start_banner_says_where_the_server_is_and_how_to_log_in(server: Server) -> None:
    banner = server.banner
    assert f"cellprov serves {server.url}" in banner
    assert "source .venv/bin/activate" in banner
    assert f"cellprov login --url {server.url}" in banner
    assert f"{server.url}/ui" in banner
    assert "password logs into the browser" in banner


def test_serve_loads_the_worked_example_and_trace_reaches_the_fecl3_lot(server: Server) -> None:
    out = ok(cellprov(server, "trace", server.first_cell))
    assert out.splitlines()[0].startswith(server.first_cell)
    for code in ("FECL-0001", "ATA-0001", "COPC-0001", "MOF-0001", "MCP-0001", "LFP-0001", "CAT-0001"):
        assert code in out
    assert "iron_source in nh2-mil-101-fe-hydrothermal@1" in out
    # DMF went into the MOF synthesis (as solvent and wash solvent, one line) and into the impregnation.
    assert "solvent, wash_solvent" in out
    # This cell's MOF batch came only through the MOF@CoPc batch, so the FeCl3 lot appears once.
    assert out.count("FECL-0001") == 1


def test_trace_down_from_the_fecl3_lot_lists_exactly_the_coated_anode_cells(server: Server) -> None:
    lineage = json.loads(ok(cellprov(server, "trace", "--down", "FECL-0001", "--kind", "cell", "--json")))
    cells = {node["code"] for node in lineage["nodes"] if node["kind"] == "cell"}
    grouped = cells_by_anode(server)
    assert cells == grouped["MOF@CoPc/Li"] | grouped["MOF/Li"]
    assert not cells & grouped["bare Li"]
    table = ok(cellprov(server, "trace", "--down", "FECL-0001", "--kind", "cell"))
    assert all(code in table for code in cells)


def test_trace_as_mermaid_and_dot(server: Server) -> None:
    mermaid = ok(cellprov(server, "trace", server.first_cell, "--format", "mermaid"))
    dot = ok(cellprov(server, "trace", server.first_cell, "--format", "dot"))
    assert "FECL-0001" in mermaid
    assert "FECL-0001" in dot and "digraph" in dot


def test_a_diamond_is_expanded_once(server: Server) -> None:
    # Downstream of the MOF batch, MOF@CoPc and the plain-MOF coating solution both lead to cells; upstream
    # of the MOF@CoPc batch the DMF lot is reached twice (synthesis and impregnation) but is a leaf.
    out = ok(cellprov(server, "trace", "--down", "DMF-0001"))
    assert "(see above)" in out
    assert out.count("MCP-0001") == 2


def test_origin_names_the_nearest_lot_of_each_type(server: Server) -> None:
    out = ok(cellprov(server, "origin", server.first_cell))
    assert "FeCl3·6H2O" in out and "FECL-0001" in out
    assert "MOF@CoPc/Li anode" in out


def test_receive_a_lot_log_a_step_and_read_the_history(server: Server) -> None:
    received = cellprov(
        server, "lot", "add", "THF", "250 mL", "--supplier", "Sigma-Aldrich", "--supplier-lot", "SHBX1234",
        "--received-on", "2025-03-03", "--prop", "purity=99.9 percent", "--prop", "inhibitor=BHT",
    )  # fmt: skip
    out = ok(received)
    code = re.search(r"Received (THF-\d{4})", out)
    assert code, out
    thf = code.group(1)

    shown = ok(cellprov(server, "items", "show", thf))
    assert "250 mL" in shown and "Sigma-Aldrich" in shown and "SHBX1234" in shown and "99.9 %" in shown

    step = f"""
protocol: coating-solution@1
parameters: {{duration: 4 h}}
inputs:
  - {{role: material, item: MOF-0001, amount: 60 mg}}
  - {{role: solvent, item: {thf}, amount: 1.64 mL}}
outputs:
  - {{type: coating solution, quantity: 1.64 mL, name: second MOF coating}}
"""
    logged = ok(cellprov(server, "step", "log", "-", input=step))
    assert re.search(r"Logged step #\d+ \(coating-solution@1\)", logged)
    assert re.search(r"made SOL-\d{4}", logged)

    after = json.loads(ok(cellprov(server, "items", "show", thf, "--json")))
    assert after["remaining"]["value"] == pytest.approx(248.36)
    history = ok(cellprov(server, "items", "history", thf))
    assert "coating-solution@1" in history


def test_items_list_filters_by_type(server: Server) -> None:
    out = ok(cellprov(server, "items", "list", "--type", "FeCl3·6H2O"))
    assert "FECL-0001" in out and "DMF-0001" not in out
    cells = json.loads(
        ok(cellprov(server, "items", "list", "--kind", "cell", "--limit", "2", "--all", "--json"))
    )
    assert len(cells["items"]) == 6 and cells["next_cursor"] is None


def test_server_problems_are_listed_and_exit_1(server: Server) -> None:
    missing = cellprov(server, "items", "show", "NOPE-9999")
    assert missing.exit_code == 1 and "404" in missing.stderr

    wrong_unit = """{"protocol": "coating-solution@1",
      "inputs": [{"role": "material", "item": "MOF-0001", "amount": {"value": 60, "unit": "mL"}}],
      "outputs": [{"type": "coating solution"}]}"""
    refused = cellprov(server, "step", "log", "-", input=wrong_unit)
    assert refused.exit_code == 1
    assert "/inputs/0/amount/unit" in refused.stderr

    invalid = cellprov(server, "step", "log", "-", input="protocol: no version\noutputs: []\n")
    assert invalid.exit_code == 1
    assert "/protocol" in invalid.stderr and "/outputs" in invalid.stderr


def test_without_a_token_the_cli_says_how_to_get_one(server: Server) -> None:
    result = cellprov(server, "items", "list", token=False)
    assert result.exit_code == 1
    assert "401" in result.stderr and "cellprov login" in result.stderr


def test_connection_refused_names_the_url_and_how_to_start_a_server() -> None:
    url = f"http://127.0.0.1:{_free_port()}"
    result = CliRunner().invoke(cli.app, ["--url", url, "items", "list"])
    assert result.exit_code == 1
    assert url in result.stderr and "make run" in result.stderr


def test_init_creates_the_admin_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CELLPROV_DATABASE_URL", f"sqlite:///{tmp_path / 'init.db'}")
    monkeypatch.setenv("CELLPROV_FILES_DIR", str(tmp_path / "files"))
    first = CliRunner().invoke(commands.app, ["init"])
    assert first.exit_code == 0, first.output
    assert "export CELLPROV_TOKEN=" in first.stdout
    second = CliRunner().invoke(commands.app, ["init"])
    assert second.exit_code == 0, second.output
    assert "already exists" in second.stdout and "CELLPROV_TOKEN=" not in second.stdout


def test_compare_across_anode_kinds_from_the_cli(server: Server, tmp_path: Path) -> None:
    out = ok(cellprov(server, "compare", "--by", "role:anode", "--protocol", "lfp-li-cycling@1"))
    for group in ("Li foil disc", "MOF/Li anode", "MOF@CoPc/Li anode"):
        assert group in out
    comparison = json.loads(ok(cellprov(server, "--json", "compare", "--by", "role:anode")))
    fade = {g["group"]: g["mean"]["fade_per_cycle"] for g in comparison["groups"]}
    assert fade["MOF@CoPc/Li anode"] < fade["Li foil disc"]
    plot = tmp_path / "compare.png"
    ok(cellprov(server, "compare", "--plot", str(plot)))
    assert plot.read_bytes().startswith(b"\x89PNG")


def test_compare_cohorts_lists_what_differs_upstream(server: Server) -> None:
    grouped = cells_by_anode(server)
    copc, bare = min(grouped["MOF@CoPc/Li"]), min(grouped["bare Li"])
    cohorts = ["--cohort", f"copc:descends_from={copc}", "--cohort", f"bare:descends_from={bare}"]
    out = ok(cellprov(server, "compare", *cohorts))
    assert "upstream difference" in out and "copc" in out and "bare" in out
    comparison = json.loads(ok(cellprov(server, "--json", "compare", *cohorts)))
    assert {g["group"] for g in comparison["groups"]} == {"copc", "bare"}
    # The two cells were built on different anodes: the anode items differ between the cohorts.
    differing = {row["type"] for row in comparison["upstream_differences"]["items"]}
    assert differing
    refused = cellprov(server, "compare", "--cohort", "no-colon-here")
    assert refused.exit_code == 1


def test_upload_a_test_and_show_it_with_a_plot(server: Server, tmp_path: Path) -> None:
    from clients.cycler_model import lfp_cycling

    data = tmp_path / "cell.csv"
    data.write_bytes(lfp_cycling(cycles=10))
    out = ok(
        cellprov(
            server, "test", "upload", server.first_cell, str(data), "--protocol", "lfp-li-cycling@1",
            "--active-mass", "12.49 mg",
        )
    )  # fmt: skip
    test_id = re.search(r"Test run (\d+)", out).group(1)  # type: ignore[union-attr]
    assert "capacity_retention" in out
    plot = tmp_path / "run.svg"
    shown = ok(cellprov(server, "test", "show", test_id, "--plot", str(plot), "--cycles"))
    assert "initial_specific_capacity" in shown and "cycles" in shown
    assert b"<svg" in plot.read_bytes()
    refused = cellprov(server, "test", "upload", server.first_cell, str(data), "--protocol", "no version")
    assert refused.exit_code == 1


def test_add_an_analysis_from_the_cli(server: Server, tmp_path: Path) -> None:
    image = tmp_path / "sem.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    out = ok(
        cellprov(
            server, "analysis", "add", "SEM", server.first_cell, "--result", "SEI thickness=50 nm",
            "--file", str(image), "--instrument", "Zeiss Sigma 300",
        )
    )  # fmt: skip
    assert "SEI thickness: 50 nm" in out
    refused = cellprov(server, "analysis", "add", "astrology", server.first_cell)
    assert refused.exit_code == 1
