"""Running the web service with uvicorn (`fdtrack serve`, `fdtrack demo`), in one process or several."""

from __future__ import annotations

import functools
import os

import uvicorn
from fastapi import FastAPI

from fdtrack.adapters.db.store import SqlStore
from fdtrack.web.app import create_app
from fdtrack.web.logs import configure_logging
from fdtrack.web.read_deadline import RequestReadDeadline
from fdtrack.web.settings import WebSettings


def serve(settings: WebSettings, store: SqlStore, host: str, port: int, workers: int = 1) -> None:
    configure_logging(settings.log_level)
    # proxy_headers trusts X-Forwarded-Proto only from the addresses in FORWARDED_ALLOW_IPS (default
    # 127.0.0.1), so behind a local TLS proxy cookies become Secure and nobody else can claim HTTPS.
    # uvicorn's own access log is off: the app writes a structured one (web/logs.py) without query strings.
    options = {
        # httptools parses HTTP several times faster than h11. The standard asyncio loop rather than
        # uvloop: under 64 concurrent clients uvloop served about 1 request in 100 hundreds of
        # milliseconds late (docs/benchmarks.md), the standard loop keeps every one in line.
        "loop": "asyncio",
        # httptools with a deadline for receiving each request (uvicorn has none); a partial, so workers can pickle it.
        "http": functools.partial(RequestReadDeadline, read_timeout=settings.request_read_timeout_seconds),
        "host": host,
        "port": port,
        "proxy_headers": True,
        "server_header": False,
        "access_log": False,
        "log_config": None,
        "log_level": settings.log_level.lower(),
    }
    if workers == 1:
        uvicorn.run(create_app(settings, store=store), **options)  # type: ignore[arg-type]
        return
    # Each worker process builds its own app (and database connections) from the environment.
    store.dispose()
    os.environ["FDTRACK_DATABASE_URL"] = settings.database_url
    uvicorn.run(f"{__name__}:app_from_environment", factory=True, workers=workers, **options)  # type: ignore[arg-type]


def app_from_environment() -> FastAPI:
    """The app of one worker process, configured by FDTRACK_* variables like `fdtrack serve`."""
    settings = WebSettings()
    configure_logging(settings.log_level)
    return create_app(settings)
