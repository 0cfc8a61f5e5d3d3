"""`cellprov backup` and `cellprov restore`: a database and its file store, copied consistently, run on the
server's machine (they talk to the database, not to the API).

A backup is a folder: the database (SQLite's online backup API, or `pg_dump --format=custom`), the file
store, and manifest.json with the audit chain's head at the time. Restoring checks the chain again and
compares it with the manifest, so a backup that does not round-trip is noticed at once, not in an audit.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

ops_app = typer.Typer()
console = Console()
err_console = Console(stderr=True)

MANIFEST = "manifest.json"
SQLITE_FILE = "database.sqlite3"
POSTGRES_FILE = "database.pgdump"

DatabaseOption = Annotated[
    str | None,
    typer.Option("--database-url", help="Default: $CELLPROV_DATABASE_URL (as the server uses it)."),
]
FilesOption = Annotated[Path | None, typer.Option("--files-dir", help="Default: $CELLPROV_FILES_DIR.")]
KeyOption = Annotated[
    Path | None,
    typer.Option("--audit-key-file", help="The checkpoint signing key. Default: $CELLPROV_AUDIT_KEY_FILE."),
]
KEY_FILE = "audit-key.pem"


def _settings(database_url: str | None, files_dir: Path | None, key_file: Path | None = None) -> Any:
    from service.config import Settings

    overrides: dict[str, Any] = {}
    if database_url:
        overrides["database_url"] = database_url
    if files_dir:
        overrides["files_dir"] = files_dir
    if key_file:
        overrides["audit_key_file"] = key_file
    return Settings(**overrides)


def _libpq_url(sqlalchemy_url: str) -> str:
    """pg_dump and pg_restore speak libpq URLs: no SQLAlchemy driver suffix."""
    return sqlalchemy_url.replace("postgresql+psycopg://", "postgresql://", 1)


def _sqlite_path(sqlalchemy_url: str) -> Path:
    return Path(sqlalchemy_url.removeprefix("sqlite:///"))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _chain(settings: Any, at: int | None = None) -> dict[str, Any]:
    """The audit chain as the database holds it now, verified from the first event to the head; with `at`,
    also the hash of event number `at` (to compare with an earlier head)."""
    from sqlalchemy import text

    from schemas.events import GENESIS_HASH
    from service.audit import logic as audit
    from service.db import make_engine, open_session

    engine = make_engine(settings)
    try:
        with open_session(engine, write=False) as session:
            check = audit.verify(session)
            size, head = audit.head(session)
            then: str | None = GENESIS_HASH
            if at:
                then = session.execute(
                    text("SELECT hash FROM audit_events WHERE seq = :n"), {"n": at}
                ).scalar()
    finally:
        engine.dispose()
    problem = None if check.ok else check.model_dump_json()
    return {"ok": check.ok, "size": size, "head": head, "problem": problem, "hash_at": then}


def _run(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        err_console.print(f"[red]{command[0]} failed:[/] {done.stderr.strip()}")
        raise typer.Exit(1)


@ops_app.command()
def backup(
    destination: Annotated[Path, typer.Argument(help="A new folder to write the backup into.")],
    database_url: DatabaseOption = None,
    files_dir: FilesOption = None,
    audit_key_file: KeyOption = None,
) -> None:
    """Back up the database, the file store and the audit signing key while the server keeps running."""
    settings = _settings(database_url, files_dir, audit_key_file)
    if destination.exists() and any(destination.iterdir()):
        err_console.print(f"[red]{destination} is not empty; choose a new folder.[/]")
        raise typer.Exit(1)
    destination.mkdir(parents=True, exist_ok=True)
    url = settings.sqlalchemy_url
    if settings.is_sqlite:
        database = destination / SQLITE_FILE
        # The online backup API copies a consistent snapshot page by page while writers go on.
        source = sqlite3.connect(_sqlite_path(url))
        target = sqlite3.connect(database)
        try:
            source.backup(target)
        finally:
            target.close()
            source.close()
        chain = _chain(_settings(f"sqlite:///{database}", files_dir))
    else:
        database = destination / POSTGRES_FILE
        # Read before the dump: the dump (one snapshot, consistent across tables) holds at least this chain.
        chain = _chain(settings)
        _run(
            ["pg_dump", "--format=custom", "--no-owner", "--file", str(database), "--dbname", _libpq_url(url)]
        )
    if settings.files_dir.exists():
        shutil.copytree(settings.files_dir, destination / "files")
    if settings.audit_key_file.exists():
        shutil.copy2(settings.audit_key_file, destination / KEY_FILE)
    manifest = {
        "made_at": datetime.now(UTC).isoformat(),
        "database": "sqlite" if settings.is_sqlite else "postgresql",
        "database_file": database.name,
        "database_sha256": _sha256(database),
        # The chain of the copy (SQLite), or of the database just before the dump (PostgreSQL; the dump
        # may hold a few events more): a restore must verify and contain this head.
        "audit": chain,
    }
    (destination / MANIFEST).write_text(json.dumps(manifest, indent=2))
    console.print(
        f"Backed up {manifest['database']} ({chain['size']} audit events, head {chain['head'][:16]}…) "
        f"and the file store to {destination}."
    )


@ops_app.command()
def restore(
    source: Annotated[Path, typer.Argument(help="A folder written by `cellprov backup`.", exists=True)],
    database_url: DatabaseOption = None,
    files_dir: FilesOption = None,
    audit_key_file: KeyOption = None,
    force: Annotated[bool, typer.Option(help="Overwrite a database that already has data.")] = False,
) -> None:
    """Restore a backup into the configured database and file store (stop the server first), then verify
    the audit chain against the backup's manifest. Exit code 1 if anything does not match."""
    settings = _settings(database_url, files_dir, audit_key_file)
    manifest = json.loads((source / MANIFEST).read_text())
    database = source / manifest["database_file"]
    if _sha256(database) != manifest["database_sha256"]:
        err_console.print(f"[red]{database} does not match its manifest: the backup is damaged.[/]")
        raise typer.Exit(1)
    kind = "sqlite" if settings.is_sqlite else "postgresql"
    if kind != manifest["database"]:
        err_console.print(f"[red]This is a {manifest['database']} backup; the target is {kind}.[/]")
        raise typer.Exit(1)
    url = settings.sqlalchemy_url
    if settings.is_sqlite:
        path = _sqlite_path(url)
        if path.exists() and path.stat().st_size > 0 and not force:
            err_console.print(f"[red]{path} exists; pass --force to overwrite it.[/]")
            raise typer.Exit(1)
        path.parent.mkdir(parents=True, exist_ok=True)
        source_db = sqlite3.connect(database)
        target = sqlite3.connect(path)
        try:
            source_db.backup(target)
        finally:
            target.close()
            source_db.close()
    else:
        command = ["pg_restore", "--no-owner", "--exit-on-error", "--single-transaction"]
        if force:
            command += ["--clean", "--if-exists"]
        _run([*command, "--dbname", _libpq_url(url), str(database)])
    if (source / "files").exists():
        shutil.copytree(source / "files", settings.files_dir, dirs_exist_ok=True)
    if (source / KEY_FILE).exists() and not settings.audit_key_file.exists():
        settings.audit_key_file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        shutil.copy2(source / KEY_FILE, settings.audit_key_file)  # keeps its 0600
    expected = manifest["audit"]
    chain = _chain(settings, at=expected["size"])
    if not chain["ok"] or chain["size"] < expected["size"] or chain["hash_at"] != expected["head"]:
        err_console.print(f"[red]The restored audit chain does not verify or match the backup:[/] {chain}")
        raise typer.Exit(1)
    console.print(
        f"Restored {kind}: {chain['size']} audit events; the chain verifies and holds the backup's head."
    )
