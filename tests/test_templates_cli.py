# ruff: noqa: F811  (the fixtures of tests/test_cli.py are imported and used by name)
"""`cellprov template …`, `cellprov step new` and the violation table of `cellprov step log`, against a real
`cellprov-server serve` (its worked example is loaded, so MOF-0001 and THF-0001 exist)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from tests.test_cli import Server, cellprov, ok, server, wide_console  # noqa: F401  (fixtures)


def test_template_list_and_show(server: Server) -> None:
    listed = ok(cellprov(server, "template", "list"))
    for name in ("nh2-mil-101-fe-hydrothermal", "cr2025-assembly", "lfp-li-cycling", "li-li-symmetric"):
        assert name in listed
    shown = ok(cellprov(server, "template", "show", "nh2-mil-101-fe-hydrothermal@1"))
    assert "110 ± 5 degC" in shown and "iron_source" in shown and "fe_linker_ratio" in shown


def test_template_validate_reports_problems_in_a_file(server: Server, tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(
        yaml.safe_dump(
            {
                "name": "mof-wash",
                "title": "Wash a MOF batch",
                "parameters": [{"name": "duration", "unit": "h", "nominal": 1, "tolerance_percent": 10}],
                "inputs": [{"role": "solvent", "types": ["ethanol"], "amount": {"unit": "mL", "min": 1}}],
                "outputs": [{"types": ["NH2-MIL-101(Fe)"]}],
                "checks": [{"name": "per_hour", "expression": "inputs.solvent / duration", "unit": "mL/h"}],
            }
        ),
        encoding="utf-8",
    )
    assert "valid template" in ok(cellprov(server, "template", "validate", str(good)))
    bad = tmp_path / "bad.yaml"
    text = good.read_text(encoding="utf-8").replace("inputs.solvent / duration", "open('x').read()")
    bad.write_text(text.replace("ethanol", "unobtainium"), encoding="utf-8")
    result = cellprov(server, "template", "validate", str(bad))
    assert result.exit_code == 1
    assert "/checks/0/expression" in result.stderr and "/inputs/0/types/0" in result.stderr


def test_step_new_asks_for_each_field_and_submits(server: Server) -> None:
    answers = "\n".join(
        [
            "",  # started at: now
            "",  # ended at: now
            "4 h",  # duration (nominal offered)
            "MOF-0001",  # material
            "60 mg",
            "THF-0001",  # solvent
            "1640 µL",
            "1",  # how many coating solutions
            "",  # its name: none
            "1.64 mL",  # quantity
            "made at the bench",  # notes
            "y",  # log this step?
        ]
    )
    result = cellprov(server, "step", "new", "coating-solution", input=answers + "\n")
    out = ok(result)
    assert "duration (4 h ± 10 % (3.6–4.4 h))" in out
    assert "material: item code (MOF@CoPc or NH2-MIL-101(Fe))" in out
    assert re.search(r"Logged step #\d+ \(coating-solution@1\)", out)
    assert re.search(r"made SOL-\d{4}", out)


def test_step_log_shows_violations_as_a_table(server: Server) -> None:
    step = """
protocol: coating-solution@1
parameters: {duration: 9 h, colour: blue}
inputs:
  - {role: material, item: MOF-0001, amount: 60 mL}
  - {role: solvent, item: THF-0001, amount: 1.64 mL}
outputs:
  - {type: coating solution, quantity: 1.64 mL}
"""
    refused = cellprov(server, "step", "log", "-", input=step)
    assert refused.exit_code == 1
    assert "violations" in refused.stderr
    for expected in ("/parameters/duration", "out of range", "4 h ± 10 %", "9 h", "/parameters/colour"):
        assert expected in refused.stderr
    assert "/inputs/0/amount/unit" in refused.stderr
