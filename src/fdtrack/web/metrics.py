"""Prometheus metrics: ingestion outcomes, records by Completion Status and request latency, per app."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fdtrack.domain.statuses import CompletionStatus
from fdtrack.services.ingest import IngestSummary

log = logging.getLogger("fdtrack.metrics")
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Look-ups answer in about a millisecond, ingestion of a large body in seconds.
_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class _RecordsByCompletion(Collector):
    """Counts records at scrape time; the count is kept a few seconds so frequent scrapes stay cheap.

    A count that the database does not answer within `wait_seconds` is left to finish in the
    background (one at a time) and the scrape goes on without the gauge: /metrics keeps answering
    while the database is stuck, and /healthz says why."""

    def __init__(self, count: Callable[[], dict[str, int]], keep_seconds: float, wait_seconds: float = 1.0) -> None:
        self._count = count
        self._keep = keep_seconds
        self._wait = wait_seconds
        self._cached: tuple[float, dict[str, int]] | None = None
        self._lock = threading.Lock()
        self._counting = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fdtrack-metrics")
        self._pending: Future[dict[str, int]] | None = None

    def describe(self) -> Iterator[GaugeMetricFamily]:
        yield self._family()  # registering asks only this, so building the app never touches the database

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            counts = self._counts()
        except Exception:  # the database is down or slow: /metrics still answers, /healthz says why
            log.warning("record counts for /metrics could not be read", exc_info=True)
            return
        family = self._family()
        for status in CompletionStatus:
            family.add_metric([status.value], counts.get(status.value, 0))
        yield family

    @staticmethod
    def _family() -> GaugeMetricFamily:
        return GaugeMetricFamily(
            "fdtrack_distribution_records", "Distribution records by Completion Status", labels=["completion_status"]
        )

    def _counts(self) -> dict[str, int]:
        with self._lock:
            now = time.monotonic()
            if self._cached is not None and now - self._cached[0] <= self._keep:
                return self._cached[1]
            if self._pending is None:
                self._pending = self._counting.submit(self._count)
            pending = self._pending
        try:
            counts = pending.result(timeout=self._wait)  # TimeoutError leaves it counting for a later scrape
        finally:
            if pending.done():
                with self._lock:
                    if self._pending is pending:
                        self._pending = None
        with self._lock:
            self._cached = (time.monotonic(), counts)
        return counts


class Metrics:
    """One registry per app, so several apps (tests) in one process never share counters."""

    def __init__(self, count_records: Callable[[], dict[str, int]], keep_counts_seconds: float = 10.0) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.events = Counter(
            "fdtrack_events",
            "Tracking events received through this server, by outcome",
            ["outcome"],
            registry=self.registry,
        )
        for outcome in ("accepted", "duplicate", "rejected"):
            self.events.labels(outcome)  # present from the start, at 0
        self.latency = Histogram(
            "fdtrack_http_request_duration_seconds",
            "Time to answer HTTP requests, by route",
            ["method", "route", "status"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.registry.register(_RecordsByCompletion(count_records, keep_counts_seconds))

    def count_ingest(self, summary: IngestSummary) -> None:
        self.events.labels("accepted").inc(summary.accepted)
        self.events.labels("duplicate").inc(summary.duplicates)
        self.events.labels("rejected").inc(summary.rejected)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class RequestMetrics:
    """Plain ASGI middleware timing each request by route template (never the raw path: unbounded labels)."""

    def __init__(self, app: ASGIApp, metrics: Metrics, on_done: Callable[[Scope, int, float], None]) -> None:
        self.app = app
        self.metrics = metrics
        self.on_done = on_done

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            template = getattr(route, "path", None) or ("/static" if scope["path"].startswith("/static/") else "other")
            self.metrics.latency.labels(scope["method"], template, str(status)).observe(elapsed)
            self.on_done(scope, status, elapsed)
