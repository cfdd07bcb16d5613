"""The app factory: builds the web service on a store and settings it is given (or reads FDTRACK_*)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from fdtrack.adapters.db.accounts import SqlAccountStore
from fdtrack.adapters.db.store import SqlStore
from fdtrack.adapters.passwords import Argon2Hasher
from fdtrack.services import purge
from fdtrack.services.account_ports import PasswordHasher
from fdtrack.web import presenters
from fdtrack.web.dependencies import WebServices
from fdtrack.web.errors import install_error_handlers
from fdtrack.web.routes import pages, signin, tracking
from fdtrack.web.security import SecurityHeaders
from fdtrack.web.settings import WebSettings

_HERE = Path(__file__).parent
log = logging.getLogger("fdtrack.web")


def create_app(
    settings: WebSettings | None = None,
    *,
    store: SqlStore | None = None,
    hasher: PasswordHasher | None = None,
) -> FastAPI:
    """A complete web service; tests pass their own settings and store, `fdtrack serve` passes none."""
    settings = settings or WebSettings()
    store = store or SqlStore.open(settings.database_url)
    hasher = hasher or Argon2Hasher(settings.password_time_cost, settings.password_memory_kib)
    web = WebServices(settings, store, SqlAccountStore(store.engine), hasher, _templates())

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(_purge_regularly(web)) if settings.purge_interval_minutes else None
        yield
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    app = FastAPI(
        title="fdtrack",
        summary="Firmware Distribution Tracking for GB smart metering",
        docs_url=None,  # the interactive docs load script from elsewhere, which the CSP forbids
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.services = web
    app.add_middleware(SecurityHeaders)
    app.mount("/static", StaticFiles(directory=_HERE / "static"), name="static")
    for router in (signin.router, pages.router, tracking.router):
        app.include_router(router)
    install_error_handlers(app)
    return app


def _templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=_HERE / "templates")
    environment = templates.env
    environment.autoescape = True  # every value from events (reasons!) is escaped, whatever the file name
    environment.filters["utc"] = presenters.format_utc
    environment.filters["iso_utc"] = presenters.iso_utc
    environment.filters["slug"] = presenters.slug
    environment.filters["thousands"] = presenters.thousands
    environment.globals["bar_width"] = presenters.BAR_WIDTH
    return templates


async def _purge_regularly(web: WebServices) -> None:
    """Retention (§6): the server purges on its own, at start and then every interval."""
    while True:
        try:
            await run_in_threadpool(purge.purge, web.store, web.settings.retention, datetime.now(UTC), "server", None)
        except Exception:
            log.exception("scheduled purge failed; trying again at the next interval")
        await asyncio.sleep(web.settings.purge_interval_minutes * 60)
