"""`fdtrack serve` killed (SIGKILL) at random points under POSTed events: re-sending all gives one clean run's state."""

from __future__ import annotations

import random
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from conftest import Snapshot
from fdtrack.adapters.db.engine import make_engine
from integration.api_client import Answer, ApiClient, issue_tokens
from integration.live_server import LiveServer, live_server
from integration.traffic import (
    ORDER_SENSITIVE_REJECTION,
    EventCounter,
    Rejections,
    batches,
    final_state,
    simulated_events,
    with_bad_events,
)

POST_SIZE = 150  # events a POST
KILLS = 3  # kills in one run, each at its own random point
POLL_SECONDS = 120
SERVER_NAME = "fdtrack-under-test"


def traffic(seed: int) -> list[list[str]]:
    return batches(with_bad_events(simulated_events(seed), seed), POST_SIZE)


def post_all(client: ApiClient, posts: list[list[str]]) -> list[int]:
    """POST each batch in turn; how many events each one stored."""
    accepted = []
    for lines in posts:
        answer = client.post_events(lines)
        assert answer.status == 200, answer.body
        accepted.append(int(answer.json()["accepted"]))  # type: ignore[call-overload]
    return accepted


def clean_run(url: str, log_folder: Path, posts: list[list[str]]) -> tuple[tuple[Snapshot, Rejections], list[int]]:
    """The state one uninterrupted run leaves, and how many events each POST stored in it."""
    tokens = issue_tokens(url)
    log_folder.mkdir()
    with live_server(url, log_folder) as server:
        accepted = post_all(ApiClient(server.port, tokens.ingest), posts)
    state = final_state(url)
    # Re-sending is only idempotent without rejections that depend on arrival order (SPEC §5.3).
    assert not [r for r in state[1] if ORDER_SENSITIVE_REJECTION in str(r[3])], "choose another simulation seed"
    return state, accepted


def wait_until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + POLL_SECONDS
    while not condition():
        assert time.monotonic() < deadline, "the condition never held"
        time.sleep(0.002)


class WriteProbe:
    """Watches the server's database from outside: is one of its write transactions open right now?"""

    def __init__(self, url: str) -> None:
        parsed = make_url(url)
        self.sqlite_path = parsed.database if parsed.get_backend_name() == "sqlite" else None
        self.engine = make_engine(url)

    def writing(self) -> bool:
        if self.sqlite_path is not None:
            # SQLite has one writer at a time: the server is mid-transaction exactly when the lock is taken.
            probe = sqlite3.connect(self.sqlite_path, timeout=0, isolation_level=None)
            try:
                probe.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError:
                return True
            else:
                probe.execute("ROLLBACK")
                return False
            finally:
                probe.close()
        # A PostgreSQL transaction gets an id with its first write, and loses it when it ends.
        query = sa.text(
            "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE backend_xid IS NOT NULL AND application_name = :name)"
        )
        with self.engine.connect() as connection:
            return bool(connection.execute(query, {"name": SERVER_NAME}).scalar_one())

    def close(self) -> None:
        self.engine.dispose()


def server_url(url: str) -> str:
    """The database as the server under test sees it: on PostgreSQL its connections carry a name of their own."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return url
    named: str = parsed.update_query_dict({"application_name": SERVER_NAME}).render_as_string(hide_password=False)
    return named


def kill_while_posting(server: LiveServer, client: ApiClient, lines: list[str], moment: Callable[[], bool]) -> None:
    """POST in a thread and kill the server at the moment given (or once the answer has come)."""
    answers: list[Answer | OSError] = []

    def post() -> None:
        try:
            answers.append(client.post_events(lines))
        except OSError as error:  # the server died under the request: no answer
            answers.append(error)

    poster = threading.Thread(target=post)
    poster.start()
    wait_until(lambda: moment() or not poster.is_alive())
    server.kill()
    poster.join(timeout=POLL_SECONDS)
    assert not poster.is_alive(), "the client hung after the server died"
    [answer] = answers
    assert isinstance(answer, OSError) or answer.status == 200, answer


# Seeds whose traffic has no rejection that depends on arrival order (see clean_run).
@pytest.mark.parametrize("seed", [9, 11])
def test_server_killed_between_requests_then_everything_resent_equals_one_clean_run(
    seed: int, database_url: str, fresh_database_url: Callable[[], str], tmp_path: Path
) -> None:
    posts = traffic(seed)
    expected, _accepted = clean_run(fresh_database_url(), tmp_path / "clean", posts)
    rng = random.Random(seed)
    tokens = issue_tokens(database_url)
    server = LiveServer(database_url, tmp_path)
    server.start()
    try:
        for _kill in range(KILLS):
            # The client starts again from the first batch each time, as one that lost track would.
            post_all(ApiClient(server.port, tokens.ingest), posts[: rng.randrange(1, len(posts))])
            server.kill()
            server.start()
        post_all(ApiClient(server.port, tokens.ingest), posts)
    finally:
        server.stop()
    assert final_state(database_url) == expected


@pytest.mark.parametrize("seed", [12, 19])
def test_server_killed_during_a_request_then_everything_resent_equals_one_clean_run(
    seed: int, database_url: str, fresh_database_url: Callable[[], str], tmp_path: Path
) -> None:
    posts = traffic(seed)
    expected, accepted = clean_run(fresh_database_url(), tmp_path / "clean", posts)
    rng = random.Random(seed)
    tokens = issue_tokens(database_url)
    count, probe = EventCounter(database_url), WriteProbe(database_url)
    server = LiveServer(server_url(database_url), tmp_path)
    server.start()
    try:
        for _kill in range(KILLS):
            victim = rng.choice([number for number, stored in enumerate(accepted) if stored > 0])
            client = ApiClient(server.port, tokens.ingest)
            post_all(client, posts[:victim])
            # Inside the request: in the middle of its transaction, or just after its commit (before or
            # after the answer has left).
            before = count()
            moment = rng.choice([probe.writing, lambda before=before: count() > before])  # type: ignore[misc]
            kill_while_posting(server, client, posts[victim], moment)
            server.start()
        post_all(ApiClient(server.port, tokens.ingest), posts)
    finally:
        server.stop()
        count.close()
        probe.close()
    assert final_state(database_url) == expected
