"""The app factory: builds the web service on a store and settings it is given (or reads FDTRACK_*)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path

from anyio import to_thread
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool
from starlette.types import Scope

from fdtrack.adapters.db.accounts import SqlAccountStore
from fdtrack.adapters.db.audit import SqlAuditLog
from fdtrack.adapters.db.engine import POOL_SIZE
from fdtrack.adapters.db.lean_reads import LeanLookupStore
from fdtrack.adapters.db.operations import SqlOperationsProbe
from fdtrack.adapters.db.store import SqlStore
from fdtrack.adapters.db.tokens import SqlTokenStore
from fdtrack.adapters.duis.decoder import DuisDecoder
from fdtrack.adapters.passwords import Argon2Hasher
from fdtrack.adapters.rate_limits import rate_limiter_for
from fdtrack.runtime import steady_latency
from fdtrack.services import purge
from fdtrack.services.account_ports import PasswordHasher
from fdtrack.services.audit import action_label
from fdtrack.services.signin import forget_old_signin_records
from fdtrack.services.tokens import TokenAuthenticator
from fdtrack.web import presenters
from fdtrack.web.api import devices, distributions, events, inventory
from fdtrack.web.api.openapi import install_openapi
from fdtrack.web.auth import session_cookie_name
from fdtrack.web.database_admission import DatabaseAdmission, needs_database
from fdtrack.web.dependencies import WebServices, system_clock
from fdtrack.web.errors import API_PREFIX, answer_database_unavailable, install_error_handlers
from fdtrack.web.health import BoundedHealthCheck
from fdtrack.web.logs import log_request
from fdtrack.web.metrics import Metrics, RequestMetrics
from fdtrack.web.routes import accounts, audit_log, operations, pages, service_centre, signin, tracking
from fdtrack.web.security import SecurityHeaders
from fdtrack.web.settings import WebSettings

_HERE = Path(__file__).parent
_THREADS_WITHOUT_DATABASE = 10
log = logging.getLogger("fdtrack.web")


def create_app(
    settings: WebSettings | None = None,
    *,
    store: SqlStore | None = None,
    hasher: PasswordHasher | None = None,
    clock: Callable[[], datetime] | None = None,
) -> FastAPI:
    """A complete web service; tests pass their own settings, store and clock, `fdtrack serve` passes none."""
    settings = settings or WebSettings()
    store = store or SqlStore.open(settings.database_url, settings.read_database_url)
    hasher = hasher or Argon2Hasher(settings.password_time_cost, settings.password_memory_kib)
    tokens = SqlTokenStore(store.engine)
    probe = SqlOperationsProbe(store.engine)
    metrics = Metrics(probe.records_by_completion)
    web = WebServices(
        settings=settings,
        store=store,
        device_lookups=LeanLookupStore(store.read_engine),
        accounts=SqlAccountStore(store.engine),
        hasher=hasher,
        templates=_templates(),
        tokens=tokens,
        authenticator=TokenAuthenticator(tokens, settings.token_cache_seconds),
        audit_log=SqlAuditLog(store.engine),
        probe=probe,
        health=BoundedHealthCheck(probe),
        metrics=metrics,
        firmware_requests=store.firmware_requests,
        duis_decoder=DuisDecoder(),
        rate_limiter=rate_limiter_for(store.engine, settings.redis_url),
        # Short reads go to worker threads on SQLite too: every API request also counts against its
        # token's rate limit, a write (SQLite's one write lock) or a network call (Redis), and neither
        # may wait on the event loop.
        inline_short_reads=False,
        clock=clock or system_clock,
    )

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Everything built so far lives as long as the server: the garbage collector need not scan it
        # again, which otherwise stalls every request in flight for tens of milliseconds now and then.
        steady_latency()
        # Blocking handlers run in worker threads. Those that may use the database are at most POOL_SIZE at
        # once (DatabaseAdmission): with more, every surplus call would open a connection and close it
        # after, on PostgreSQL a new server process each time. The threads beyond those serve what needs
        # no database (static files, the sign-in form), so work stuck on the database never starves it.
        to_thread.current_default_thread_limiter().total_tokens = POOL_SIZE + _THREADS_WITHOUT_DATABASE
        task = asyncio.create_task(_purge_regularly(web)) if settings.purge_interval_minutes else None
        yield
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    app = FastAPI(
        title="fdtrack",
        summary="Firmware Distribution Tracking for GB smart metering",
        version="1",
        docs_url=None,  # the interactive docs load script from elsewhere, which the CSP forbids
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.services = web
    app.add_middleware(
        DatabaseAdmission,
        slots=POOL_SIZE,
        deadline_seconds=_deadlines(settings),
        needs_database=needs_database(frozenset({session_cookie_name(True), session_cookie_name(False)})),
        unavailable=answer_database_unavailable,
    )
    app.add_middleware(SecurityHeaders)
    on_done = log_request if settings.access_log else _no_access_log
    app.add_middleware(RequestMetrics, metrics=metrics, on_done=on_done)
    app.mount("/static", StaticFiles(directory=_HERE / "static"), name="static")
    # Routes are matched in this order: the API first, as it answers the most requests.
    for router in (
        distributions.router,
        events.router,
        inventory.router,
        devices.router,
        operations.router,
        signin.router,
        pages.router,
        tracking.router,
        service_centre.router,
        audit_log.router,
        accounts.router,
    ):
        app.include_router(router)
    app.router.routes[:0] = distributions.fast_routes()
    install_error_handlers(app)
    install_openapi(app)
    return app


def _deadlines(settings: WebSettings) -> Callable[[Scope], float]:
    def deadline(scope: Scope) -> float:
        if scope["method"] == "POST" and scope["path"].startswith(API_PREFIX):
            return settings.ingest_deadline_seconds
        return settings.database_deadline_seconds

    return deadline


def _no_access_log(*_args: object) -> None:
    return None


def _templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=_HERE / "templates")
    environment = templates.env
    environment.autoescape = True  # every value from events (reasons!) is escaped, whatever the file name
    environment.filters["utc"] = presenters.format_utc
    environment.filters["iso_utc"] = presenters.iso_utc
    environment.filters["slug"] = presenters.slug
    environment.filters["thousands"] = presenters.thousands
    environment.filters["detail_label"] = presenters.detail_label
    environment.filters["detail_text"] = presenters.detail_text
    environment.filters["action_label"] = action_label
    environment.globals["bar_width"] = presenters.BAR_WIDTH
    return templates


async def _purge_regularly(web: WebServices) -> None:
    """Retention (§6): the server purges on its own, at start and then every interval. The purge runs in a
    worker thread in short transactions (5,000 records each), so requests go on being answered meanwhile.
    The same loop keeps the audit log's own retention and drops spent throttles and rate-limit counters."""
    while True:
        try:
            await run_in_threadpool(purge.purge, web.store, web.settings.retention, datetime.now(UTC), "server", None)
        except Exception:
            log.exception("scheduled purge failed; trying again at the next interval")
        try:
            await run_in_threadpool(forget_old_signin_records, web.accounts, web.settings.audit_retention)
            await run_in_threadpool(web.rate_limiter.forget_expired)
        except Exception:
            log.exception("sign-in housekeeping failed; trying again at the next interval")
        await asyncio.sleep(web.settings.purge_interval_minutes * 60)
