"""`cellprov step new TEMPLATE`: the questions a template asks, each answer checked when it is given.

The checks are clients/wizard.py's; this module only asks, shows why an answer is refused and asks again.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from clients import wizard
from clients.cli.output import number, quantity_text
from clients.client import CellprovError, Client
from schemas import (
    DeviationIn,
    InputRole,
    ItemOut,
    OutputSpec,
    ParameterKind,
    ParameterSpec,
    Quantity,
    StepIn,
    StepInputIn,
    StepOut,
    StepOutputIn,
    TemplateCheckIn,
    TemplateCheckOut,
    TemplateOut,
)


class Wizard:
    """One run of the questions of `template`, kept as the answers come (so none is lost on a refusal)."""

    def __init__(self, client: Client, template: TemplateOut, console: Console, errors: Console) -> None:
        self.client, self.template, self.console, self.errors = client, template, console, errors
        self.deviations: dict[str, str] = {}
        self.parameters: dict[str, Any] = {}
        self.inputs: list[StepInputIn] = []
        self.outputs: list[StepOutputIn] = []
        self.started_at: datetime | None = None
        self.ended_at: datetime | None = None
        self.notes: str | None = None
        # What earlier answers take from each item, in the item's own unit: two entries of one lot add up.
        self.used: dict[str, float] = defaultdict(float)

    # -- asking ------------------------------------------------------------------------------------------

    def ask(self, label: str, default: str | None = None) -> str:
        text: str = typer.prompt(
            label, default=default if default is not None else "", show_default=bool(default)
        )
        return text.strip()

    def refuse(self, why: str) -> None:
        self.errors.print(f"  [red]✗ {escape(why)}[/]")

    def settle(self, answer: wizard.Answer) -> tuple[bool, Any]:
        """(done, value): an out-of-range value is kept only with a justification, written as a deviation."""
        if isinstance(answer, wizard.Refused):
            self.refuse(answer.why)
            return False, None
        if isinstance(answer, wizard.OutOfRange):
            self.errors.print(f"  [yellow]! {escape(answer.why)}[/]")
            if not typer.confirm("  keep it as a deviation from the template?", default=False):
                return False, None
            self.deviations[answer.pointer] = self.justify(answer.pointer)
        return True, answer.value

    def justify(self, pointer: str) -> str:
        while True:
            text = self.ask(f"  why (justification for {pointer})")
            if (problem := wizard.justification_problem(text)) is None:
                return text
            self.refuse(problem)

    def times(self) -> None:
        while True:
            started = wizard.check_time(self.ask("started at (YYYY-MM-DD HH:MM)", "now"), _now())
            if isinstance(started, wizard.Accepted):
                break
            self.refuse(started.why)
        while True:
            ended = wizard.check_time(self.ask("ended at (YYYY-MM-DD HH:MM)", "now"), _now(), started.value)
            if isinstance(ended, wizard.Accepted):
                break
            self.refuse(ended.why)
        self.started_at, self.ended_at = started.value, ended.value

    def parameter(self, spec: ParameterSpec) -> None:
        optional = "" if spec.required else ", Enter to leave out"
        if spec.kind == ParameterKind.choice:
            hint = " | ".join(spec.choices or [])
        elif spec.kind == ParameterKind.bool:
            hint = "yes | no"
        elif spec.kind == ParameterKind.text:
            hint = "text"
        else:
            hint = spec.describe()
        default = f"{spec.nominal:g} {spec.unit or ''}".strip() if spec.nominal is not None else None
        while True:
            done, value = self.settle(
                wizard.check_parameter(spec, self.ask(f"{spec.name} ({hint}{optional})", default))
            )
            if done:
                if value is not None:
                    self.parameters[spec.name] = value
                return

    def item(self, role: InputRole, code: str) -> ItemOut | None:
        try:
            item = self.client.item(code)
        except CellprovError as exc:
            if exc.status != 404:
                raise
            self.refuse(wizard.no_such_item(code, self.client.codes_like(code)))
            return None
        if (refusal := wizard.check_item(role, item)) is not None:
            self.refuse(refusal.why)
            return None
        return item

    def role(self, role: InputRole) -> None:
        most = role.max_count if role.max_count is not None else 1000
        taken = 0
        while taken < most:
            needed = taken < role.min_count
            label = f"{role.role}: item code ({' or '.join(role.types)})" + (
                "" if needed else ", Enter when done"
            )
            code = self.ask(label)
            if not code:
                if needed:
                    self.refuse(f"the {role.role} role needs {role.min_count} item(s)")
                    continue
                return
            item = self.item(role, code)
            if item is None:
                continue
            pointer = f"/inputs/{len(self.inputs)}/amount"
            amount = None
            if role.amount is not None:
                hint = role.amount.describe() + ("" if role.amount.required else ", Enter to leave out")
                left = item.remaining or item.quantity
                shown = f"; {quantity_text(left)} left" if left is not None else ""
                while True:
                    text = self.ask(f"  amount of {item.code} ({hint}{shown})")
                    done, amount = self.settle(
                        wizard.check_amount(role, item, text, pointer, self.used[item.code])
                    )
                    if done:
                        break
                if amount is not None and left is not None:
                    self.used[item.code] += wizard.convert(amount, left.unit) or 0.0
            self.inputs.append(StepInputIn(role=role.role, item=item.code, amount=amount))
            taken += 1

    def output(self, spec: OutputSpec) -> None:
        type_name = spec.types[0]
        if len(spec.types) > 1:
            type_name = click.prompt(f"makes ({' | '.join(spec.types)})", type=click.Choice(spec.types))
        most = spec.max_count or 1000
        count = click.prompt(
            f"how many {type_name}", default=max(spec.min_count, 1), type=click.IntRange(spec.min_count, most)
        )
        if count == 0:
            return
        where = f"/outputs/{len(self.outputs)}"
        name = self.ask(f"  name of the {type_name} (Enter for none)") or None
        quantity: Quantity | None = None
        if spec.quantity is not None:
            each = "each " if count > 1 else ""
            while True:
                text = self.ask(f"  quantity of {each}{type_name} ({spec.quantity.describe()})")
                done, quantity = self.settle(
                    wizard.check_output_quantity(spec.quantity, text, type_name, f"{where}/quantity")
                )
                if done:
                    break
        properties: dict[str, Any] = {}
        for prop in spec.properties:
            optional = "" if prop.required else ", Enter to leave out"
            while True:
                text = self.ask(f"  {prop.name} ({prop.describe()}{optional})")
                done, value = self.settle(
                    wizard.check_property(prop, text, f"{where}/properties/{prop.name}")
                )
                if done:
                    break
            if value is not None:
                properties[prop.name] = value
        self.outputs.append(
            StepOutputIn(type=type_name, count=count, name=name, quantity=quantity, properties=properties)
        )

    # -- the whole step ----------------------------------------------------------------------------------

    def step(self) -> StepIn:
        return StepIn(
            protocol=self.template.ref,
            started_at=self.started_at,
            ended_at=self.ended_at,
            parameters=self.parameters,
            inputs=self.inputs,
            outputs=self.outputs,
            notes=self.notes,
            deviations=[DeviationIn(field=f, justification=j) for f, j in self.deviations.items()],
        )

    def dry_run(self) -> TemplateCheckOut:
        """The template's verdict on the answers, computed checks too; one out of range may be justified."""
        while True:
            step = self.step()
            verdict = self.client.check_template(
                self.template.name,
                self.template.version,
                TemplateCheckIn(
                    parameters=step.parameters,
                    inputs=step.inputs,
                    outputs=step.outputs,
                    deviations=step.deviations,
                ),
            )
            show_dry_run(self.console, verdict)
            open_checks = [
                p for p in verdict.problems if p.pointer.startswith("/checks/") and "range" in p.detail
            ]
            if not open_checks:
                return verdict
            for problem in open_checks:
                if not typer.confirm(f"  keep {problem.pointer} as a deviation?", default=False):
                    return verdict
                self.deviations[problem.pointer] = self.justify(problem.pointer)

    def run(self) -> StepIn | None:
        """Ask everything, show the dry run and a summary; the step to log, or None if not confirmed."""
        template = self.template
        self.console.print(f"[bold]{escape(template.ref)}[/] {escape(template.title)}")
        self.times()
        for parameter in template.parameters:
            self.parameter(parameter)
        for role in template.inputs:
            self.role(role)
        for spec in template.outputs:
            self.output(spec)
        self.notes = self.ask("notes (Enter for none)") or None
        self.dry_run()
        show_summary(self.console, self.step())
        return self.step() if typer.confirm("log this step?", default=True) else None


def _now() -> datetime:
    return datetime.now(UTC).astimezone()


def show_dry_run(console: Console, verdict: TemplateCheckOut) -> None:
    table = Table("check", "value", "verdict", title=f"dry run of {escape(verdict.protocol)}")
    out_of_range = {p.pointer: p for p in verdict.problems}
    deviating = {d.field for d in verdict.deviations}
    for name, value in verdict.computed.items():
        pointer = f"/checks/{name}"
        mark = (
            "[yellow]deviation[/]"
            if pointer in deviating
            else f"[red]{escape(out_of_range[pointer].detail)}[/]"
            if pointer in out_of_range
            else "[green]ok[/]"
        )
        table.add_row(escape(name), escape(quantity_text(value)), mark)
    console.print(table)
    for problem in verdict.problems:
        if not problem.pointer.startswith("/checks/"):
            console.print(f"  [red]✗ {escape(problem.pointer)}: {escape(problem.detail)}[/]")


def show_summary(console: Console, step: StepIn) -> None:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    table.add_row("protocol", escape(step.protocol))
    if step.started_at:
        table.add_row("started", f"{step.started_at:%Y-%m-%d %H:%M}")
    if step.ended_at:
        table.add_row("ended", f"{step.ended_at:%Y-%m-%d %H:%M}")
    for name, value in step.parameters.items():
        table.add_row(escape(name), escape(_value_text(value)))
    for entry in step.inputs:
        amount = f"  {quantity_text(entry.amount)}" if entry.amount else ""
        table.add_row(escape(entry.role), escape(entry.item + amount))
    for output in step.outputs:
        each = " each" if output.count > 1 else ""
        quantity = f", {quantity_text(output.quantity)}{each}" if output.quantity else ""
        name = f" “{output.name}”" if output.name else ""
        table.add_row("makes", escape(f"{output.count} × {output.type}{name}{quantity}"))
    for deviation in step.deviations:
        table.add_row("[yellow]deviation[/]", escape(f"{deviation.field}: {deviation.justification}"))
    if step.notes:
        table.add_row("notes", escape(step.notes))
    console.print(table)


def _value_text(value: Any) -> str:
    if isinstance(value, Quantity | dict):
        return quantity_text(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return number(value) if isinstance(value, float) else str(value)


def keep_answers(step: StepIn, folder: Path) -> Path:
    """Write the answers where `cellprov step log FILE` can send them again."""
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    path = folder / f"step-{step.protocol.replace('@', '-')}-{stamp}.yaml"
    path.write_text(wizard.answers_as_yaml(step), encoding="utf-8")
    return path


def log_by_wizard(
    client: Client,
    template: TemplateOut,
    console: Console,
    errors: Console,
    show_refusal: Callable[[CellprovError], None],
) -> StepOut | None:
    """Run the wizard and log the step. Answers not logged (declined, or refused by the server, shown with
    `show_refusal`) are kept in a YAML file in the working folder, and the user is told where."""
    questions = Wizard(client, template, console, errors)
    step = questions.run()
    if step is None:
        path = keep_answers(questions.step(), Path.cwd())
        errors.print(f"Nothing was logged; your answers are kept in {escape(_shown(path))}.", soft_wrap=True)
        return None
    try:
        return client.log_step(step)
    except CellprovError as exc:
        show_refusal(exc)
        path = keep_answers(step, Path.cwd())
        errors.print(
            f"[yellow]Your answers are kept in [bold]{escape(_shown(path))}[/]: correct it, then log it with "
            f"`cellprov step log {escape(_shown(path))}`.[/]",
            soft_wrap=True,
        )
        return None


def _shown(path: Path) -> str:
    return path.name if path.parent == Path.cwd() else str(path)
