"""`fdtrack ingest` processes, API writers and API readers on one database at once: the derivation rule's state."""

from __future__ import annotations

import json
import os
import random
import subprocess
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from fdtrack.adapters.db.engine import make_engine
from fdtrack.domain.errors import InvalidInput
from fdtrack.domain.events import validate_event_with_digest
from integration.api_client import Answer, ApiClient, issue_tokens
from integration.live_server import FDTRACK, live_server
from integration.traffic import batches, derived_records, simulated_events, stored_records, with_bad_events

SEED = 3
INGEST_PROCESSES = 3
API_WRITERS = 2
API_READERS = 2
OVERLAP = 0.2  # share of the lines that a second client sends too: the same events race each other
POST_SIZE = 100
BATCH_SIZE = "50"  # events a transaction of the ingest processes: many small ones (a POST is one of its own)
MAX_ATTEMPTS = 20  # a client gives up on a request refused this many times with 503
RETRY_WAIT_SECONDS = 0.2  # a client's pause before trying a 503'd request again (it is the client's policy)
RUN_SECONDS = 600  # bound on the whole run: the clients' work ends it long before


class Client:
    """An API client that retries a 503 as documented and records every answer."""

    def __init__(self, api: ApiClient) -> None:
        self.api = api
        self.statuses: list[int] = []
        self.failures: list[str] = []

    def send(self, request: Callable[[ApiClient], Answer]) -> None:
        for _attempt in range(MAX_ATTEMPTS):
            try:
                answer = request(self.api)
            except OSError as error:
                self.failures.append(repr(error))
                return
            self.statuses.append(answer.status)
            if answer.status != 503:
                if answer.status not in (200, 404):
                    self.failures.append(f"{answer.status}: {answer.body[:300]!r}")
                return
            if answer.retry_after is None:
                self.failures.append("503 without Retry-After")
            time.sleep(RETRY_WAIT_SECONDS)
        self.failures.append(f"refused {MAX_ATTEMPTS} times")


def split(lines: list[str], parts: int, rng: random.Random) -> list[list[str]]:
    """Each line to one part, some to a second one as well, in the stream's order within a part."""
    shares: list[list[str]] = [[] for _ in range(parts)]
    for line in lines:
        first = rng.randrange(parts)
        shares[first].append(line)
        if rng.random() < OVERLAP:
            shares[(first + rng.randrange(1, parts)) % parts].append(line)
    return shares


def invalid_lines(lines: list[str], now: datetime) -> set[str]:
    """The lines ingestion must reject and keep."""
    invalid = set()
    for line in lines:
        try:
            validate_event_with_digest(json.loads(line), now=now)
        except (InvalidInput, ValueError):
            invalid.add(line)
    return invalid


def kept_rejections(url: str) -> set[str]:
    engine = make_engine(url)
    with engine.connect() as connection:
        raws = set(connection.execute(sa.text("SELECT raw FROM rejected_events")).scalars())
    engine.dispose()
    return raws


def test_ingest_processes_api_writers_and_readers_at_once_give_the_derived_state(
    database_url: str, tmp_path: Path
) -> None:
    # Every event names its request and no event_id is re-used with other content: the state is then a
    # function of the set of events alone (SPEC §5.1), whatever the interleaving of the clients.
    lines = with_bad_events(simulated_events(SEED, unattached_rate=0.0), SEED, conflicts=False)
    now = datetime.now(UTC)
    shares = split(lines, INGEST_PROCESSES + API_WRITERS, random.Random(SEED))
    files = []
    for number, share in enumerate(shares[:INGEST_PROCESSES]):
        files.append(tmp_path / f"part-{number}.ndjson")
        files[-1].write_text("".join(line + "\n" for line in share))
    invalid = invalid_lines(lines, now)
    devices = sorted({json.loads(line)["device_id"] for line in lines if line not in invalid})
    tokens = issue_tokens(database_url)

    with live_server(database_url, tmp_path) as server:
        writers = [Client(ApiClient(server.port, tokens.ingest)) for _ in range(API_WRITERS)]
        readers = [Client(ApiClient(server.port, tokens.read)) for _ in range(API_READERS)]
        env = {**os.environ, "FDTRACK_DATABASE_URL": database_url, "FDTRACK_INGEST_BATCH_SIZE": BATCH_SIZE}
        processes = [
            subprocess.Popen(
                [*FDTRACK, "ingest", "--json", str(path)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
            )
            for path in files
        ]
        writing = [
            threading.Thread(target=post_share, args=(writer, share))
            for writer, share in zip(writers, shares[INGEST_PROCESSES:], strict=True)
        ]
        done = threading.Event()
        reading = [
            threading.Thread(target=look_up_until, args=(reader, devices, random.Random(number), done))
            for number, reader in enumerate(readers)
        ]
        for thread in (*writing, *reading):
            thread.start()
        outputs = [process.communicate(timeout=RUN_SECONDS) for process in processes]
        for thread in writing:
            thread.join(timeout=RUN_SECONDS)
        done.set()
        for thread in reading:
            thread.join(timeout=RUN_SECONDS)
        assert not any(thread.is_alive() for thread in (*writing, *reading)), "a client hung"

    for process, (stdout, stderr) in zip(processes, outputs, strict=True):
        assert process.returncode in (0, 3), stderr.decode()  # 3: the invalid lines were rejected, as they should
        assert b"Traceback" not in stderr, stderr.decode()
        assert json.loads(stdout)["accepted"] >= 0
    for client in (*writers, *readers):
        assert client.failures == []
    assert all(reader.statuses for reader in readers), "the readers never got to read"
    assert stored_records(database_url) == derived_records(lines, now)
    assert kept_rejections(database_url) == invalid


def post_share(writer: Client, share: list[str]) -> None:
    for lines in batches(share, POST_SIZE):
        writer.send(lambda api, lines=lines: api.post_events(lines))  # type: ignore[misc]


def look_up_until(reader: Client, devices: list[str], rng: random.Random, done: threading.Event) -> None:
    """Look up random devices (and their requests) until the writers are done: bounded by their work."""
    while not done.is_set():
        device = rng.choice(devices)
        reader.send(lambda api, device=device: api.by_device(device))  # type: ignore[misc]
        if rng.random() < 0.2:
            reader.send(lambda api, device=device: api.by_request(_a_request_of(api, device)))  # type: ignore[misc]


def _a_request_of(api: ApiClient, device: str) -> str:
    answer = api.by_device(device)
    records = answer.json().get("records") if answer.status == 200 else None
    if not records:
        return "90-B3-D5-1F-30-01-00-00:90-B3-D5-1F-30-00-00-02:1"  # none yet: a request with no records
    return str(records[0]["service_request_id"])  # type: ignore[index]
