"""Where the client finds its server and token: flag, then environment, then config file, then default.

`cellprov login` writes the config file (readable by its owner only: it holds a bearer token);
`cellprov logout` takes the token out of it again."""

from __future__ import annotations

import json
import os
import tempfile
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
    for key in ("url", "token", "username"):
        if key in values and not isinstance(values[key], str):
            raise ConfigError(f"config file {path}: `{key}` must be a string")
    if "token_id" in values and not isinstance(values["token_id"], int):
        raise ConfigError(f"config file {path}: `token_id` must be a number")
    return values


def write_config_file(path: Path, values: dict[str, str | int]) -> None:
    """Replace the config file with `values`, mode 0600 from its first byte (a token is a password)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    # JSON strings and integers are valid TOML values; sorted keys keep the file the same run to run.
    lines = [f"{key} = {json.dumps(value, ensure_ascii=False)}\n" for key, value in sorted(values.items())]
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".config-", suffix=".toml")  # mode 0600
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write("# written by `cellprov login`; holds your token: keep it to yourself\n")
            file.writelines(lines)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def save_login(path: Path, url: str, username: str, token: str, token_id: int) -> None:
    """Keep what `cellprov login` got, and whatever else the file held."""
    values = read_config_file(path)
    values.update(url=url, username=username, token=token, token_id=token_id)
    write_config_file(path, values)


def forget_token(path: Path) -> None:
    """Take the token out of the config file; the server's URL and the username stay for the next login."""
    values = read_config_file(path)
    for key in ("token", "token_id"):
        values.pop(key, None)
    write_config_file(path, values)


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
