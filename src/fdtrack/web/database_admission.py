"""Bounded database work: few requests wait on the database at once, none for long, and the rest go on."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("fdtrack.web")

# Answers that never touch the database: they must keep coming while database work is stuck.
_NO_DATABASE_PREFIXES = ("/static/",)
_NO_DATABASE_PATHS = frozenset({"/metrics", "/healthz"})  # /healthz bounds its own probe (operations.py)


class DatabaseAdmission:
    """Plain ASGI middleware around every request that may wait on the database.

    A database that stops answering (packets dropped, not refused) leaves a query waiting until
    the driver's TCP keepalives give up. Without a bound, such requests pile up until every worker
    thread waits on it and even pages that need no database go unanswered. Here at most `slots`
    such requests run at once (as many as the pool keeps connections); one that cannot start, or
    has not begun its answer, within its deadline gets `unavailable` (503 with Retry-After). Its
    work goes on in the background and keeps its slot until the driver gives up or the answer
    comes, so stuck work can never hold more than `slots` threads.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        slots: int,
        deadline_seconds: Callable[[Scope], float],
        needs_database: Callable[[Scope], bool],
        unavailable: Callable[[Scope, Receive, Send], Awaitable[None]],
    ) -> None:
        self.app = app
        self._slot_count = slots
        self._slots: tuple[asyncio.AbstractEventLoop, asyncio.Semaphore] | None = None
        self._deadline = deadline_seconds
        self._needs_database = needs_database
        self._unavailable = unavailable

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self._needs_database(scope):
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        slots = self._slots_of(loop)
        budget = self._deadline(scope)
        deadline = loop.time() + budget
        try:
            await asyncio.wait_for(slots.acquire(), timeout=budget)
        except TimeoutError:
            log.warning("no database slot for %s %s within its deadline", scope["method"], scope["path"])
            await self._unavailable(scope, receive, send)
            return
        # A plain future, not an Event waited on by a task of its own: this runs for every request.
        answered: asyncio.Future[None] = loop.create_future()
        abandoned = False

        async def send_unless_abandoned(message: Message) -> None:
            if abandoned:
                return  # the client has had its 503; this late answer goes nowhere
            if message["type"] == "http.response.start" and not answered.done():
                answered.set_result(None)
            await send(message)

        work = asyncio.ensure_future(self.app(scope, receive, send_unless_abandoned))
        work.add_done_callback(lambda finished: _release(slots, finished))
        await asyncio.wait({work, answered}, timeout=max(0.0, deadline - loop.time()), return_when="FIRST_COMPLETED")
        if work.done() or answered.done():
            await work  # finished, or its answer has begun (a streamed CSV): it runs to its end
            return
        abandoned = True
        log.warning("database work for %s %s passed its deadline; answered 503", scope["method"], scope["path"])
        await self._unavailable(scope, receive, send)

    def _slots_of(self, loop: asyncio.AbstractEventLoop) -> asyncio.Semaphore:
        """The slots of the loop serving requests (a test may serve one app from several loops in turn)."""
        if self._slots is None or self._slots[0] is not loop:
            self._slots = (loop, asyncio.Semaphore(self._slot_count))
        return self._slots[1]


def _release(slots: asyncio.Semaphore, work: asyncio.Future[None]) -> None:
    slots.release()
    if not work.cancelled():
        # Retrieved so that abandoned work ending in an error is not reported as never retrieved; a
        # request that was still waited for raises it to its own handler anyway.
        work.exception()


def needs_database(session_cookies: frozenset[str]) -> Callable[[Scope], bool]:
    """Whether a request may wait on the database: all but static files, /metrics, /healthz and the
    sign-in form asked for without a session (with one, the form first checks the session)."""

    def decide(scope: Scope) -> bool:
        path: str = scope["path"]
        if path in _NO_DATABASE_PATHS or path.startswith(_NO_DATABASE_PREFIXES):
            return False
        if path == "/login" and scope["method"] in ("GET", "HEAD"):
            return _has_cookie(scope, session_cookies)
        return True

    return decide


def _has_cookie(scope: Scope, names: frozenset[str]) -> bool:
    for key, value in scope.get("headers", ()):
        if key == b"cookie":
            text = value.decode("latin-1")
            if any(part.strip().split("=", 1)[0] in names for part in text.split(";")):
                return True
    return False
