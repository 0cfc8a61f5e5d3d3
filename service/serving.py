"""How the service is served: uvicorn with the edges set from Settings (header and keep-alive timeouts,
which proxies to believe), one process or several.

Run as `python -m service.serving --port N` (what tests and `cellprov-server serve` start)."""

import argparse
import asyncio
import os
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from service.config import Settings, get_settings

_TIMED_OUT = b"HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


class HeaderTimeoutProtocol(HttpToolsProtocol):
    """uvicorn's HTTP protocol, plus a deadline for the request line and headers: uvicorn itself waits for
    them forever, so a silent or trickling client would hold its connection open. The body's own deadline
    is InputGuard's (service.middleware)."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        # From the environment, per process: uvicorn hands this class to its workers by name.
        self.header_timeout = get_settings().header_timeout_seconds
        self._header_deadline: asyncio.TimerHandle | None = None
        self._arm()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._header_deadline is None:  # the next request on a kept-alive connection
            self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._header_deadline = self.loop.call_later(self.header_timeout, self._headers_too_slow)

    def _disarm(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _headers_too_slow(self) -> None:
        self._header_deadline = None
        if not self.transport.is_closing():
            self.transport.write(_TIMED_OUT)
            self.transport.close()


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    proxies = settings.forwarded_allow_ips.strip()
    return {
        "factory": True,
        "http": HeaderTimeoutProtocol,
        "timeout_keep_alive": settings.keep_alive_seconds,
        # uvicorn believes X-Forwarded-* from 127.0.0.1 unless told otherwise; we believe nobody by default.
        "proxy_headers": bool(proxies),
        "forwarded_allow_ips": proxies or "",
        "access_log": False,  # the access log is the service's own (JSON, request ids, no query strings)
    }


def default_workers(settings: Settings) -> int:
    """One process per core on PostgreSQL; one on SQLite, whose single writer gains little from more."""
    return 1 if settings.is_sqlite else max(1, os.cpu_count() or 1)


def serve(
    host: str, port: int, workers: int = 1, settings: Settings | None = None, log_level: str = "info"
) -> None:
    settings = settings or get_settings()
    uvicorn.run(
        "service.app:create_app",
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        **uvicorn_options(settings),
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description="Serve cellprov (no set-up; `cellprov-server serve` does that)."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args()
    serve(args.host, args.port, args.workers, log_level=args.log_level)


if __name__ == "__main__":
    main()
