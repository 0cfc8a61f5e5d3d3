"""The audit and signing commands of the CLI, against a real server process."""

from pathlib import Path

import httpx
from typer.testing import CliRunner

from clients.cli import app
from schemas import Role

runner = CliRunner()


def _cli(url: str, token: str, *args: str, input: str | None = None):
    return runner.invoke(app, ["--url", url.removesuffix("/api/v1"), "--token", token, *args], input=input)


def test_export_verify_offline_checkpoints_and_sign(live_server, people, tmp_path: Path):
    scientist, auditor = people[Role.scientist], people[Role.auditor]
    with httpx.Client(base_url=live_server, headers={"Authorization": f"Bearer {scientist.token}"}) as http:
        lot = http.post("/lots", json={"type": "FeCl3·6H2O", "quantity": "25 g"}).json()["code"]

    signed = _cli(
        live_server,
        scientist.token,
        "sign",
        f"item:{lot}",
        "--meaning",
        "authored",
        input=f"{scientist.password}\n",
    )
    assert signed.exit_code == 0, signed.output
    assert f"Signed item:{lot} v1 as authored" in signed.output

    listed = _cli(live_server, auditor.token, "audit", "list", "--entity", lot)
    assert listed.exit_code == 0 and "item.received" in listed.output and "signature.created" in listed.output

    export = tmp_path / "trail.jsonl"
    exported = _cli(live_server, auditor.token, "audit", "export", "--out", str(export))
    assert exported.exit_code == 0, exported.output
    offline = _cli(live_server, auditor.token, "audit", "verify", str(export))
    assert offline.exit_code == 0 and "chain intact" in offline.output
    export.write_text(export.read_text().replace('"authored"', '"approved"'))
    assert _cli(live_server, auditor.token, "audit", "verify", str(export)).exit_code == 1

    kept = tmp_path / "kept.jsonl"
    first = _cli(live_server, auditor.token, "audit", "checkpoint", "--keep", str(kept))
    assert first.exit_code == 0 and "First checkpoint kept" in first.output
    with httpx.Client(base_url=live_server, headers={"Authorization": f"Bearer {scientist.token}"}) as http:
        http.post("/lots", json={"type": "DMF", "quantity": "1 L"})
    second = _cli(live_server, auditor.token, "audit", "checkpoint", "--keep", str(kept))
    assert second.exit_code == 0 and "extend your kept checkpoint" in second.output
    assert len(kept.read_text().splitlines()) == 2

    online = _cli(live_server, auditor.token, "audit", "verify")
    assert online.exit_code == 0 and "the server's trail" in online.output

    wrong = _cli(live_server, scientist.token, "sign", f"item:{lot}", "--meaning", "authored", input="nope\n")
    assert wrong.exit_code == 1
