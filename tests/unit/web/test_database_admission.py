"""Bounded database work: a request stuck on the database gets 503 in time, and the rest go on."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from starlette.types import Message, Receive, Scope, Send

from fdtrack.services.operations import DatabaseState, Health
from fdtrack.web.database_admission import DatabaseAdmission, needs_database
from fdtrack.web.health import BoundedHealthCheck

T = TypeVar("T")


def run_alone(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run on an event loop of its own, in a thread of its own: the thread running the tests may already
    have a loop running (the browser tests' driver leaves one)."""
    with ThreadPoolExecutor(max_workers=1) as thread:
        return thread.submit(asyncio.run, coroutine).result()


SESSION = frozenset({"fdtrack_session"})
DEADLINE = 0.05  # seconds: these tests wait for it, so it is short


def scope(path: str, method: str = "GET", cookie: str | None = None) -> Scope:
    headers = [(b"cookie", cookie.encode())] if cookie else []
    return {"type": "http", "path": path, "method": method, "headers": headers}


def test_static_files_metrics_health_and_the_anonymous_sign_in_form_need_no_database() -> None:
    decide = needs_database(SESSION)
    for path in ("/static/fdtrack.css", "/metrics", "/healthz", "/login"):
        assert not decide(scope(path)), path


def test_look_ups_sign_in_and_the_sign_in_form_with_a_session_may_wait_on_the_database() -> None:
    decide = needs_database(SESSION)
    assert decide(scope("/api/v1/distributions"))
    assert decide(scope("/ssi/firmware-distribution-tracking"))
    assert decide(scope("/login", "POST"))
    assert decide(scope("/login", cookie="theme=dark; fdtrack_session=abc"))
    assert not decide(scope("/login", cookie="fdtrack_login=xyz"))


async def _ok(_scope: Scope, _receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def _stuck(release: asyncio.Event) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await release.wait()  # a query the database never answers, until it does
        await _ok(scope, receive, send)

    return app


async def _unavailable(_scope: Scope, _receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 503, "headers": [(b"retry-after", b"5")]})
    await send({"type": "http.response.body", "body": b""})


def _admission(app: Callable[[Scope, Receive, Send], Awaitable[None]], slots: int = 2) -> DatabaseAdmission:
    return DatabaseAdmission(
        app,
        slots=slots,
        deadline_seconds=lambda _scope: DEADLINE,
        needs_database=lambda _s: True,
        unavailable=_unavailable,
    )


async def _call(app: DatabaseAdmission, path: str = "/api/v1/distributions") -> list[int]:
    statuses: list[int] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    await app(scope(path), receive, send)
    return statuses


def test_work_that_answers_in_time_is_passed_through() -> None:
    assert run_alone(_call(_admission(_ok))) == [200]


def test_stuck_work_gets_503_once_and_its_late_answer_is_dropped() -> None:
    async def story() -> list[int]:
        release = asyncio.Event()
        admission = _admission(_stuck(release))
        statuses = await _call(admission)
        release.set()  # the database answers after all: nothing more reaches the client
        await asyncio.sleep(0)
        return statuses

    assert run_alone(story()) == [503]


def test_stuck_work_holds_its_slot_until_it_ends_so_it_never_takes_more_than_the_slots() -> None:
    async def story() -> tuple[list[list[int]], list[int]]:
        release = asyncio.Event()
        admission = _admission(_stuck(release), slots=2)
        stuck = await asyncio.gather(*(_call(admission) for _ in range(4)))
        waiting = admission._slots_of(asyncio.get_running_loop())
        assert waiting.locked()  # both slots still held by the abandoned work
        release.set()
        for _ in range(5):
            await asyncio.sleep(0)  # let the abandoned work finish and give its slots back
        assert not waiting.locked()
        return stuck, await _call(_admission(_ok))

    stuck, after = run_alone(story())
    assert stuck == [[503]] * 4
    assert after == [200]


def test_a_response_already_under_way_is_not_cut_by_the_deadline() -> None:
    async def streaming(_scope: Scope, _receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await asyncio.sleep(DEADLINE * 3)  # a long CSV download
        await send({"type": "http.response.body", "body": b"rows"})

    assert run_alone(_call(_admission(streaming))) == [200]


class StuckProbe:
    """An operations probe whose database never answers until released."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.calls = 0

    def database_state(self) -> DatabaseState:
        self.calls += 1
        self.release.wait()
        return DatabaseState.REACHABLE

    def records_by_completion(self) -> dict[str, int]:
        return {}


def test_the_health_check_answers_unreachable_within_its_budget_and_starts_one_probe_only() -> None:
    probe = StuckProbe()
    check = BoundedHealthCheck(probe, budget_seconds=DEADLINE)

    async def story() -> list[Health]:
        return [await check.check(), await check.check()]

    try:
        assert run_alone(story()) == [Health(DatabaseState.UNREACHABLE)] * 2
        assert probe.calls == 1
    finally:
        probe.release.set()
