"""The built-in item types (reagents, materials, cells) every database starts with."""

from importlib import resources
from typing import Any

import yaml


def builtin_types() -> list[dict[str, Any]]:
    """The entries of builtin_types.yaml: name, kind, code prefix and the rest of each type."""
    text = resources.files("labrules").joinpath("builtin_types.yaml").read_text(encoding="utf-8")
    types: list[dict[str, Any]] = yaml.safe_load(text)
    return types


def builtin_type_names() -> set[str]:
    return {entry["name"] for entry in builtin_types()}
