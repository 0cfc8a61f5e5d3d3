"""`cellprov step new`: its checks as pure functions, and the real command in a pseudo-terminal against a
real server (both databases), answered as a hurried user answers: wrong first, then right."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pexpect
import pytest
import yaml

from clients import wizard
from clients.client import Client
from schemas import InputRole, ItemOut, ParameterSpec, PropertySpec, Quantity, Role, StepIn
from schemas.templates import AmountSpec
from tests.conftest import Person
from tests.lab import SYNTHESIS, publish_bench_over_http

CELLPROV = str(Path(sys.executable).with_name("cellprov"))
DURATION = ParameterSpec(name="duration", unit="h", nominal=4, tolerance_percent=10)
MATERIAL = InputRole(
    role="material", types=["MOF@CoPc"], amount=AmountSpec(unit="mg", nominal=60, tolerance_percent=5)
)


def an_item(
    code: str = "MCP-0001", type_name: str = "MOF@CoPc", left: str = "100 mg", **more: object
) -> ItemOut:
    now = datetime.now(UTC)
    fields: dict[str, object] = {
        "code": code, "kind": "batch", "type": type_name, "name": None, "status": "released",
        "version": 1, "quantity": left, "remaining": left, "supplier": None, "catalog_number": None,
        "supplier_lot": None, "received_on": None, "expires_on": None, "properties": {},
        "produced_by": 1, "created_at": now, "created_by": "sam", "updated_at": now, "void_reason": None,
    }  # fmt: skip
    return ItemOut.model_validate(fields | more)


# -- the checks ----------------------------------------------------------------------------------------------


def test_a_mass_for_a_duration_is_refused_with_the_dimensions_named() -> None:
    answer = wizard.check_parameter(DURATION, "4 g")
    assert isinstance(answer, wizard.Refused)
    assert answer.why == "4 g is a mass; duration is a time (in h, e.g. '4 h')"
    assert isinstance(wizard.check_parameter(DURATION, "4 parsecs"), wizard.Refused)
    assert isinstance(wizard.check_parameter(DURATION, "four hours"), wizard.Refused)
    assert isinstance(wizard.check_parameter(DURATION, "9**9**9 h"), wizard.Refused)  # never evaluated


def test_a_value_in_range_is_accepted_in_any_unit_of_its_dimension_and_a_bare_number_in_the_templates() -> (
    None
):
    assert wizard.check_parameter(DURATION, "240 min") == wizard.Accepted(Quantity(value=240, unit="min"))
    assert wizard.check_parameter(DURATION, "4.2") == wizard.Accepted(Quantity(value=4.2, unit="h"))
    optional = ParameterSpec(name="ramp", unit="K/min", required=False)
    assert wizard.check_parameter(optional, "") == wizard.Accepted(None)
    assert isinstance(wizard.check_parameter(DURATION, ""), wizard.Refused)


def test_a_value_out_of_range_is_offered_as_a_deviation_at_its_pointer() -> None:
    answer = wizard.check_parameter(DURATION, "300 min")
    assert isinstance(answer, wizard.OutOfRange)
    assert answer.pointer == "/parameters/duration"
    assert answer.why == "duration 300 min (= 5 h) is outside 4 h ± 10 % (3.6–4.4 h)"
    assert wizard.justification_problem("longer") is not None
    assert wizard.justification_problem("the powder had clumped; stirred longer") is None


def test_other_kinds_of_parameter() -> None:
    choice = ParameterSpec(name="atmosphere", kind="choice", choices=["argon", "air"])
    refused = wizard.check_parameter(choice, "argn")
    assert isinstance(refused, wizard.Refused) and "did you mean argon?" in refused.why
    rate = ParameterSpec(name="c_rate", kind="number", min=0.05, max=2)
    assert wizard.check_parameter(rate, "0.5") == wizard.Accepted(0.5)
    assert isinstance(wizard.check_parameter(rate, "5"), wizard.OutOfRange)
    assert isinstance(wizard.check_parameter(rate, "0.5 C"), wizard.Refused)


def test_an_item_must_be_of_the_roles_type_and_usable() -> None:
    assert wizard.check_item(MATERIAL, an_item()) is None
    wrong = wizard.check_item(MATERIAL, an_item(type_name="NH2-MIL-101(Fe)"))
    assert (
        wrong is not None and wrong.why == "MCP-0001 is a NH2-MIL-101(Fe); the material role takes MOF@CoPc"
    )
    for status, why in [("voided", "is voided"), ("quarantined", "is quarantined"), ("consumed", "used up")]:
        refusal = wizard.check_item(MATERIAL, an_item(status=status))
        assert refusal is not None and why in refusal.why


def test_a_mistyped_code_gets_the_closest_one() -> None:
    assert wizard.no_such_item("CC-0O01", ["CC-0001", "CC-0010", "CC-0100"]) == (
        "no item CC-0O01 — did you mean CC-0001?"
    )
    assert wizard.no_such_item("XYZ", ["CC-0001"]) == "no item XYZ"


def test_an_amount_is_within_what_is_left_counting_what_this_step_took_already() -> None:
    item = an_item(left="100 mg")
    assert wizard.check_amount(MATERIAL, item, "60 mg", "/inputs/0/amount") == wizard.Accepted(
        Quantity(value=60, unit="mg")
    )
    assert isinstance(wizard.check_amount(MATERIAL, item, "0.06 g", "/inputs/0/amount"), wizard.Accepted)
    twice = wizard.check_amount(MATERIAL, item, "60 mg", "/inputs/1/amount", used=60)
    assert isinstance(twice, wizard.Refused) and twice.why == "only 40 mg of MCP-0001 is left; 60 mg is more"
    litres = wizard.check_amount(MATERIAL, item, "60 mL", "/inputs/0/amount")
    assert isinstance(litres, wizard.Refused) and "60 mL is a volume" in litres.why
    # Without a unit in the template, the item's own unit fixes the dimension.
    discs = InputRole(role="anode", types=["Li foil disc"], amount=AmountSpec())
    lot = an_item("LI-0001", "Li foil disc", left="10 count")
    assert isinstance(wizard.check_amount(discs, lot, "12 count", "/inputs/0/amount"), wizard.Refused)
    assert isinstance(wizard.check_amount(discs, lot, "3 g", "/inputs/0/amount"), wizard.Refused)


def test_an_output_property_and_quantity() -> None:
    loading = PropertySpec(name="areal_loading", unit="mg/cm**2", min=0.5, max=2)
    assert wizard.check_property(loading, "1.2 mg/cm**2", "/outputs/0/properties/areal_loading") == (
        wizard.Accepted({"value": 1.2, "unit": "mg/cm**2"})
    )
    assert isinstance(wizard.check_property(loading, "1.2 mg", "/p"), wizard.Refused)
    volume = AmountSpec(unit="mL", min=0.1, max=10)
    assert isinstance(
        wizard.check_output_quantity(volume, "20 mL", "coating solution", "/q"), wizard.OutOfRange
    )


def test_start_and_end_default_to_now_and_the_end_comes_after_the_start() -> None:
    now = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
    assert wizard.check_time("", now) == wizard.Accepted(now)
    assert wizard.check_time("now", now) == wizard.Accepted(now)
    start = wizard.check_time("2026-12-07T09:30+00:00", now)
    assert start == wizard.Accepted(now - timedelta(hours=2, minutes=30))
    assert isinstance(wizard.check_time("2026-12-08 09:30+00:00", now), wizard.Refused)  # the future
    assert isinstance(wizard.check_time("yesterday", now), wizard.Refused)
    assert isinstance(
        wizard.check_time("2026-12-07 08:00+00:00", now, after=now - timedelta(hours=1)), wizard.Refused
    )


def test_the_answers_file_is_a_step_again() -> None:
    step = StepIn.model_validate(
        {
            "protocol": "coating-solution@1",
            "started_at": "2026-12-07T09:00:00+00:00",
            "parameters": {"duration": "4.8 h"},
            "inputs": [{"role": "material", "item": "MCP-0001", "amount": "61 mg"}],
            "outputs": [{"type": "coating solution"}],
            "deviations": [{"field": "/parameters/duration", "justification": "stirred longer: clumps"}],
        }
    )
    text = wizard.answers_as_yaml(step)
    assert StepIn.model_validate(yaml.safe_load(text)) == step


# -- the command in a terminal -------------------------------------------------------------------------------


@pytest.fixture
def bench(live_server: str, people: dict[Role, Person]) -> Iterator[tuple[str, dict[str, str]]]:
    """A MOF@CoPc batch (500 mg) and a THF lot, as the coating-solution template needs them."""
    publish_bench_over_http(live_server, people[Role.admin].token, SYNTHESIS)
    with httpx.Client(base_url=live_server, headers=_auth(people[Role.scientist]), timeout=60) as api:
        iron = api.post("/lots", json={"type": "FeCl3·6H2O", "quantity": "25 g"}).json()["code"]
        made = api.post(
            "/steps",
            json={
                "protocol": SYNTHESIS,
                "inputs": [{"role": "iron_source", "item": iron, "amount": "2 g"}],
                "outputs": [{"type": "MOF@CoPc", "quantity": "500 mg"}],
            },
        )
        assert made.status_code == 201, made.text
        thf = [api.post("/lots", json={"type": "THF", "quantity": "100 mL"}).json()["code"] for _ in range(2)]
    yield (
        live_server.removesuffix("/api/v1"),
        {"batch": made.json()["outputs"][0]["code"], "thf": thf[0], "thf2": thf[1]},
    )


def _auth(person: Person) -> dict[str, str]:
    return {"Authorization": f"Bearer {person.token}"}


def _wizard(root: str, token: str, cwd: Path) -> pexpect.spawn:
    env = {key: value for key, value in os.environ.items() if not key.startswith("CELLPROV_")}
    env.update(CELLPROV_CONFIG=str(cwd / "no-config.toml"), NO_COLOR="1", COLUMNS="200", TERM="dumb")
    return pexpect.spawn(
        CELLPROV, ["--url", root, "--token", token, "step", "new", "coating-solution"],
        cwd=str(cwd), env=env, encoding="utf-8", timeout=60, dimensions=(60, 200),
        logfile=(cwd / "terminal.log").open("w"),
    )  # fmt: skip


def answer(child: pexpect.spawn, prompt: str, text: str) -> None:
    child.expect_exact(prompt)
    child.sendline(text)


def test_the_wizard_refuses_wrong_answers_at_once_and_logs_the_step_with_its_deviation(
    bench: tuple[str, dict[str, str]], people: dict[Role, Person], tmp_path: Path
) -> None:
    root, made = bench
    batch, thf = made["batch"], made["thf"]
    typo = batch[:-3] + "O" + batch[-2:]  # MCP-0001 → MCP-0O01
    child = _wizard(root, people[Role.scientist].token, tmp_path)
    answer(child, "started at", "")
    answer(child, "ended at", "")
    answer(child, "duration (4 h ± 10 % (3.6–4.4 h))", "4 g")
    child.expect_exact("4 g is a mass; duration is a time")
    answer(child, "duration", "4.8 h")
    child.expect_exact("duration 4.8 h is outside 4 h ± 10 % (3.6–4.4 h)")
    answer(child, "keep it as a deviation from the template?", "y")
    answer(child, "why (justification for /parameters/duration)", "longer")
    child.expect_exact("at least 10 characters")
    answer(child, "why (justification for /parameters/duration)", "the powder had clumped; stirred longer")
    answer(child, "material: item code", typo)
    child.expect_exact(f"no item {typo} — did you mean {batch}?")
    answer(child, "material: item code", batch)
    answer(child, f"amount of {batch}", "6 g")
    child.expect_exact(f"only 500 mg of {batch} is left; 6 g is more")
    answer(child, f"amount of {batch}", "0.065 g")
    child.expect_exact(f"the amount of {batch} 0.065 g (= 65 mg) is outside 60 mg ± 5 % (57–63 mg)")
    answer(child, "keep it as a deviation from the template?", "n")
    answer(child, f"amount of {batch}", "61 mg")
    answer(child, "solvent: item code", thf)
    answer(child, f"amount of {thf}", "1.64 mL")
    answer(child, "how many coating solution", "")
    answer(child, "name of the coating solution", "SOL for anode batch 7")
    answer(child, "quantity of coating solution", "1.7 mL")
    answer(child, "notes", "")
    child.expect_exact("dry run of coating-solution@1")
    child.expect(r"concentration\W+37\.1951 mg/mL\W+ok")
    child.expect_exact("/parameters/duration: the powder had clumped; stirred longer")  # the summary
    answer(child, "log this step?", "y")
    child.expect(r"Logged step #(\d+)")
    step_id = int(child.match.group(1))
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0

    with Client(root, people[Role.scientist].token) as client:
        step = client.step(step_id)
        assert step.protocol == "coating-solution@1" and step.deviating
        assert [(d.field, d.justification) for d in step.deviations] == [
            ("/parameters/duration", "the powder had clumped; stirred longer")
        ]
        assert [(i.role, i.item.code, str(i.amount)) for i in step.inputs] == [
            ("material", batch, "61 mg"),
            ("solvent", thf, "1.64 mL"),
        ]
        assert step.started_at is not None and step.ended_at is not None
        (output,) = step.outputs
        made_item = client.item(output.code)
        assert made_item.name == "SOL for anode batch 7" and str(made_item.quantity) == "1.7 mL"
        assert str(client.item(batch).remaining) == "439 mg"


def test_a_refusal_by_the_server_keeps_the_answers_for_step_log(
    bench: tuple[str, dict[str, str]], people: dict[Role, Person], tmp_path: Path
) -> None:
    root, made = bench
    batch, thf = made["batch"], made["thf"]
    child = _wizard(root, people[Role.scientist].token, tmp_path)
    answer(child, "started at", "")
    answer(child, "ended at", "")
    answer(child, "duration", "")  # the nominal 4 h
    answer(child, "material: item code", batch)
    answer(child, f"amount of {batch}", "60 mg")
    answer(child, "solvent: item code", thf)
    answer(child, f"amount of {thf}", "1.64 mL")
    answer(child, "how many coating solution", "1")
    answer(child, "name of the coating solution", "")
    answer(child, "quantity of coating solution", "1.6 mL")
    answer(child, "notes", "first try")
    # While the user reads the summary, a colleague voids the THF lot: the server refuses the step.
    child.expect_exact("log this step?")
    with httpx.Client(base_url=f"{root}/api/v1", headers=_auth(people[Role.scientist])) as api:
        voided = api.post(f"/items/{thf}/void", json={"reason": "bottle found open, discarded"})
        assert voided.status_code == 200, voided.text
    child.sendline("y")
    child.expect_exact(f"{thf} is voided")
    child.expect(r"Your answers are kept in (\S+\.yaml): correct it, then log it with `cellprov step log")
    kept = tmp_path / child.match.group(1)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 1

    answers = yaml.safe_load(kept.read_text())
    assert (
        answers["parameters"]["duration"] == {"value": 4.0, "unit": "h"} and answers["notes"] == "first try"
    )
    answers["inputs"][1]["item"] = made["thf2"]  # the user takes the other bottle
    kept.write_text(yaml.safe_dump(answers))
    env = {key: value for key, value in os.environ.items() if not key.startswith("CELLPROV_")}
    env.update(CELLPROV_CONFIG=str(tmp_path / "no-config.toml"), COLUMNS="200")
    import subprocess

    logged = subprocess.run(
        [CELLPROV, "--url", root, "--token", people[Role.scientist].token, "step", "log", str(kept)],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert logged.returncode == 0, logged.stdout + logged.stderr
    assert "Logged step" in logged.stdout
