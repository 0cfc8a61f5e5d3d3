"""`cellprov test export ID --format bdf|bdf-parquet [-o FILE]`, typed as a user types it, against a real
server on both databases."""

from __future__ import annotations

import io
import os
from pathlib import Path

import polars as pl
import pytest

from tests.cycler_files import fixture
from tests.test_bdf import LANDT, REQUIRED
from tests.test_cli_commands import Lab, lab, ok, refused

__all__ = ["lab"]  # the live-server fixture the commands run against

CYCLING = "lfp-li-cycling@1"


def test_export_writes_the_bdf_file_under_its_bdf_name_or_where_told(
    lab: Lab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from schemas.cycling import TestOptions

    _, (cell,) = lab.cells(1)
    content = fixture(f"{LANDT}.csv").read_bytes()
    with lab.client() as client:
        run = client.upload_test(cell, "landt.csv", io.BytesIO(content), CYCLING, TestOptions()).id
    monkeypatch.chdir(tmp_path)
    said = ok(lab.cli("test", "export", str(run)))
    (written,) = [p for p in tmp_path.iterdir() if p.name.endswith(".bdf.csv")]
    assert written.name.startswith(f"cellprov__{cell}__") and written.name.endswith(f"_{run:03d}.bdf.csv")
    assert written.name in said
    table = pl.read_csv(written, infer_schema_length=None)
    assert table.columns[:3] == REQUIRED and table.height == 25162

    chosen = tmp_path / "out" / "run.bdf.parquet"
    chosen.parent.mkdir()
    ok(lab.cli("test", "export", str(run), "--format", "bdf-parquet", "-o", str(chosen)))
    assert pl.read_parquet(chosen).equals(table)
    assert not [name for name in os.listdir(tmp_path) if name.endswith(".partial")]

    assert "bdf or bdf-parquet" in refused(lab.cli("test", "export", str(run), "--format", "xlsx"))
    missing = refused(lab.cli("test", "export", "999999"))
    assert "999999" in missing or "not found" in missing.lower()
    assert not [name for name in os.listdir(tmp_path) if name.endswith(".partial")]
