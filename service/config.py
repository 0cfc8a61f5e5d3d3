"""Settings, read once from the environment (prefix CELLPROV_), a .env file, or files holding secrets."""

import stat
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url

DEFAULT_DATABASE_URL = "sqlite:///./var/cellprov.db"
# Passwords that ship in examples and images; a production server must not run on one of them.
WELL_KNOWN_PASSWORDS = frozenset(
    {"", "postgres", "password", "cellprov", "changeme", "change-me", "secret", "admin", "example", "test"}
)


class UnsafeSettings(RuntimeError):
    """CELLPROV_ENV=production with a default or well-known secret: the server refuses to start."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CELLPROV_", env_file=".env", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
    # A file holding the database URL (e.g. a Docker or Kubernetes secret); wins over database_url.
    database_url_file: Path | None = None
    files_dir: Path = Path("./var/files")
    # Where stored files live: unset (the folder files_dir), or s3://BUCKET/PREFIX for an S3-compatible
    # object store shared by several servers (endpoint and credentials: the standard AWS_* variables).
    files_url: str | None = None
    # The Ed25519 key audit checkpoints are signed with (created on first use, mode 0600). Outside the file
    # store: it is a secret, and several servers must sign with the one key (mount the same file on each).
    audit_key_file: Path = Path("./var/keys/audit-checkpoint-ed25519.pem")
    env: str = "development"
    default_page_size: int = 50
    max_page_size: int = 500
    token_days: int = 90
    # The licence .eln exports declare for the lab's records (RO-Crate requires one on the root dataset).
    export_license: str = "https://creativecommons.org/licenses/by/4.0/"
    # The lab's short name in the Battery Data Format's file names (InstitutionCode__CellName__YYYYMMDD_XXX).
    institution_code: str = "cellprov"
    # The largest file the store takes (a whole cycler file).
    max_file_bytes: int = 200 * 1024 * 1024

    # Request bodies: JSON is small; a multipart upload is one stored file plus its form fields.
    max_json_bytes: int = 1024 * 1024
    max_upload_bytes: int = 201 * 1024 * 1024
    # POST /import carries up to 20,000 operations (a few kB each as NDJSON).
    max_import_bytes: int = 128 * 1024 * 1024
    # .eln import (POST /import/eln): an archive is refused before anything is written when it unpacks to
    # more than this, has more members or entities than this, or its ro-crate-metadata.json is larger.
    eln_max_unpacked_bytes: int = 1024 * 1024 * 1024
    eln_max_members: int = 5000
    eln_max_metadata_bytes: int = 16 * 1024 * 1024
    eln_max_entities: int = 5000
    # Browser origins allowed to call the API (CORS); empty: same-origin only.
    cors_origins: list[str] = []
    log_level: str = "INFO"
    # Password attempts (logging in, signing): failures allowed per username, and per client address,
    # within the window; then 429 until the oldest failure leaves the window.
    auth_max_failures: int = 5
    auth_max_failures_per_client: int = 30
    auth_window_seconds: int = 900

    # The address people reach the service at (e.g. https://eln.lab.example): redirects and links are built
    # from it, never from a request's Host header. Unset: redirects stay relative.
    public_url: str | None = None
    # Host names the service answers to (TrustedHostMiddleware); empty: the public URL's host if one is
    # set, else any host (a development server).
    allowed_hosts: list[str] = []
    # Reverse proxies whose X-Forwarded-For/-Proto are believed ("127.0.0.1", "10.0.0.5,10.0.0.6", "*");
    # empty: none, every client is the address the connection came from.
    forwarded_allow_ips: str = ""
    # Slow clients: the request line and headers must arrive within header_timeout_seconds; a body within
    # body_timeout_seconds plus one second per body_min_rate bytes already received (as Apache's
    # mod_reqtimeout); then 408 and the connection is closed. An idle kept-alive connection is closed after
    # keep_alive_seconds.
    header_timeout_seconds: float = 10.0
    body_timeout_seconds: float = 20.0
    body_min_rate: int = 64 * 1024
    keep_alive_seconds: float = 5.0
    # Bounded work per request: the items one step (or one import operation) may make, and the largest
    # max_count a template may give an output.
    max_outputs_per_step: int = 1000

    @model_validator(mode="after")
    def _read_secret_files(self) -> "Settings":
        if self.database_url_file is not None:
            self.database_url = self.database_url_file.read_text().strip()
        return self

    @property
    def sqlalchemy_url(self) -> str:
        """The URL SQLAlchemy should use: plain postgresql:// means the psycopg 3 driver here."""
        url = self.database_url
        for plain in ("postgresql://", "postgres://"):
            if url.startswith(plain):
                return "postgresql+psycopg://" + url[len(plain) :]
        return url

    @property
    def trusted_hosts(self) -> list[str]:
        if self.allowed_hosts:
            return self.allowed_hosts
        if self.public_url:
            host = urlsplit(self.public_url).hostname
            return [host] if host else ["*"]
        return ["*"]

    @property
    def is_sqlite(self) -> bool:
        return self.sqlalchemy_url.startswith("sqlite")

    @property
    def is_production(self) -> bool:
        return self.env.lower() in ("production", "prod")

    def unsafe_for_production(self) -> list[str]:
        """What would make this configuration unsafe on a production server (empty when it is fine)."""
        problems = []
        if not self.is_sqlite:
            password = make_url(self.sqlalchemy_url).password
            if password is None or str(password).lower() in WELL_KNOWN_PASSWORDS:
                problems.append(
                    "the database password is missing or a well-known default; set CELLPROV_DATABASE_URL "
                    "(or CELLPROV_DATABASE_URL_FILE) with a real one"
                )
        if "*" in self.cors_origins:
            problems.append("CORS allows every origin ('*'); list the lab's origins in CELLPROV_CORS_ORIGINS")
        key_file = self.audit_key_file
        if key_file.exists() and key_file.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            problems.append(f"the audit signing key {key_file} is readable by others; chmod 600 it")
        return problems

    def refuse_unsafe(self) -> None:
        """Raise UnsafeSettings in production mode when a secret is a default; a no-op elsewhere."""
        if self.is_production and (problems := self.unsafe_for_production()):
            raise UnsafeSettings("CELLPROV_ENV=production refuses to start: " + "; ".join(problems))


@lru_cache
def get_settings() -> Settings:
    return Settings()
