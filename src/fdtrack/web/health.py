"""The database check behind /healthz, answered within a fixed time whatever the database does."""

from __future__ import annotations

import asyncio

from anyio import CapacityLimiter, to_thread

from fdtrack.services.operations import DatabaseState, Health, OperationsProbe, check_health

HEALTH_BUDGET_SECONDS = 1.5  # /healthz answers within 2 s: load balancers wait about that long


class BoundedHealthCheck:
    """Runs the database probe in a thread of its own and waits at most `budget_seconds` for it.

    A probe stuck on a database that stopped answering is not started again: later checks wait on
    the same probe (within their own budget), so an outage costs one thread, not one per check."""

    def __init__(self, probe: OperationsProbe, budget_seconds: float = HEALTH_BUDGET_SECONDS) -> None:
        self._probe = probe
        self._budget = budget_seconds
        self._limiter = CapacityLimiter(1)
        self._in_flight: asyncio.Future[Health] | None = None

    async def check(self) -> Health:
        loop = asyncio.get_running_loop()
        probe = self._in_flight
        if probe is None or probe.done() or probe.get_loop() is not loop:
            probe = self._in_flight = asyncio.ensure_future(self._run_probe())
        try:
            return await asyncio.wait_for(asyncio.shield(probe), timeout=self._budget)
        except TimeoutError:
            return Health(DatabaseState.UNREACHABLE)

    async def _run_probe(self) -> Health:
        return await to_thread.run_sync(check_health, self._probe, abandon_on_cancel=True, limiter=self._limiter)
