"""How the command line writes numbers, units and counts for people (clients/cli/output.py)."""

import pytest

from clients.cli import output
from schemas import Quantity


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (147.79999999999998, "147.8"),
        (53.22, "53.22"),
        (0.00275, "0.00275"),
        (2750.0, "2750"),
        (100.0, "100"),
        (-3.5, "-3.5"),
        (0.0, "0"),
        (None, "—"),
    ],
)
def test_numbers_are_written_as_a_person_would(value: float | None, shown: str) -> None:
    assert output.number(value) == shown


def test_metrics_keep_four_significant_digits() -> None:
    assert output.number(147.83419, digits=4) == "147.8"
    assert output.number(99.87654, digits=4) == "99.88"


@pytest.mark.parametrize(
    ("unit", "shown"),
    [
        ("cm**2", "cm²"),
        ("mAh/g", "mAh/g"),
        ("g**-1", "g⁻¹"),
        ("mA*h/g", "mA·h/g"),
        ("degC", "°C"),
        ("percent", "%"),
        ("mL", "mL"),  # as the lab writes it, not pint's "ml"
    ],
)
def test_units_are_written_as_on_a_label(unit: str, shown: str) -> None:
    assert output.unit_text(unit) == shown


def test_a_quantity_reads_as_value_and_unit() -> None:
    assert output.quantity_text(Quantity(value=53.220000000000006, unit="cm**2")) == "53.22 cm²"
    assert output.quantity_text({"value": 147.79999999999998, "unit": "mAh/g"}) == "147.8 mAh/g"
    assert output.text(Quantity(value=99.9, unit="percent")) == "99.9 %"


def test_counts_agree_with_their_noun() -> None:
    assert output.count(1, "item") == "1 item"
    assert output.count(2, "item") == "2 items"
    assert output.count(0, "cycle") == "0 cycles"
    assert output.count(3, "analysis", "analyses") == "3 analyses"
