"""What every route needs, held on the app: settings, stores, the password hasher, the templates and more."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from fdtrack.services.account_ports import AccountStore, PasswordHasher
from fdtrack.services.audit import AuditLog
from fdtrack.services.ingest import IngestOptions
from fdtrack.services.lookup import DeviceRecordSource
from fdtrack.services.operations import OperationsProbe
from fdtrack.services.ports import FirmwareRequestRegistry, MessageDecoder, Store
from fdtrack.services.rate_limit_ports import RateLimiter
from fdtrack.services.token_ports import TokenStore
from fdtrack.services.tokens import TokenAuthenticator
from fdtrack.web.health import BoundedHealthCheck
from fdtrack.web.metrics import Metrics
from fdtrack.web.settings import WebSettings

T = TypeVar("T")


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, kw_only=True)
class WebServices:
    settings: WebSettings
    store: Store
    # The same database as `store`: device look-ups on lean SQL, the API's most frequent call (lean_reads.py).
    device_lookups: DeviceRecordSource
    accounts: AccountStore
    hasher: PasswordHasher
    templates: Jinja2Templates
    tokens: TokenStore
    authenticator: TokenAuthenticator
    audit_log: AuditLog
    probe: OperationsProbe
    health: BoundedHealthCheck
    metrics: Metrics
    firmware_requests: FirmwareRequestRegistry
    duis_decoder: MessageDecoder
    # Sign-in and API rate limits, shared by every server process (the database, or Redis).
    rate_limiter: RateLimiter
    # Short reads (a token, a device's records) run on the event loop when the database is embedded:
    # an SQLite look-up is a few in-process B-tree probes, cheaper than handing it to a worker thread.
    # A networked database (PostgreSQL) would stall the loop while it waits, so there they use threads.
    inline_short_reads: bool = False
    # What time it is for sign-in, throttling and session expiry; tests move it instead of waiting.
    clock: Callable[[], datetime] = system_clock

    def body_ingest_options(self) -> IngestOptions:
        """Ingestion of one request body in one transaction: a client that gets no 200 (the database went
        away, the server died) knows the body is stored whole or not at all, never in part. A body holds
        fewer events than it has bytes, so its size limit bounds the batch."""
        return IngestOptions(tracked=self.settings.tracked, batch_size=self.settings.max_body_bytes)


async def run_short_read(web: WebServices, function: Callable[..., T], *args: object) -> T:
    """Run a short, bounded database read the cheapest safe way for this database (see above)."""
    if web.inline_short_reads:
        return function(*args)
    return await run_in_threadpool(function, *args)


def services(request: Request) -> WebServices:
    found: WebServices = request.app.state.services
    return found


async def api_services(request: Request) -> WebServices:
    """`services` as the API's dependency: FastAPI hands a plain function to a worker thread, a coroutine not."""
    return services(request)


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"
