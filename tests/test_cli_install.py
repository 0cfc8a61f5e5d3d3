"""The client installs alone on a lab PC: a fresh venv gets `pip install cellprov` (no server extra), cannot
import the server, and runs the README's tour against a live server started from the dev venv.

Slow (a venv and a real pip install, once per module), but part of the suite: it is the only proof that
clients/ really needs nothing of service/. pip finds the packages where this machine's pip config says
(its wheel folders and cache), as a lab PC finds them on PyPI.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest

from schemas import Role
from tests.conftest import Person

REPO = Path(__file__).resolve().parents[1]
# What the distribution is built from; tests/, bench/ and the dev venv stay behind.
SOURCES = ("pyproject.toml", "README.md", "clients", "schemas", "labrules", "service", "migrations")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def lab_pc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh venv with only the client installed; yields its bin/ folder."""
    tmp = tmp_path_factory.mktemp("lab-pc")
    source = tmp / "cellprov"
    source.mkdir()
    for name in SOURCES:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(REPO / name, source / name)
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV")}
    installed = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", str(source)],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    yield venv / "bin"


def lab_shell(config: Path) -> dict[str, str]:
    """The lab PC's shell: its own venv, no checkout on the path, nothing of cellprov in the environment."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("CELLPROV_") and key not in ("PYTHONPATH", "VIRTUAL_ENV")
    }
    env.update(CELLPROV_CONFIG=str(config), COLUMNS="200", TERM="dumb", NO_COLOR="1")
    return env


def run(bin_dir: Path, env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(bin_dir / "cellprov"), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=300
    )


def test_the_client_alone_has_no_server_in_it(lab_pc: Path, tmp_path: Path) -> None:
    env = lab_shell(tmp_path / "config.toml")
    python = str(lab_pc / "python")
    for module in ("fastapi", "sqlmodel", "uvicorn"):
        missing = subprocess.run(
            [python, "-c", f"import {module}"], env=env, cwd=tmp_path, capture_output=True
        )
        assert missing.returncode != 0, f"{module} was installed with the client"
    server = subprocess.run(
        [python, "-c", "import service"], env=env, cwd=tmp_path, capture_output=True, text=True
    )
    assert server.returncode != 0 and "cellprov[server]" in server.stderr
    # The rules that need no server run here: a template is checked before it is published.
    template = REPO / "service" / "templates" / "library" / "03-coating-solution.yaml"
    checked = run(lab_pc, env, tmp_path, "template", "validate", str(template))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "is a valid template" in checked.stdout


def test_the_readme_tour_runs_from_the_client_alone(
    lab_pc: Path, live_server: str, people: dict[Role, Person], tmp_path: Path
) -> None:
    root = live_server.removesuffix("/api/v1")
    env = lab_shell(tmp_path / "config.toml")
    admin = people[Role.admin]

    login = pexpect.spawn(
        str(lab_pc / "cellprov"), ["login", "--url", root], env=env, cwd=str(tmp_path), encoding="utf-8"
    )
    login.expect("username")
    login.sendline(admin.username)
    login.expect("password")
    login.sendline(admin.password)
    login.expect(pexpect.EOF, timeout=120)
    login.close()
    assert login.exitstatus == 0, login.before
    assert f"Logged in to {root}" in (login.before or "")

    loaded = run(lab_pc, env, tmp_path, "example", "load")
    assert loaded.returncode == 0, loaded.stdout + loaded.stderr
    cell = loaded.stdout.split("try: cellprov trace ")[1].split()[0]

    listed = run(lab_pc, env, tmp_path, "items", "list", "--kind", "cell")
    assert listed.returncode == 0, listed.stderr
    assert cell in listed.stdout

    traced = run(lab_pc, env, tmp_path, "trace", cell)
    assert traced.returncode == 0, traced.stderr
    assert traced.stdout.splitlines()[0].startswith(cell)
    assert "FECL-" in traced.stdout and "MOF-" in traced.stdout
