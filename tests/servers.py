"""Real uvicorn processes for the suites where processes matter: crashes, restarts, several servers."""

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from service.config import Settings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One `uvicorn service.app:create_app` process; `log` collects its stderr (JSON lines)."""

    def __init__(
        self, settings: Settings, log: Path, port: int | None = None, workers: int = 1, **env: str
    ) -> None:
        self.settings = settings
        self.workers = workers
        self.log = log
        self.port = port or free_port()
        self.env = {
            **os.environ,
            "CELLPROV_DATABASE_URL": settings.database_url,
            "CELLPROV_FILES_DIR": str(settings.files_dir),
            **({"CELLPROV_FILES_URL": settings.files_url} if settings.files_url else {}),
            "CELLPROV_AUDIT_KEY_FILE": str(settings.audit_key_file),
            **env,
        }
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.root}/api/v1"

    def start(self, wait: bool = True) -> "Server":
        with self.log.open("ab") as sink:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "service.serving",
                    "--port",
                    str(self.port),
                    "--log-level",
                    "info",
                    "--workers",
                    str(self.workers),
                ],
                env=self.env,
                stdout=sink,
                stderr=sink,
            )
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self) -> None:
        """Poll /readyz until it answers 200; connection attempts, not a fixed sleep, pace the wait."""
        assert self.process is not None
        transport = httpx.HTTPTransport(retries=20)
        with httpx.Client(transport=transport, timeout=10) as probe:
            for _ in range(200):
                if self.process.poll() is not None:
                    raise RuntimeError(
                        f"the server exited ({self.process.returncode}):\n{self.log.read_text()}"
                    )
                try:
                    if probe.get(f"{self.url}/readyz").status_code == 200:
                        return
                except httpx.TransportError:
                    continue
        raise RuntimeError("the server never became ready")

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks, no flushing, no goodbye — a power cut for the process."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def terminate(self) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.terminate()
        return self.process.wait(timeout=60)


@contextmanager
def running(settings: Settings, log: Path, **env: str) -> Iterator[Server]:
    server = Server(settings, log, **env).start()
    try:
        yield server
    finally:
        server.terminate()
