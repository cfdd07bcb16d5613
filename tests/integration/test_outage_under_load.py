"""PostgreSQL cut and restored under concurrent API writers and readers: 503s, whole batches, recovery by itself."""

from __future__ import annotations

import json
import queue
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from conftest import create_postgresql_schema, empty_postgresql
from fdtrack.adapters.db.engine import make_engine
from integration.api_client import Answer, ApiClient, ApiTokens, issue_tokens
from integration.live_server import LiveServer, live_server
from integration.tcp_proxy import TcpProxy
from integration.traffic import EventCounter, batches, final_state, simulated_events, with_bad_events

pytestmark = pytest.mark.postgresql

SEED = 5
WRITERS = 3
READERS = 3
POST_SIZE = 100  # within one ingest transaction (FDTRACK_INGEST_BATCH_SIZE, 10,000): a POST is all or nothing
POLL_SECONDS = 120
REFUSED_PER_CLIENT = 3  # 503s each reader must have seen before the outage ends
READS_AFTER_RESTORE = 30
LARGE_BODY = 600  # events in one POST, thirty times the server's ingest batch in the test below


@dataclass(frozen=True, slots=True)
class Exchange:
    """One request of one client: when it was sent and answered, and what came back."""

    kind: str  # "write" or "read"
    client: int
    started: float
    ended: float
    status: int | None  # None: no answer (refused, reset or timed out)
    retry_after: str | None
    error: str = ""
    post: int | None = None  # the batch a write sent


@dataclass
class ExchangeLog:
    """Every exchange of every client, shared by their threads."""

    exchanges: list[Exchange] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def timed(self, kind: str, client: int, send: Callable[[], Answer], post: int | None = None) -> Exchange:
        started = time.monotonic()
        try:
            answer = send()
        except OSError as error:
            exchange = Exchange(kind, client, started, time.monotonic(), None, None, repr(error), post)
        else:
            exchange = Exchange(kind, client, started, time.monotonic(), answer.status, answer.retry_after, "", post)
            if answer.status not in (200, 404, 503):
                exchange = Exchange(kind, client, started, exchange.ended, answer.status, None, str(answer.body), post)
        with self.lock:
            self.exchanges.append(exchange)
        return exchange

    def snapshot(self) -> list[Exchange]:
        with self.lock:
            return list(self.exchanges)

    def count(self, accept: Callable[[Exchange], bool]) -> int:
        return sum(1 for exchange in self.snapshot() if accept(exchange))


def write_all(
    client: ApiClient, number: int, work: queue.SimpleQueue[int], posts: list[list[str]], log: ExchangeLog
) -> None:
    """POST batches from the shared queue until it is empty; a refused batch is left for re-sending."""
    while True:
        try:
            post = work.get_nowait()
        except queue.Empty:
            return
        log.timed("write", number, lambda post=post: client.post_events(posts[post]), post)  # type: ignore[misc]


def read_until(
    client: ApiClient, number: int, targets: list[tuple[str, str]], stop: threading.Event, log: ExchangeLog
) -> None:
    """Look up records by device and by request, in a seeded random order, until told to stop."""
    rng = random.Random(number)
    while not stop.is_set():
        kind, value = rng.choice(targets)
        send = client.by_device if kind == "device" else client.by_request
        log.timed("read", number, lambda send=send, value=value: send(value))  # type: ignore[misc]


def run_writers(
    client: ApiClient, posts: list[list[str]], which: list[int], log: ExchangeLog
) -> list[threading.Thread]:
    work: queue.SimpleQueue[int] = queue.SimpleQueue()
    for post in which:
        work.put(post)
    writers = [threading.Thread(target=write_all, args=(client, n, work, posts, log)) for n in range(WRITERS)]
    for writer in writers:
        writer.start()
    return writers


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + POLL_SECONDS
    while not condition():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.01)


def join(threads: list[threading.Thread]) -> None:
    for thread in threads:
        thread.join(timeout=POLL_SECONDS)
        assert not thread.is_alive(), "a client hung"


def read_targets(lines: list[str]) -> list[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for line in lines:
        try:
            fields = json.loads(line)
        except ValueError:
            continue
        found.add(("device", fields["device_id"]))
        if "request_id" in fields:
            found.add(("request", fields["request_id"]))
    return sorted(found)


def stored_parts(url: str, posts: list[list[str]], refused: list[int]) -> dict[int, tuple[int, int]]:
    """For each refused batch: how many of the events and rejections only it carries are stored, of how many."""
    owners: dict[str, set[int]] = {}
    for number, lines in enumerate(posts):
        for line in lines:
            owners.setdefault(line, set()).add(number)
    engine = make_engine(url)
    with engine.connect() as connection:
        event_ids = set(connection.execute(sa.text("SELECT event_id FROM status_events")).scalars())
        raws = set(connection.execute(sa.text("SELECT raw FROM rejected_events")).scalars())
    engine.dispose()
    parts: dict[int, tuple[int, int]] = {}
    for number in refused:
        own = [line for line in posts[number] if owners[line] == {number}]
        stored = sum(1 for line in own if line in raws or _event_id(line) in event_ids)
        parts[number] = (stored, len(own))
    return parts


def _event_id(line: str) -> str | None:
    try:
        return str(json.loads(line)["event_id"])
    except (ValueError, KeyError):
        return None


@pytest.fixture
def schema_urls(postgresql_schema_url: str) -> Iterator[tuple[str, str]]:
    """An empty schema for the run under test and another for the clean run it is compared with."""
    empty_postgresql(postgresql_schema_url)
    clean_url, drop = create_postgresql_schema()
    yield postgresql_schema_url, clean_url
    drop()


@pytest.fixture
def proxy(postgresql_schema_url: str) -> Iterator[TcpProxy]:
    url = make_url(postgresql_schema_url)
    tcp_proxy = TcpProxy((url.host or "127.0.0.1", url.port or 5432))
    tcp_proxy.restore()
    yield tcp_proxy
    tcp_proxy.cut()


def post_catching(server: LiveServer, tokens: ApiTokens, lines: list[str]) -> Answer | OSError:
    try:
        return ApiClient(server.port, tokens.ingest).post_events(lines)
    except OSError as error:
        return error


def through(proxy: TcpProxy, url: str) -> str:
    return make_url(url).set(port=proxy.port).render_as_string(hide_password=False)


def test_outage_under_concurrent_clients_answers_503_stores_whole_batches_and_recovers(
    schema_urls: tuple[str, str], proxy: TcpProxy, tmp_path: Path
) -> None:
    url, clean_url = schema_urls
    # Every event names its request and no event_id is re-used with other content, so the state cannot
    # depend on the order in which refused batches come back.
    lines = with_bad_events(simulated_events(SEED, unattached_rate=0.0), SEED, conflicts=False)
    posts = batches(lines, POST_SIZE)
    (tmp_path / "clean").mkdir()
    clean_tokens = issue_tokens(clean_url)
    with live_server(clean_url, tmp_path / "clean") as clean_server:
        for lines_of_post in posts:
            assert ApiClient(clean_server.port, clean_tokens.ingest).post_events(lines_of_post).status == 200

    tokens = issue_tokens(url)
    log = ExchangeLog()
    with live_server(through(proxy, url), tmp_path) as server:
        cut, restored = outage_under_traffic(server, tokens, posts, read_targets(lines), proxy, log, url)
    exchanges = log.snapshot()
    assert [e for e in exchanges if e.status is None] == [], "requests went unanswered"
    assert [e for e in exchanges if e.status not in (200, 404, 503)] == [], "unexpected answers"
    assert [e for e in exchanges if e.kind == "write" and e.status == 404] == []
    assert [e for e in exchanges if e.status == 503 and e.retry_after != "5"] == [], "503 without Retry-After"
    # Requests in flight at the cut or the restore may go either way; those wholly inside the outage may not.
    during = [e for e in exchanges if cut < e.started and e.ended < restored]
    assert {e.kind for e in during} == {"write", "read"}
    assert [e for e in during if e.status != 503] == [], "answered from a database that was cut off"
    after = [e for e in exchanges if e.started > restored]
    assert [e for e in after if e.status == 503] == [], "the service did not recover by itself"
    assert final_state(url) == final_state(clean_url)


def outage_under_traffic(
    server: LiveServer,
    tokens: ApiTokens,
    posts: list[list[str]],
    targets: list[tuple[str, str]],
    proxy: TcpProxy,
    log: ExchangeLog,
    direct_url: str,
) -> tuple[float, float]:
    """Writers and readers at work; the database cut a third of the way through and restored once every
    client has been refused; then the refused batches re-sent. When the cut and the restore happened."""
    writer_client = ApiClient(server.port, tokens.ingest)
    reader_client = ApiClient(server.port, tokens.read)
    stop_reading = threading.Event()
    readers = [
        threading.Thread(target=read_until, args=(reader_client, n, targets, stop_reading, log)) for n in range(READERS)
    ]
    for reader in readers:
        reader.start()
    try:
        writers = run_writers(writer_client, posts, list(range(len(posts))), log)
        wait_until(lambda: log.count(lambda e: e.kind == "write" and e.status == 200) >= len(posts) // 3, "writes")
        proxy.cut()
        cut = time.monotonic()

        def every_reader_refused() -> bool:
            refused = [e.client for e in log.snapshot() if e.kind == "read" and e.started > cut and e.status == 503]
            return all(refused.count(n) >= REFUSED_PER_CLIENT for n in range(READERS))

        join(writers)  # during the outage the rest of the batches are refused one after another
        wait_until(every_reader_refused, "every reader refused")
        refused = sorted({e.post for e in log.snapshot() if e.post is not None and e.status == 503})
        assert refused, "no batch was refused"
        proxy.restore()
        restored = time.monotonic()

        # No refused batch is partly stored: each was one transaction, committed whole or not at all.
        parts = stored_parts(direct_url, posts, refused)
        assert {number: part for number, part in parts.items() if part[0] not in (0, part[1])} == {}

        join(run_writers(writer_client, posts, refused, log))
        assert all(e.status == 200 for e in log.snapshot() if e.kind == "write" and e.started > restored)
        wait_until(
            lambda: log.count(lambda e: e.kind == "read" and e.started > restored) >= READS_AFTER_RESTORE, "reads"
        )
    finally:
        stop_reading.set()
        join(readers)
    return cut, restored


def test_a_body_larger_than_one_ingest_batch_is_stored_whole_or_not_at_all_when_the_database_goes(
    postgresql_schema_url: str, proxy: TcpProxy, tmp_path: Path
) -> None:
    empty_postgresql(postgresql_schema_url)
    lines = simulated_events(SEED, unattached_rate=0.0)[:LARGE_BODY]
    tokens = issue_tokens(postgresql_schema_url)
    count = EventCounter(postgresql_schema_url)
    answers: list[Answer | OSError] = []
    # The server's ingest batches are far smaller than the body: a body stored batch by batch would be
    # seen part-way, and the cut below would leave it half stored.
    with live_server(through(proxy, postgresql_schema_url), tmp_path, ingest_batch_size="20") as server:
        poster = threading.Thread(target=lambda: answers.append(post_catching(server, tokens, lines)))
        poster.start()
        wait_until(lambda: count() > 0 or not poster.is_alive(), "some of the body stored, or the answer")
        proxy.cut()
        join([poster])
    stored = count()
    count.close()
    [answer] = answers
    assert not isinstance(answer, OSError), answer
    assert answer.status in (200, 503), answer.body
    assert stored in (0, len({json.loads(line)["event_id"] for line in lines}))
