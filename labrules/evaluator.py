"""The safe evaluator of template checks: arithmetic over named quantities, parsed by `ast`, never `eval`.

An expression is parsed once into a Python AST and only these nodes are accepted: numbers, names,
`inputs.<role>` / `count.<role>` attribute lookups, + - * / **, unary minus and calls of abs, min and max.
Anything else (subscripts, other calls, lambdas, comprehensions, strings, dunder access) is refused when a
template is published, so a stored template cannot smuggle code into the service.
"""

import ast
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pint

MAX_LENGTH = 500
MAX_POWER = 10
# Names that hold a mapping of per-role values: `inputs.iron_source`, `count.substrate`.
NAMESPACES = ("inputs", "count")
_FUNCTIONS: dict[str, Callable[..., Any]] = {"abs": abs, "min": min, "max": max}
_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.Pow: lambda a, b: a**b,
}


class ExpressionError(ValueError):
    """The expression is not one the evaluator accepts (raised when a template is checked)."""


class Missing(LookupError):
    """A name has no value in this step (e.g. an input role left out); the check is skipped, since the
    missing value is reported on its own."""


@dataclass(frozen=True)
class Compiled:
    text: str
    tree: ast.expr
    names: frozenset[str]
    """Every name the expression reads: "temperature", "inputs.linker", "count.substrate"."""


def compile_expression(text: str) -> Compiled:
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"longer than {MAX_LENGTH} characters")
    try:
        tree = ast.parse(text, mode="eval").body
    except SyntaxError as exc:
        raise ExpressionError(f"not an arithmetic expression: {exc.msg}") from None
    names: set[str] = set()
    _vet(tree, names)
    return Compiled(text, tree, frozenset(names))


def _vet(node: ast.AST, names: set[str]) -> None:
    match node:
        case ast.Constant(value=value) if isinstance(value, int | float) and not isinstance(value, bool):
            return
        case ast.Name(id=name) if not name.startswith("_") and name not in NAMESPACES:
            names.add(name)
        case ast.Attribute(value=ast.Name(id=space), attr=attr) if (
            space in NAMESPACES and not attr.startswith("_")
        ):
            names.add(f"{space}.{attr}")
        case ast.BinOp(left=left, op=op, right=right) if type(op) in _BINARY:
            if isinstance(op, ast.Pow) and not (
                isinstance(right, ast.Constant)
                and isinstance(right.value, int | float)
                and abs(right.value) <= MAX_POWER
            ):
                raise ExpressionError(f"a power must be a number between -{MAX_POWER} and {MAX_POWER}")
            _vet(left, names)
            _vet(right, names)
        case ast.UnaryOp(op=ast.USub() | ast.UAdd(), operand=operand):
            _vet(operand, names)
        case ast.Call(func=ast.Name(id=function), args=args, keywords=[]) if function in _FUNCTIONS and args:
            for arg in args:
                _vet(arg, names)
        case _:
            raise ExpressionError(
                f"{ast.unparse(node)!r} is not allowed; use numbers, names, inputs.<role>, count.<role>, "
                "+ - * / **, parentheses and abs/min/max"
            )


Value = pint.Quantity | float


def evaluate(compiled: Compiled, values: Mapping[str, Value]) -> Value:
    """The expression's value; raises Missing when a name has no value, pint errors on unit mismatches."""
    return _eval(compiled.tree, values)


def _eval(node: ast.expr, values: Mapping[str, Value]) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name | ast.Attribute):
        name = node.id if isinstance(node, ast.Name) else f"{ast.unparse(node.value)}.{node.attr}"
        if name not in values:
            raise Missing(name)
        return values[name]
    if isinstance(node, ast.BinOp):
        return _BINARY[type(node.op)](_eval(node.left, values), _eval(node.right, values))
    if isinstance(node, ast.UnaryOp):
        operand = _eval(node.operand, values)
        return -operand if isinstance(node.op, ast.USub) else operand
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        return _FUNCTIONS[node.func.id](*(_eval(arg, values) for arg in node.args))
    raise ExpressionError(f"{ast.unparse(node)!r} is not allowed")  # unreachable after compile_expression
