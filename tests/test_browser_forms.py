"""The bench forms in a real browser: headless Chromium (Debian's package) driven by Playwright, real server.

A scientist receives a lot and logs the NH2-MIL-101(Fe) synthesis from its template (refused first, with
the problems at their fields, then logged with a justified deviation); a reviewer releases a quarantined
batch; an auditor finds no write form. Skipped like tests/test_browser.py, and mandatory under CI=true.
"""

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from clients.client import Client
from schemas import LotIn, Quantity, Role, StepIn, StepInputIn, StepOutputIn
from tests.conftest import Person
from tests.test_browser import chromium_page  # noqa: F401  (the fixture, started as that test starts it)

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
SYNTHESIS = "nh2-mil-101-fe-hydrothermal"
WHY = "exploratory batch at 120 °C for larger crystallites"


@pytest.fixture
def scientist_api(live_server: str, people: dict[Role, Person]) -> Iterator[Client]:
    with Client(live_server.removesuffix("/api/v1"), token=people[Role.scientist].token) as client:
        yield client


@pytest.fixture
def stock(scientist_api: Client) -> dict[str, str]:
    """The linker and solvents of the synthesis, received as clients/example.py receives them."""
    return {
        type_name: scientist_api.receive_lot(
            LotIn(type=type_name, quantity=Quantity(value=value, unit=unit), supplier_lot=lot)
        ).code
        for type_name, value, unit, lot in (
            ("2-aminoterephthalic acid", 10, "g", "BCCJ0712"),
            ("DMF", 1, "L", "SHBQ2290"),
            ("ethanol", 1, "L", "K55347283"),
        )
    }


def log_in(page, base: str, person: Person, target: str) -> None:
    page.goto(f"{base}/ui/login?next={target}")
    page.fill("input[name=username]", person.username)
    page.fill("input[name=password]", person.password)
    page.click("section.login button[type=submit]")
    page.wait_for_url(re.compile(rf".*{re.escape(target)}$"))


def log_out(page) -> None:
    page.click("header form[action='/ui/logout'] button")
    page.wait_for_url(re.compile(r".*/ui/login.*"))


def fill_synthesis(page, fecl3: str, stock: dict[str, str], iron_amount: str, temperature: str) -> None:
    for name, value in {
        "parameters.temperature": temperature,
        "parameters.duration": "24 h",
        "parameters.drying_temperature": "60 degC",
        "parameters.drying_time": "12 h",
        "parameters.centrifuge_speed": "10000 rpm",
        "inputs.0.item": fecl3,
        "inputs.0.amount": iron_amount,
        "inputs.1.item": stock["2-aminoterephthalic acid"],
        "inputs.1.amount": "1.105 g",
        "inputs.2.item": stock["DMF"],
        "inputs.2.amount": "80 mL",
        "inputs.3.item": stock["ethanol"],
        "inputs.3.amount": "40 mL",
        "outputs.0.quantity": "0.9 g",
    }.items():
        page.fill(f"[name='{name}']", value)


def test_a_scientist_receives_a_lot_and_logs_the_synthesis_from_its_template(
    chromium_page,  # noqa: F811  (the fixture imported above)
    live_server: str,
    people: dict[Role, Person],
    scientist_api: Client,
    stock: dict[str, str],
) -> None:
    page = chromium_page
    base = live_server.removesuffix("/api/v1")
    log_in(page, base, people[Role.scientist], "/ui")

    page.click("header nav a[href='/ui/lots/new']")
    page.wait_for_url(re.compile(r".*/ui/lots/new$"))
    page.select_option("select[name=type]", "FeCl3·6H2O")
    page.fill("input[name=quantity]", "25 g")
    page.fill("input[name=supplier]", "Sigma-Aldrich")
    page.fill("input[name=catalog_number]", "236489")
    page.fill("input[name=supplier_lot]", "MKCR4471")
    page.fill("input[name=received_on]", "2025-01-13")
    page.fill("input[name=expires_on]", "2028-01-31")
    page.click("form.bench button[type=submit]")
    page.wait_for_url(re.compile(r".*/ui/items/FECL-\d+$"))
    fecl3 = page.url.rsplit("/", 1)[1]
    assert "MKCR4471" in page.locator("table.props").inner_text()
    assert scientist_api.request("GET", f"/items/{fecl3}").json()["received_on"] == "2025-01-13"

    page.click("header nav a[href='/ui/steps/new']")
    page.wait_for_url(re.compile(r".*/ui/steps/new$"))
    page.click(f"a[href='/ui/steps/new?protocol={SYNTHESIS}%401']")
    page.wait_for_url(re.compile(r".*/ui/steps/new\?protocol=.*"))
    assert "110 ± 5 degC" in page.locator("form.step").inner_text()
    assert "25 g left" in page.locator("#role-iron_source").inner_text()

    # The iron source in mL (and the autoclave 10 °C too hot): refused, each problem at its field.
    fill_synthesis(page, fecl3, stock, "2.75 mL", "120 degC")
    page.click("button[name=action][value=log]")
    page.wait_for_url(re.compile(r".*/ui/steps$"))
    assert "The step was not logged" in page.locator("#refused").inner_text()
    amount = page.locator("label:has([name='inputs.0.amount'])")
    assert "measured in units of [mass], not mL" in amount.inner_text()
    assert page.locator("[name='inputs.0.amount']").input_value() == "2.75 mL"  # the values are kept
    temperature = page.locator("label:has([name='parameters.temperature'])")
    assert "temperature is out of range" in temperature.inner_text()
    assert scientist_api.request("GET", "/steps").json()["items"] == []  # nothing was written
    left = scientist_api.request("GET", f"/items/{fecl3}").json()["remaining"]
    assert left == {"value": 25.0, "unit": "g"}
    DOCS.mkdir(exist_ok=True)
    page.screenshot(path=str(DOCS / "step-form-problems.png"), full_page=True)

    # The dry run shows the Fe : linker molar ratio without writing anything.
    page.fill("[name='inputs.0.amount']", "2.75 g")
    page.click("button[name=action][value=check]")
    assert "fe_linker_ratio" in page.locator("#dry-run").inner_text()
    assert scientist_api.request("GET", "/steps").json()["items"] == []

    # The temperature kept, with its justification written beside it: logged as a deviation.
    slot = page.locator("textarea[name$='.justification']").first
    assert slot.is_visible()
    slot.fill(WHY)
    page.click("button[name=action][value=log]")
    page.wait_for_url(re.compile(r".*/ui/steps/\d+$"))
    step_id = int(page.url.rsplit("/", 1)[1])
    step = scientist_api.request("GET", f"/steps/{step_id}").json()
    assert step["deviating"] and step["deviations"][0]["field"] == "/parameters/temperature"
    assert step["deviations"][0]["justification"] == WHY
    # The step page shows the justification on the temperature's row, against the template's range.
    row = page.locator("#parameters tr", has_text="temperature").first.inner_text()
    assert WHY in row and "110 ± 5 °C" in row


def test_a_reviewer_releases_a_quarantined_batch_and_an_auditor_finds_no_write_form(
    chromium_page,  # noqa: F811  (the fixture imported above)
    live_server: str,
    people: dict[Role, Person],
    scientist_api: Client,
    stock: dict[str, str],
) -> None:
    page = chromium_page
    base = live_server.removesuffix("/api/v1")
    # A version of the synthesis whose batches wait for a reviewer, and a batch made by it.
    template = scientist_api.request("GET", f"/templates/{SYNTHESIS}").json()
    keys = ("name", "title", "description", "kind", "parameters", "inputs", "outputs", "constants", "checks")
    quarantining = {key: template[key] for key in keys}
    quarantining["outputs"][0]["quarantined"] = True
    with Client(base, token=people[Role.reviewer].token) as reviewer_api:
        assert reviewer_api.request("POST", "/templates", json=quarantining).status_code == 201
    fecl3 = scientist_api.receive_lot(
        LotIn(type="FeCl3·6H2O", quantity=Quantity(value=25, unit="g"), received_on=date(2025, 1, 13))
    ).code

    def q(text: str) -> Quantity:
        value, unit = text.split(" ", 1)
        return Quantity(value=float(value), unit=unit)

    step = scientist_api.log_step(
        StepIn(
            protocol=f"{SYNTHESIS}@2",
            parameters={
                "temperature": q("110 degC"),
                "duration": q("24 h"),
                "drying_temperature": q("60 degC"),
                "drying_time": q("12 h"),
                "centrifuge_speed": q("10000 rpm"),
            },
            inputs=[
                StepInputIn(role="iron_source", item=fecl3, amount=q("2.75 g")),
                StepInputIn(role="linker", item=stock["2-aminoterephthalic acid"], amount=q("1.105 g")),
                StepInputIn(role="solvent", item=stock["DMF"], amount=q("80 mL")),
                StepInputIn(role="wash_solvent", item=stock["ethanol"], amount=q("40 mL")),
            ],
            outputs=[StepOutputIn(type="NH2-MIL-101(Fe)", quantity=q("0.9 g"))],
        )
    )
    batch = step.outputs[0].code

    log_in(page, base, people[Role.scientist], f"/ui/items/{batch}")
    assert page.locator("h1 .status").text_content() == "quarantined"
    assert page.locator("form.release").count() == 0  # a scientist does not release
    log_out(page)

    log_in(page, base, people[Role.reviewer], f"/ui/items/{batch}")
    page.fill("form.release input[name=note]", "XRD matches NH2-MIL-101(Fe)")
    page.click("form.release button[type=submit]")
    page.wait_for_url(re.compile(rf".*/ui/items/{re.escape(batch)}$"))
    assert page.locator("h1 .status").text_content() == "released"
    assert scientist_api.request("GET", f"/items/{batch}").json()["status"] == "released"
    log_out(page)

    log_in(page, base, people[Role.auditor], f"/ui/items/{batch}")
    for url in (f"/ui/items/{batch}", f"/ui/steps/{step.id}", f"/ui/items/{fecl3}", "/ui"):
        page.goto(f"{base}{url}")
        assert page.locator("main form").count() == 0, url  # no write form anywhere
        assert page.locator("a[href='/ui/lots/new'], a[href='/ui/steps/new']").count() == 0
    page.goto(f"{base}/ui/lots/new")
    assert "may not" in page.locator("main").inner_text()
    # A forged form, sent with the auditor's own session and CSRF token, is refused and writes nothing.
    csrf = page.locator("header input[name=csrf]").input_value()
    before = scientist_api.request("GET", "/items", params={"limit": 500}).json()["items"]
    forged = page.request.post(
        f"{base}/ui/lots",
        form={"csrf": csrf, "type": "DMF", "quantity": "1 L"},
        headers={"Origin": base},
    )
    assert forged.status == 403
    assert scientist_api.request("GET", "/items", params={"limit": 500}).json()["items"] == before
