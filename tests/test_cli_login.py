"""`cellprov login` and `cellprov logout` as a person types them, through a pseudo-terminal, against a real
server on each database. (What `cellprov-server serve` prints at its start is checked in test_cli.py.)"""

from __future__ import annotations

import os
import stat
import sys
import tomllib
from pathlib import Path

import httpx
import pexpect
import pytest

from schemas import Role
from tests.conftest import Person

CELLPROV = str(Path(sys.executable).with_name("cellprov"))


def shell_env(config: Path) -> dict[str, str]:
    """A lab PC's shell: no token or URL in the environment, the config file in the test's folder."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("CELLPROV_")}
    env.update(CELLPROV_CONFIG=str(config), COLUMNS="200", TERM="dumb", NO_COLOR="1")
    return env


def log_in(url: str, username: str, password: str, env: dict[str, str]) -> tuple[int, str]:
    """Type a username and a password at `cellprov login`'s prompts; returns the exit code and the screen."""
    child = pexpect.spawn(CELLPROV, ["login", "--url", url], env=env, encoding="utf-8", timeout=60)
    child.expect("username")
    child.sendline(username)
    child.expect("password")
    child.sendline(password)
    child.expect(pexpect.EOF)
    child.close()
    return child.exitstatus or 0, child.before or ""


def run(env: dict[str, str], *args: str) -> tuple[int, str]:
    child = pexpect.spawn(CELLPROV, list(args), env=env, encoding="utf-8", timeout=60)
    child.expect(pexpect.EOF)
    child.close()
    return child.exitstatus or 0, child.before or ""


def test_login_keeps_url_and_token_privately_and_logout_revokes_the_token(
    live_server: str, people: dict[Role, Person], tmp_path: Path
) -> None:
    root = live_server.removesuffix("/api/v1")
    config = tmp_path / "cellprov" / "config.toml"
    env = shell_env(config)
    scientist = people[Role.scientist]

    code, screen = log_in(root, scientist.username, "not-the-password", env)
    assert code == 1 and "wrong username or password" in screen
    assert not config.exists()

    code, screen = log_in(root, scientist.username, scientist.password, env)
    assert code == 0, screen
    assert f"Logged in to {root} as {scientist.username}" in screen
    assert scientist.password not in screen  # typed blind
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    kept = tomllib.loads(config.read_text())
    assert kept["url"] == root and kept["username"] == scientist.username
    token = kept["token"]
    me = httpx.get(f"{live_server}/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json()["username"] == scientist.username

    # Every command now finds the server and the token without flags or environment.
    code, screen = run(env, "items", "list", "--kind", "lot")
    assert code == 0, screen
    assert "items" in screen

    code, screen = run(env, "logout")
    assert code == 0, screen
    assert "Revoked token" in screen
    refused = httpx.get(f"{live_server}/me", headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 401
    kept = tomllib.loads(config.read_text())
    assert "token" not in kept and kept["url"] == root  # the next login asks only for the password

    code, screen = run(env, "items", "list")
    assert code == 1 and "401" in screen and "cellprov login" in screen


def test_login_again_asks_for_the_same_server_and_revokes_the_token_it_replaces(
    live_server: str, people: dict[Role, Person], tmp_path: Path
) -> None:
    root = live_server.removesuffix("/api/v1")
    config = tmp_path / "config.toml"
    env = shell_env(config)
    admin = people[Role.admin]
    assert log_in(f"{root}/ui", admin.username, admin.password, env)[0] == 0  # the browser's address works
    first = tomllib.loads(config.read_text())["token"]

    child = pexpect.spawn(CELLPROV, ["login"], env=env, encoding="utf-8", timeout=60)
    child.expect(f"username \\[{admin.username}\\]")  # remembered, Enter keeps it
    child.sendline("")
    child.expect("password")
    child.sendline(admin.password)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    second = tomllib.loads(config.read_text())["token"]
    assert second != first
    headers = {"Authorization": f"Bearer {first}"}
    assert httpx.get(f"{live_server}/me", headers=headers).status_code == 401


@pytest.mark.parametrize("kept", ["", 'url = "http://127.0.0.1:9"\n'])
def test_logout_without_a_kept_token_says_so(tmp_path: Path, kept: str) -> None:
    config = tmp_path / "config.toml"
    if kept:
        config.write_text(kept)
    code, screen = run(shell_env(config), "logout")
    assert code == 0 and "Not logged in" in screen
