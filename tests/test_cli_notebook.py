"""`cellprov note add` and `cellprov search` against a real `cellprov-server serve` (example loaded)."""

import json
from pathlib import Path

import pytest

from tests import test_cli
from tests.test_cli import Server, cellprov, ok

# The same `cellprov-server serve` fixture as the other CLI tests (one server per module).
server = test_cli.server
wide_console = test_cli.wide_console


def test_note_add_with_text_link_tag_and_file_then_search_finds_it(server: Server, tmp_path: Path) -> None:
    photo = tmp_path / "liner.jpg"
    photo.write_bytes(b"\xff\xd8 liner")
    out = ok(
        cellprov(
            server,
            "note",
            "add",
            "--link",
            server.first_cell,
            "--file",
            str(photo),
            "--tag",
            "autoclave",
            "--title",
            "Liner discoloured",
            "The PTFE liner turned *ochre* after run 3.",
        )
    )
    assert "Wrote entry" in out and f"item:{server.first_cell}" in out and "1 file attached" in out
    found = json.loads(ok(cellprov(server, "--json", "search", "ochre", "liner")))
    assert [hit["title"] for hit in found["hits"]] == ["Liner discoloured"]
    table = ok(cellprov(server, "search", "MKCR4471"))
    assert "FECL-0001" in table


def test_note_add_opens_the_editor_when_no_text_is_given(
    server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    editor = tmp_path / "editor.sh"
    editor.write_text(
        '#!/bin/sh\nprintf "# Filter clogged\\n\\nThe frit clogged during the DMF wash.\\n" > "$1"\n'
    )
    editor.chmod(0o755)
    monkeypatch.setenv("EDITOR", str(editor))
    monkeypatch.setenv("VISUAL", str(editor))
    out = ok(cellprov(server, "--json", "note", "add", "--link", "FECL-0001"))
    entry = json.loads(out)
    assert entry["title"] == "Filter clogged"
    assert entry["body"] == "The frit clogged during the DMF wash."
    assert entry["links"] == ["item:FECL-0001"]


def test_note_add_refuses_unknown_records(server: Server) -> None:
    result = cellprov(server, "note", "add", "--link", "NOPE-0001", "some text")
    assert result.exit_code == 1
    assert "NOPE-0001" in result.output
