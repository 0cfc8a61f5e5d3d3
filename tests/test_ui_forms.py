"""The bench forms of /ui through the ASGI app, as a browser sends them: receive a lot, log a step from its
template (with a dry run, another input row, problems at their fields and a justified deviation), correct,
void, release and sign. Each refusal writes nothing; each role gets what the API grants."""

from html.parser import HTMLParser

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text

from schemas import Role
from service.ui.form_body import Rows, closest_field, drop_empty_rows, nest
from tests.conftest import Person
from tests.lab import receive
from tests.test_ui import csrf_of, logged_in

SYNTHESIS = "nh2-mil-101-fe-hydrothermal@1"


class FormFields(HTMLParser):
    """What a browser would send from the form with class `marker`: inputs, selected options, textareas."""

    def __init__(self, marker: str) -> None:
        super().__init__()
        self.marker, self.inside, self.fields = marker, False, {}
        self.select: str | None = None
        self.chosen = False
        self.textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.inside = self.marker in found.get("class", "").split()
        if not self.inside:
            return
        if tag == "input" and found.get("name") and found.get("type") not in ("submit", "checkbox"):
            self.fields[found["name"]] = found.get("value", "")
        elif tag == "select":
            self.select, self.chosen = found.get("name"), False
        elif tag == "option" and self.select and ("selected" in found or not self.chosen):
            # A browser sends the selected option, or else the first.
            self.fields[self.select] = found.get("value", "")
            self.chosen = True
        elif tag == "textarea":
            self.textarea = found.get("name")
            self.fields[self.textarea or ""] = ""

    def handle_data(self, data: str) -> None:
        if self.textarea:
            self.fields[self.textarea] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self.select = None
        elif tag == "textarea":
            self.textarea = None
        elif tag == "form":
            self.inside = False


def fields_of(html: str, marker: str = "bench") -> dict[str, str]:
    parser = FormFields(marker)
    parser.feed(html)
    return parser.fields


def counts(app: FastAPI) -> tuple[int, ...]:
    with app.state.engine.connect() as connection:
        return tuple(
            connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
            for table in ("items", "item_versions", "steps", "signatures", "audit_events")
        )


@pytest.fixture
def scientist(app: FastAPI, people: dict[Role, Person]) -> TestClient:
    return logged_in(app, people[Role.scientist])


@pytest.fixture
def stock(api: TestClient) -> dict[str, str]:
    return {
        type_name: receive(api, type_name, quantity)["code"]
        for type_name, quantity in (
            ("FeCl3·6H2O", "25 g"),
            ("2-aminoterephthalic acid", "10 g"),
            ("DMF", "1 L"),
            ("ethanol", "1 L"),
        )
    }


# --- from flat fields to the body (pure) ------------------------------------------------------------------


def test_flat_field_names_become_the_nested_body():
    body = nest(
        [
            ("csrf", "x"),
            ("protocol", "p@1"),
            ("parameters.temperature", " 110 degC "),
            ("parameters.duration", ""),
            ("inputs.1.role", "linker"),
            ("inputs.0.role", "iron_source"),
            ("inputs.0.item", "FECL-0001"),
            ("inputs.0.amount", "2.75 g"),
            ("outputs.0.properties.colour", "brown"),
            ("action", "log"),
        ]
    )
    assert body == {
        "protocol": "p@1",
        "parameters": {"temperature": "110 degC"},
        "inputs": [{"role": "iron_source", "item": "FECL-0001", "amount": "2.75 g"}, {"role": "linker"}],
        "outputs": [{"properties": {"colour": "brown"}}],
    }
    assert nest([("a..b", "x"), ("", "y")]) == {}


def test_empty_rows_are_dropped_and_pointers_lead_back_to_the_form():
    body = nest(
        [
            ("inputs.0.role", "solvent"),
            ("inputs.1.role", "wash"),
            ("inputs.2.role", "wash"),
            ("inputs.2.item", "ETOH-0001"),
            ("deviations.0.field", "/inputs/2/amount"),
            ("deviations.0.justification", "used more to wash"),
            ("deviations.1.field", "/parameters/temperature"),
        ]
    )
    rows = drop_empty_rows(body, {"inputs": ("role",), "deviations": ("field",)})
    assert body["inputs"] == [{"role": "wash", "item": "ETOH-0001"}]
    assert body["deviations"] == [{"field": "/inputs/0/amount", "justification": "used more to wash"}]
    assert rows.to_form("/inputs/0/amount/unit") == "inputs.2.amount.unit"
    assert rows.to_form("/parameters/a~1b") == "parameters.a/b"
    assert Rows().to_form("/") == ""
    assert closest_field("inputs.2.amount.unit", ["inputs.2.amount"]) == "inputs.2.amount"
    assert closest_field("checks.x", ["inputs"]) is None


# --- receiving a lot ----------------------------------------------------------------------------------------


def test_a_lot_received_through_the_form(app: FastAPI, api: TestClient, scientist: TestClient):
    form = scientist.get("/ui/lots/new")
    assert form.status_code == 200 and '<option value="FeCl3·6H2O">' in form.text
    sent = {
        **fields_of(form.text),
        "type": "FeCl3·6H2O",
        "quantity": "25 g",
        "supplier": "Sigma-Aldrich",
        "catalog_number": "236489",
        "supplier_lot": "MKCR4471",
        "received_on": "2025-01-13",
        "expires_on": "2028-01-31",
    }
    done = scientist.post("/ui/lots", data=sent)
    assert done.status_code == 303, done.text
    code = done.headers["location"].rsplit("/", 1)[1]
    lot = api.get(f"/items/{code}").json()
    assert lot["supplier_lot"] == "MKCR4471" and lot["quantity"] == {"value": 25.0, "unit": "g"}
    assert lot["expires_on"] == "2028-01-31"
    # The same form sent twice (a double click) receives one lot.
    before = counts(app)
    again = scientist.post("/ui/lots", data=sent)
    assert again.status_code == 303 and again.headers["location"] == done.headers["location"]
    assert counts(app) == before
    assert "MKCR4471" in scientist.get(done.headers["location"]).text


def test_a_refused_lot_comes_back_with_its_values_and_problems(app: FastAPI, scientist: TestClient):
    form = scientist.get("/ui/lots/new").text
    before = counts(app)
    sent = {
        **fields_of(form),
        "type": "DMF",
        "quantity": "1",
        "supplier_lot": "SHBQ2290",
        "received_on": "2025-01-13",
        "expires_on": "2024-01-01",
    }
    refused = scientist.post("/ui/lots", data=sent)
    assert refused.status_code == 422
    kept = fields_of(refused.text)
    assert kept["quantity"] == "1" and kept["supplier_lot"] == "SHBQ2290" and kept["type"] == "DMF"
    assert "a quantity is a number followed by a unit" in refused.text
    dated = scientist.post("/ui/lots", data={**sent, "quantity": "1 L"})
    assert dated.status_code == 422 and "expires before it was received" in dated.text
    wrong_type = scientist.post(
        "/ui/lots", data={**sent, "quantity": "1 L", "expires_on": "", "type": "MOF@CoPc"}
    )
    assert wrong_type.status_code == 422 and "made by a step, not received as a lot" in wrong_type.text
    assert counts(app) == before
    no_csrf = scientist.post("/ui/lots", data={**sent, "quantity": "1 L", "expires_on": "", "csrf": ""})
    assert no_csrf.status_code == 403 and counts(app) == before


def test_an_auditor_gets_no_lot_form_and_a_forged_one_is_refused(app: FastAPI, people):
    auditor = logged_in(app, people[Role.auditor])
    home = auditor.get("/ui").text
    assert "/ui/lots/new" not in home and "/ui/steps/new" not in home
    assert auditor.get("/ui/lots/new").status_code == 403
    before = counts(app)
    forged = auditor.post("/ui/lots", data={"csrf": csrf_of(home), "type": "DMF", "quantity": "1 L"})
    assert forged.status_code == 403 and counts(app) == before


# --- logging a step from its template -----------------------------------------------------------------------


def _filled(form: dict[str, str], stock: dict[str, str], **changes: str) -> dict[str, str]:
    """The hydrothermal synthesis as the worked example logs it, typed into the generated form."""
    filled = {
        **form,
        "parameters.temperature": "110 degC",
        "parameters.duration": "24 h",
        "parameters.drying_temperature": "60 degC",
        "parameters.drying_time": "12 h",
        "parameters.centrifuge_speed": "10000 rpm",
        "outputs.0.quantity": "0.9 g",
        "notes": "ground after drying",
    }
    for n, (role, type_name, amount) in enumerate(
        [
            ("iron_source", "FeCl3·6H2O", "2.75 g"),
            ("linker", "2-aminoterephthalic acid", "1.105 g"),
            ("solvent", "DMF", "80 mL"),
            ("wash_solvent", "ethanol", "40 mL"),
        ]
    ):
        assert form[f"inputs.{n}.role"] == role
        filled[f"inputs.{n}.item"] = stock[type_name]
        filled[f"inputs.{n}.amount"] = amount
    return {**filled, **changes}


def test_the_step_form_is_generated_from_the_template(scientist: TestClient, stock: dict[str, str]):
    listed = scientist.get("/ui/steps/new")
    assert (
        listed.status_code == 200 and f"/ui/steps/new?protocol={SYNTHESIS.replace('@', '%40')}" in listed.text
    )
    assert (
        "cr2025-assembly@2" in listed.text and "lfp-li-cycling" not in listed.text
    )  # the newest version of each step protocol (v2 names its glovebox); test protocols are not steps
    page = scientist.get("/ui/steps/new", params={"protocol": SYNTHESIS})
    assert page.status_code == 200
    html = page.text
    assert "110 ± 5 degC" in html and "2.75 g ± 5 % (2.6125–2.8875 g)" in html
    assert f'<option value="{stock["FeCl3·6H2O"]}">' in html and "25 g left" in html
    form = fields_of(html)
    assert form["protocol"] == SYNTHESIS and form["outputs.0.type"] == "NH2-MIL-101(Fe)"
    assert form["started_at"] and form["ended_at"] and len(form["idempotency_key"]) > 10
    assert scientist.get("/ui/steps/new", params={"protocol": "nope@1"}).status_code == 404


def test_a_retired_version_says_it_takes_no_new_step(app, as_role, scientist: TestClient, stock):
    retired = as_role[Role.reviewer].post(
        "/templates/coating-solution/versions/1/retire", json={"reason": "replaced by the THF-free recipe"}
    )
    assert retired.status_code == 200, retired.text
    assert "coating-solution@1" not in scientist.get("/ui/steps/new").text
    page = scientist.get("/ui/steps/new", params={"protocol": "coating-solution@1"}).text
    assert "takes no new step" in page and "replaced by the THF-free recipe" in page
    assert "was not logged" not in page


def test_a_step_logged_through_the_form(app, api, scientist: TestClient, stock: dict[str, str]):
    form = fields_of(scientist.get("/ui/steps/new", params={"protocol": SYNTHESIS}).text)
    done = scientist.post("/ui/steps", data={**_filled(form, stock), "action": "log"})
    assert done.status_code == 303, done.text
    assert done.headers["location"].startswith("/ui/steps/")
    step = api.get(f"/steps/{done.headers['location'].rsplit('/', 1)[1]}").json()
    assert step["protocol"] == SYNTHESIS and step["notes"] == "ground after drying"
    assert step["parameters"]["temperature"] == {"value": 110.0, "unit": "degC"}
    assert step["inputs"][0]["amount"] == {"value": 2.75, "unit": "g"}
    assert not step["deviating"] and step["started_at"] is not None
    assert api.get(f"/items/{stock['FeCl3·6H2O']}").json()["remaining"]["value"] == pytest.approx(22.25)


def test_a_refused_step_shows_each_problem_at_its_field_and_writes_nothing(
    app, scientist: TestClient, stock: dict[str, str]
):
    form = fields_of(scientist.get("/ui/steps/new", params={"protocol": SYNTHESIS}).text)
    before = counts(app)
    refused = scientist.post(
        "/ui/steps",
        data={
            **_filled(form, stock, **{"inputs.0.amount": "2.75 mL", "parameters.duration": ""}),
            "action": "log",
        },
    )
    assert refused.status_code == 422, refused.text
    html = refused.text
    kept = fields_of(html)
    assert kept["inputs.0.amount"] == "2.75 mL" and kept["inputs.0.item"] == stock["FeCl3·6H2O"]
    assert kept["notes"] == "ground after drying"
    # The problem sits in the amount's own label, next to the field.
    amount_label = html.split('name="inputs.0.amount"')[1].split("</label>")[0]
    assert "measured in units of [mass], not mL" in amount_label
    duration_label = html.split('name="parameters.duration"')[1].split("</label>")[0]
    assert "duration is required" in duration_label
    assert counts(app) == before
    no_csrf = scientist.post("/ui/steps", data={**_filled(form, stock), "csrf": "0" * 64})
    assert no_csrf.status_code == 403 and counts(app) == before


def test_an_out_of_range_value_is_logged_as_a_deviation_with_its_justification(
    app, api, scientist: TestClient, stock: dict[str, str]
):
    form = fields_of(scientist.get("/ui/steps/new", params={"protocol": SYNTHESIS}).text)
    before = counts(app)
    hot = scientist.post("/ui/steps", data={**_filled(form, stock, **{"parameters.temperature": "120 degC"})})
    assert hot.status_code == 422
    offered = fields_of(hot.text)
    slot = next(k for k, v in offered.items() if k.endswith(".field") and v == "/parameters/temperature")
    justification = slot.removesuffix("field") + "justification"
    assert justification in offered and counts(app) == before
    short = scientist.post("/ui/steps", data={**offered, justification: "hot"})
    assert short.status_code == 422 and counts(app) == before
    label = short.text.split('name="parameters.temperature"')[1].split("</label>")[0]
    assert "the justification: String should have at least 10 characters" in label
    why = "exploratory batch: higher temperature for larger crystallites"
    done = scientist.post("/ui/steps", data={**offered, justification: why})
    assert done.status_code == 303, done.text
    step = api.get(f"/steps/{done.headers['location'].rsplit('/', 1)[1]}").json()
    assert step["deviating"] and step["deviations"][0]["field"] == "/parameters/temperature"
    assert step["deviations"][0]["justification"] == why
    page = scientist.get(done.headers["location"]).text
    row = page.split("<td>temperature</td>")[1].split("</tr>")[0]
    assert "120 °C" in row and "110 ± 5 °C" in row and why in row


def test_the_check_button_shows_the_dry_run_and_writes_nothing(app, scientist: TestClient, stock):
    form = fields_of(scientist.get("/ui/steps/new", params={"protocol": SYNTHESIS}).text)
    before = counts(app)
    checked = scientist.post("/ui/steps", data={**_filled(form, stock), "action": "check"})
    assert checked.status_code == 200
    assert 'id="dry-run"' in checked.text and "fe_linker_ratio" in checked.text
    assert "1.668" in checked.text  # (2.75 / 270.30) / (1.105 / 181.15)
    off = scientist.post(
        "/ui/steps", data={**_filled(form, stock, **{"inputs.1.amount": "1.5 g"}), "action": "check"}
    )
    assert "check failed: Fe : linker molar ratio" in off.text
    assert 'value="/checks/fe_linker_ratio"' in off.text  # a justification can be written right there
    assert counts(app) == before


def test_another_input_row_comes_by_a_round_trip(app, scientist: TestClient, stock):
    form = fields_of(scientist.get("/ui/steps/new", params={"protocol": SYNTHESIS}).text)
    assert "inputs.4.role" not in form
    before = counts(app)
    more = scientist.post("/ui/steps", data={**_filled(form, stock), "action": "add-input:wash_solvent"})
    assert more.status_code == 200
    grown = fields_of(more.text)
    assert grown["inputs.4.role"] == "wash_solvent" and grown["inputs.3.item"] == stock["ethanol"]
    assert counts(app) == before
    both = {**grown, "inputs.4.item": stock["DMF"], "inputs.4.amount": "60 mL", "action": "log"}
    done = scientist.post("/ui/steps", data=both)
    assert done.status_code == 303, done.text
    # An extra row left empty is not sent.
    again = fields_of(scientist.post("/ui/steps", data={**_filled(form, stock), "action": "add-input"}).text)
    assert again["inputs.4.role"] == "wash_solvent"
    assert (
        scientist.post("/ui/steps", data={**again, "idempotency_key": "other", "action": "log"}).status_code
        == 303
    )


def test_odd_field_names_are_refused_not_crashed_on(app, scientist: TestClient, stock):
    form = fields_of(scientist.get("/ui/steps/new", params={"protocol": SYNTHESIS}).text)
    before = counts(app)
    odd = {
        **_filled(form, stock),
        "inputs.x.role": "linker",
        "inputs.5000.role": "linker",
        "inputs.0.amount.value": "2",
        "parameters": "hot",
        "outputs.0.properties.": "x",
        "deviations.0.field": "/nowhere",
        "deviations.0.justification": "a long enough reason",
    }
    for action in ("log", "check", "add-input", "add-input:nope"):
        answer = scientist.post("/ui/steps", data={**odd, "action": action})
        assert answer.status_code in (200, 409, 422), (action, answer.text)
        assert answer.headers["content-type"].startswith("text/html")
    assert scientist.post("/ui/steps", data={"csrf": form["csrf"], "protocol": "x"}).status_code == 422
    assert counts(app) == before


# --- correct, void, release, sign -------------------------------------------------------------------------


def test_correcting_an_item_and_a_stale_form(app, api, scientist: TestClient):
    lot = receive(api, "DMF", "1 L", supplier_lot="SHBQ2290")
    form = fields_of(scientist.get(f"/ui/items/{lot['code']}/correct").text)
    assert form["version"] == "1" and form["supplier_lot"] == "SHBQ2290" and form["quantity"] == "1 L"
    other_tab = fields_of(scientist.get(f"/ui/items/{lot['code']}/correct").text)
    before = counts(app)
    no_reason = scientist.post(f"/ui/items/{lot['code']}/correct", data={**form, "supplier_lot": "SHBQ2291"})
    assert no_reason.status_code == 422 and counts(app) == before
    done = scientist.post(
        f"/ui/items/{lot['code']}/correct",
        data={**form, "supplier_lot": "SHBQ2291", "reason": "typo on label"},
    )
    assert done.status_code == 303
    shown = api.get(f"/items/{lot['code']}").json()
    assert shown["version"] == 2 and shown["supplier_lot"] == "SHBQ2291" and shown["quantity"]["value"] == 1
    before = counts(app)
    stale = scientist.post(
        f"/ui/items/{lot['code']}/correct", data={**other_tab, "name": "DMF anhydrous", "reason": "name it"}
    )
    assert stale.status_code == 412
    assert "Someone else changed" in stale.text and "SHBQ2290 → SHBQ2291" in stale.text
    kept = fields_of(stale.text)
    # The person's change is kept, laid over what the other correction made.
    assert kept["name"] == "DMF anhydrous" and kept["supplier_lot"] == "SHBQ2291" and kept["version"] == "2"
    assert counts(app) == before
    assert scientist.post(f"/ui/items/{lot['code']}/correct", data=kept).status_code == 303
    shown = api.get(f"/items/{lot['code']}").json()
    assert shown["name"] == "DMF anhydrous" and shown["supplier_lot"] == "SHBQ2291" and shown["version"] == 3


def test_voiding_an_item_and_a_step_with_a_reason(app, api, scientist: TestClient, stock):
    page = scientist.get(f"/ui/items/{stock['ethanol']}").text
    void = fields_of(page, "void")
    before = counts(app)
    short = scientist.post(f"/ui/items/{stock['ethanol']}/void", data={**void, "reason": "x"})
    assert short.status_code == 422 and "at least 3 characters" in short.text and counts(app) == before
    no_csrf = scientist.post(
        f"/ui/items/{stock['ethanol']}/void", data={**void, "csrf": "", "reason": "gone"}
    )
    assert no_csrf.status_code == 403 and counts(app) == before
    done = scientist.post(f"/ui/items/{stock['ethanol']}/void", data={**void, "reason": "wrong bottle"})
    assert done.status_code == 303
    assert api.get(f"/items/{stock['ethanol']}").json()["status"] == "voided"
    again = scientist.post(
        f"/ui/items/{stock['ethanol']}/void",
        data={**void, "idempotency_key": "another tab", "reason": "again"},
    )
    assert again.status_code == 409 and "already voided" in again.text

    form = fields_of(scientist.get("/ui/steps/new", params={"protocol": SYNTHESIS}).text)
    filled = _filled(form, {**stock, "ethanol": stock["DMF"]})
    step_url = scientist.post("/ui/steps", data=filled).headers["location"]
    step_void = fields_of(scientist.get(step_url).text, "void")
    assert scientist.post(f"{step_url}/void", data={**step_void, "reason": "logged twice"}).status_code == 303
    assert api.get(f"/steps/{step_url.rsplit('/', 1)[1]}").json()["status"] == "voided"


def test_a_reviewer_releases_a_quarantined_batch(app, api, as_role, people, stock):
    reviewer_api = as_role[Role.reviewer]
    template = api.get("/templates/nh2-mil-101-fe-hydrothermal").json()
    body = {
        k: template[k]
        for k in (
            "name",
            "title",
            "description",
            "kind",
            "parameters",
            "inputs",
            "outputs",
            "constants",
            "derived",
            "checks",
        )
    }
    body["outputs"][0]["quarantined"] = True
    assert reviewer_api.post("/templates", json=body).status_code == 201
    scientist = logged_in(app, people[Role.scientist])
    form = fields_of(
        scientist.get("/ui/steps/new", params={"protocol": "nh2-mil-101-fe-hydrothermal@2"}).text
    )
    step_url = scientist.post("/ui/steps", data=_filled(form, stock)).headers["location"]
    batch = api.get(f"/steps/{step_url.rsplit('/', 1)[1]}").json()["outputs"][0]["code"]
    assert api.get(f"/items/{batch}").json()["status"] == "quarantined"

    page = scientist.get(f"/ui/items/{batch}").text
    assert "/release" not in page  # a scientist does not release
    before = counts(app)
    forged = scientist.post(f"/ui/items/{batch}/release", data={"csrf": csrf_of(page)})
    assert forged.status_code == 403 and counts(app) == before

    reviewer = logged_in(app, people[Role.reviewer])
    release = fields_of(reviewer.get(f"/ui/items/{batch}").text, "release")
    done = reviewer.post(f"/ui/items/{batch}/release", data={**release, "note": "XRD matches"})
    assert done.status_code == 303
    assert api.get(f"/items/{batch}").json()["status"] == "released"
    assert api.get(f"/items/{batch}/history").json()[-1]["reason"] == "XRD matches"
    twice = reviewer.post(f"/ui/items/{batch}/release", data={**release, "idempotency_key": "new"})
    assert twice.status_code == 409 and "not quarantined" in twice.text


def test_signing_a_record_re_enters_the_password(app, api, people, stock):
    person = people[Role.scientist]
    scientist = logged_in(app, person)
    code = stock["DMF"]
    sign = fields_of(scientist.get(f"/ui/items/{code}").text, "sign")
    assert sign["record"] == f"item:{code}" and sign["meaning"] == "authored"
    assert '<option value="approved">' not in scientist.get(f"/ui/items/{code}").text  # a reviewer's meaning
    before = counts(app)
    wrong = scientist.post("/ui/signatures", data={**sign, "meaning": "authored", "password": "nope"})
    assert wrong.status_code == 401 and "wrong password" in wrong.text
    assert counts(app)[:4] == before[:4]  # no signature; the failed attempt is counted, as in the API
    not_mine = scientist.post(
        "/ui/signatures", data={**sign, "meaning": "approved", "password": person.password}
    )
    assert not_mine.status_code == 403
    done = scientist.post("/ui/signatures", data={**sign, "meaning": "authored", "password": person.password})
    assert done.status_code == 303 and done.headers["location"] == f"/ui/items/{code}"
    signed = api.get("/signatures", params={"record": f"item:{code}"}).json()
    assert [s["meaning"] for s in signed] == ["authored"]
    assert "authored</strong> by" in scientist.get(f"/ui/items/{code}").text


def test_an_auditor_sees_no_write_form_on_records(app, people, stock):
    auditor = logged_in(app, people[Role.auditor])
    page = auditor.get(f"/ui/items/{stock['DMF']}").text
    assert 'id="actions"' not in page and "/void" not in page and "/ui/signatures" not in page
    before = counts(app)
    for url, data in (
        (f"/ui/items/{stock['DMF']}/void", {"reason": "forged"}),
        (f"/ui/items/{stock['DMF']}/correct", {"version": "1", "name": "x", "reason": "forged"}),
        (f"/ui/items/{stock['DMF']}/release", {}),
        ("/ui/signatures", {"record": f"item:{stock['DMF']}", "meaning": "reviewed", "password": "x"}),
        ("/ui/steps", {"protocol": SYNTHESIS}),
    ):
        forged = auditor.post(url, data={"csrf": csrf_of(page), **data})
        assert forged.status_code == 403, url
    assert counts(app) == before
