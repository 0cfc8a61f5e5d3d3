"""Where the client finds its server and token: flag, then environment, then config file, then default."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clients.client import DEFAULT_URL


class ConfigError(Exception):
    """The config file exists but cannot be used."""


@dataclass(frozen=True)
class ClientConfig:
    url: str
    token: str | None
    config_file: Path


def config_path() -> Path:
    """`$CELLPROV_CONFIG`, else `$XDG_CONFIG_HOME/cellprov/config.toml` (default `~/.config/...`)."""
    if explicit := os.environ.get("CELLPROV_CONFIG"):
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "cellprov" / "config.toml"


def read_config_file(path: Path) -> dict[str, Any]:
    """The keys of the TOML config file (`url`, `token`); an absent file is an empty config."""
    try:
        with path.open("rb") as file:
            values = tomllib.load(file)
    except FileNotFoundError:
        return {}
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from exc
    for key in ("url", "token"):
        if key in values and not isinstance(values[key], str):
            raise ConfigError(f"config file {path}: `{key}` must be a string")
    return values


def resolve(url: str | None = None, token: str | None = None) -> ClientConfig:
    """Each setting from the first place that has it: the argument (a CLI flag), the environment
    (`CELLPROV_URL`, `CELLPROV_TOKEN`), the config file, the default."""
    path = config_path()
    from_file: dict[str, Any] | None = None

    def file_value(key: str) -> str | None:
        nonlocal from_file
        if from_file is None:
            from_file = read_config_file(path)
        value = from_file.get(key)
        return value if isinstance(value, str) and value else None

    resolved_url = url or os.environ.get("CELLPROV_URL") or file_value("url") or DEFAULT_URL
    resolved_token = token or os.environ.get("CELLPROV_TOKEN") or file_value("token")
    return ClientConfig(url=resolved_url.rstrip("/"), token=resolved_token, config_file=path)
