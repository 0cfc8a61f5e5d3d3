"""Settings, read once from the environment (prefix CELLPROV_) or a .env file."""

from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CELLPROV_", env_file=".env", extra="ignore")

    database_url: str = "sqlite:///./var/cellprov.db"
    files_dir: Path = Path("./var/files")
    env: str = "development"
    default_page_size: int = 50
    max_page_size: int = 500
    token_days: int = 90
    # The licence .eln exports declare for the lab's records (RO-Crate requires one on the root dataset).
    export_license: str = "https://creativecommons.org/licenses/by/4.0/"
    max_file_bytes: int = 256 * 1024 * 1024

    @property
    def sqlalchemy_url(self) -> str:
        """The URL SQLAlchemy should use: plain postgresql:// means the psycopg 3 driver here."""
        url = self.database_url
        for plain in ("postgresql://", "postgres://"):
            if url.startswith(plain):
                return "postgresql+psycopg://" + url[len(plain) :]
        return url

    @property
    def is_sqlite(self) -> bool:
        return self.sqlalchemy_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    return Settings()
