"""Soak benchmark: a real `fdtrack serve` under simulated national traffic for an hour; memory, errors, latency.

    .venv/bin/python bench/soak.py [--duration 3600] [--backend postgresql|sqlite] [--rate 40]
                                   [--peak-rate 200 --peak-every 900 --peak-length 60]
                                   [--readers 4 --lookup-rate 20]

One writer POSTs simulated events (`fdtrack simulate`'s model: requests of 1 to 2,000 devices walking
the five stages, duplicates, late and unattached events, resets) to `POST /api/v1/events` at `--rate`
events a second on average — 100 million events in 30 days is about 40/s — rising to `--peak-rate` for
`--peak-length` seconds every `--peak-every`. Each second it sends what is due in one body, so a slow
server shows as larger bodies (the "largest POST" column) rather than a slower clock. `--readers`
threads look up devices and requests already sent, `--lookup-rate` a second in all. Every minute the
server's RSS, the answers and their latency percentiles are recorded, with the mean size of the answers
by request (records, history entries: a request's page grows as its devices report); the table
(markdown) and the raw figures (JSON) go to `bench/out/soak-<backend>.md` and `.json`.

Flat memory: the largest RSS of the last `--window` minutes (10) is within `--rss-margin` (5%) of the
RSS at minute `--baseline-minute` (10), after the caches have filled. Runs too short to have both are
reported as not judged.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from itertools import count
from pathlib import Path
from urllib.parse import quote

import psycopg

from fdtrack.adapters.db.accounts import SqlAccountStore
from fdtrack.adapters.db.store import SqlStore
from fdtrack.adapters.db.tokens import SqlTokenStore
from fdtrack.adapters.passwords import Argon2Hasher
from fdtrack.domain.accounts import Role
from fdtrack.domain.tokens import TokenScope
from fdtrack.services.accounts import create_account
from fdtrack.services.tokens import create_token
from fdtrack.simulator import SimulationConfig, Simulator

OUT = Path(__file__).parent / "out"
FDTRACK = [sys.executable, "-m", "fdtrack.cli"]
PG_ADMIN = os.environ.get("FDTRACK_BENCH_POSTGRESQL", "postgresql://postgres@127.0.0.1:5432/postgres")
PG_DATABASE = "fdtrack_soak"
CLIENT_TIMEOUT_SECONDS = 30.0
POST_EVERY_SECONDS = 1.0
KNOWN_KEYS = 50_000  # devices and requests the readers choose from: the most recently sent


@dataclass
class Collector:
    """What the clients saw since the last sample; swapped out once a minute."""

    post_ms: list[float] = field(default_factory=list)
    device_ms: list[float] = field(default_factory=list)
    request_ms: list[float] = field(default_factory=list)
    request_records: list[int] = field(default_factory=list)  # records in each answer by request
    request_events: list[int] = field(default_factory=list)  # history entries in each answer by request
    events_sent: int = 0
    largest_post: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    not_found: int = 0
    errors: int = 0
    error_examples: list[str] = field(default_factory=list)

    def error(self, what: str) -> None:
        self.errors += 1
        if len(self.error_examples) < 5:
            self.error_examples.append(what[:300])


@dataclass
class Minute:
    minute: int
    rss_mib: float
    events_sent: int
    accepted: int
    duplicates: int
    rejected: int
    largest_post: int  # events: about a second's worth while the server keeps up, more once it falls behind
    lookups: int
    not_found: int
    errors: int
    post: dict[str, float]
    by_device: dict[str, float]
    by_request: dict[str, float]
    by_request_answer: dict[str, float]  # mean records and history entries per answer: what the latency buys
    error_examples: list[str]


class Shared:
    """State the writer, the readers and the sampler share, behind one lock."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.collector = Collector()
        self.devices: deque[str] = deque(maxlen=KNOWN_KEYS)
        self.requests: deque[str] = deque(maxlen=KNOWN_KEYS)
        self.stop = threading.Event()

    def swap(self) -> Collector:
        with self.lock:
            collected, self.collector = self.collector, Collector()
            return collected


class Api:
    """HTTP/1.1 with one kept-alive connection per thread, reopened after any failure."""

    def __init__(self, port: int, token: str) -> None:
        self.port = port
        self.headers = {"Authorization": f"Bearer {token}"}
        self.connection: http.client.HTTPConnection | None = None

    def call(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        if self.connection is None:
            self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=CLIENT_TIMEOUT_SECONDS)
        headers = dict(self.headers)
        if body is not None:
            headers["Content-Type"] = "application/x-ndjson"
        try:
            self.connection.request(method, path, body=body, headers=headers)
            response = self.connection.getresponse()
            return response.status, response.read()
        except (OSError, http.client.HTTPException):
            self.connection.close()
            self.connection = None
            raise


def national_events(seed: int) -> Iterator[str]:
    """An endless simulated stream: one simulation of 500 requests after another, each with its own seed."""
    end = datetime.now(UTC)
    for number in count():
        config = SimulationConfig(requests=500, max_devices=2_000, seed=seed + number, end=end, days=7)
        yield from Simulator(config).lines()


def rate_at(elapsed: float, options: argparse.Namespace) -> float:
    """Events a second at this moment: the average rate, or the peak rate during a peak."""
    in_peak = options.peak_length > 0 and elapsed % options.peak_every >= options.peak_every - options.peak_length
    return float(options.peak_rate if in_peak else options.rate)


def write(api: Api, shared: Shared, options: argparse.Namespace, started: float) -> None:
    """Send, once a second, every event due by then (up to --max-body-events in one body)."""
    events = national_events(options.seed)
    owed = 0.0
    last = started
    while not shared.stop.is_set():
        now = time.monotonic()
        owed += rate_at(now - started, options) * (now - last)
        last = now
        due = int(owed)
        if due > 0:
            lines = [next(events) for _ in range(min(due, options.max_body_events))]
            owed -= len(lines)
            post(api, shared, lines)
        shared.stop.wait(max(0.0, POST_EVERY_SECONDS - (time.monotonic() - now)))


def post(api: Api, shared: Shared, lines: list[str]) -> None:
    body = "".join(line + "\n" for line in lines).encode()
    began = time.perf_counter()
    try:
        status, answer = api.call("POST", "/api/v1/events", body)
    except (OSError, http.client.HTTPException) as error:
        with shared.lock:
            shared.collector.error(f"POST: {error!r}")
        return
    elapsed_ms = (time.perf_counter() - began) * 1000
    with shared.lock:
        collector = shared.collector
        collector.post_ms.append(elapsed_ms)
        collector.events_sent += len(lines)
        collector.largest_post = max(collector.largest_post, len(lines))
        if status != 200:
            collector.error(f"POST {status}: {answer[:200]!r}")
            return
        summary = json.loads(answer)
        collector.accepted += summary["accepted"]
        collector.duplicates += summary["duplicates"]
        collector.rejected += summary["rejected"]
        for line in lines:
            fields = json.loads(line)
            shared.devices.append(fields["device_id"])
            if "request_id" in fields:
                shared.requests.append(fields["request_id"])


def read(api: Api, shared: Shared, options: argparse.Namespace, number: int) -> None:
    """Look-ups at this reader's share of --lookup-rate: by device mostly, by request now and then."""
    rng = random.Random(options.seed * 1_000 + number)
    interval = options.readers / options.lookup_rate
    next_at = time.monotonic()
    while not shared.stop.is_set():
        with shared.lock:
            by_request = rng.random() < options.request_share and bool(shared.requests)
            known = shared.requests if by_request else shared.devices
            key = known[rng.randrange(len(known))] if known else None
        if key is not None:
            look_up(api, shared, by_request, key)
        next_at += interval
        shared.stop.wait(max(0.0, next_at - time.monotonic()))


def look_up(api: Api, shared: Shared, by_request: bool, key: str) -> None:
    query = f"request_id={quote(key)}&limit=100" if by_request else f"device_id={quote(key)}"
    began = time.perf_counter()
    try:
        status, answer = api.call("GET", f"/api/v1/distributions?{query}")
    except (OSError, http.client.HTTPException) as error:
        with shared.lock:
            shared.collector.error(f"GET: {error!r}")
        return
    elapsed_ms = (time.perf_counter() - began) * 1000
    size = None
    if status == 200 and by_request:  # parsed outside the lock, which every client thread takes
        records = json.loads(answer)["records"]
        size = (len(records), sum(len(record["history"]) for record in records))
    with shared.lock:
        collector = shared.collector
        (collector.request_ms if by_request else collector.device_ms).append(elapsed_ms)
        if size is not None:
            collector.request_records.append(size[0])
            collector.request_events.append(size[1])
        elif status == 404:
            collector.not_found += 1  # a device whose only events were rejected has no record
        elif status != 200:
            collector.error(f"GET {status}: {answer[:200]!r}")


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"count": 0, "p50": 0.0, "p95": 0.0, "p99": 0.0, "max": 0.0}
    cuts = statistics.quantiles(values, n=100, method="inclusive") if len(values) > 1 else values * 99
    return {
        "count": len(values),
        "p50": round(cuts[49], 1),
        "p95": round(cuts[94], 1),
        "p99": round(cuts[98], 1),
        "max": round(max(values), 1),
    }


def answer_size(records: list[int], events: list[int]) -> dict[str, float]:
    if not records:
        return {"records": 0.0, "events": 0.0}
    return {"records": round(statistics.fmean(records), 1), "events": round(statistics.fmean(events), 1)}


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError(f"no VmRSS for process {pid}")


def database(backend: str) -> str:
    if backend == "sqlite":
        for leftover in OUT.glob("soak.db*"):
            leftover.unlink()
        return f"sqlite:///{OUT / 'soak.db'}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {PG_DATABASE}")
    return PG_ADMIN.rsplit("/", 1)[0] + f"/{PG_DATABASE}"


def tokens(url: str) -> tuple[str, str]:
    """An ingest token of an upstream system and a read token of the Service Centre (sees every party)."""
    store = SqlStore.open(url)
    accounts, token_store = SqlAccountStore(store.engine), SqlTokenStore(store.engine)
    hasher = Argon2Hasher(1, 64)  # nobody signs in with these passwords
    create_account(accounts, hasher, "soak-upstream", Role.ADMIN, "soak-password-1", "soak")
    create_account(accounts, hasher, "soak-centre", Role.SERVICE_CENTRE, "soak-password-2", "soak")
    ingest = create_token(token_store, "soak-upstream", TokenScope.INGEST, "soak").secret
    read_token = create_token(token_store, "soak-centre", TokenScope.READ, "soak").secret
    store.dispose()
    return ingest, read_token


def start_server(url: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "FDTRACK_DATABASE_URL": url, "FDTRACK_API_RATE_PER_TOKEN": "100000000/second"}
    with log.open("wb") as output:
        process = subprocess.Popen([*FDTRACK, "serve", "--port", str(port)], env=env, stdout=output, stderr=output)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return process
        except OSError:
            pass
        time.sleep(0.2)
    process.kill()
    raise SystemExit(f"the server did not start; see {log}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def memory_verdict(minutes: list[Minute], options: argparse.Namespace) -> dict[str, object]:
    baseline_index, window = options.baseline_minute - 1, options.window
    if len(minutes) < options.baseline_minute + window:
        return {
            "judged": False,
            "flat": None,
            "why": f"needs {options.baseline_minute + window} minutes, the run had {len(minutes)}",
        }
    baseline = minutes[baseline_index].rss_mib
    last = [minute.rss_mib for minute in minutes[-window:]]
    growth = (max(last) - baseline) / baseline
    return {
        "judged": True,
        "flat": growth <= options.rss_margin,
        "baseline_minute": options.baseline_minute,
        "baseline_rss_mib": baseline,
        "last_window_max_rss_mib": max(last),
        "last_window_min_rss_mib": min(last),
        "growth": round(growth, 4),
        "margin": options.rss_margin,
    }


def markdown(minutes: list[Minute], verdict: dict[str, object], options: argparse.Namespace) -> str:
    head = (
        f"Soak: {options.backend}, {options.duration} s, {options.rate}/s events"
        f" (peaks {options.peak_rate}/s for {options.peak_length} s every {options.peak_every} s),"
        f" {options.readers} readers at {options.lookup_rate} look-ups/s\n\n"
        "| min | RSS MiB | events sent | accepted | dup | rejected | largest POST | look-ups | not found | errors"
        " | POST p50/p99 ms | by device p50/p99 ms | by request p50/p99 ms | by request answer records / events |\n"
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n"
    )
    rows = "".join(
        f"| {m.minute} | {m.rss_mib} | {m.events_sent:,} | {m.accepted:,} | {m.duplicates:,} | {m.rejected:,}"
        f" | {m.largest_post:,} | {m.lookups:,} | {m.not_found:,} | {m.errors:,}"
        f" | {m.post['p50']} / {m.post['p99']} | {m.by_device['p50']} / {m.by_device['p99']}"
        f" | {m.by_request['p50']} / {m.by_request['p99']}"
        f" | {m.by_request_answer['records']} / {m.by_request_answer['events']} |\n"
        for m in minutes
    )
    if verdict["judged"]:
        flat = "flat" if verdict["flat"] else "NOT flat"
        memory = (
            f"Memory: {flat} — largest RSS of the last {options.window} minute(s)"
            f" {verdict['last_window_max_rss_mib']} MiB against {verdict['baseline_rss_mib']} MiB at minute"
            f" {options.baseline_minute} ({float(str(verdict['growth'])):+.1%}, margin {options.rss_margin:.0%})."
        )
    else:
        memory = f"Memory: not judged ({verdict['why']})."
    total_errors = sum(m.errors for m in minutes)
    return f"{head}{rows}\n{memory}\nErrors: {total_errors:,}.\n"


def options_from(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--duration", type=int, default=3_600, help="seconds (default 3600)")
    parser.add_argument("--backend", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--rate", type=float, default=40.0, help="events a second on average (default 40)")
    parser.add_argument("--peak-rate", type=float, default=200.0, help="events a second during a peak")
    parser.add_argument("--peak-every", type=float, default=900.0, help="seconds from one peak to the next")
    parser.add_argument("--peak-length", type=float, default=60.0, help="seconds a peak lasts (0: no peaks)")
    parser.add_argument("--max-body-events", type=int, default=5_000, help="events in one POST at most")
    parser.add_argument("--readers", type=int, default=4, help="look-up threads")
    parser.add_argument("--lookup-rate", type=float, default=20.0, help="look-ups a second, all readers together")
    parser.add_argument("--request-share", type=float, default=0.2, help="share of look-ups by request")
    parser.add_argument("--baseline-minute", type=int, default=10)
    parser.add_argument("--window", type=int, default=10, help="last minutes compared with the baseline")
    parser.add_argument("--rss-margin", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=1)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    options = options_from(argv)
    OUT.mkdir(exist_ok=True)
    url = database(options.backend)
    ingest_token, read_token = tokens(url)
    port = free_port()
    server = start_server(url, port, OUT / f"soak-{options.backend}-server.log")
    shared = Shared()
    started = time.monotonic()
    threads = [threading.Thread(target=write, args=(Api(port, ingest_token), shared, options, started))]
    threads += [
        threading.Thread(target=read, args=(Api(port, read_token), shared, options, number))
        for number in range(options.readers)
    ]
    for thread in threads:
        thread.start()
    minutes: list[Minute] = []
    try:
        for minute in range(1, -(-options.duration // 60) + 1):
            shared.stop.wait(max(0.0, started + min(minute * 60, options.duration) - time.monotonic()))
            if server.poll() is not None:
                raise SystemExit(f"the server exited with {server.returncode} in minute {minute}")
            minutes.append(sample(minute, server.pid, shared))
            print(f"minute {minute}: {asdict(minutes[-1])}", flush=True)
    finally:
        shared.stop.set()
        for thread in threads:
            thread.join(timeout=CLIENT_TIMEOUT_SECONDS * 2)
        server.terminate()
        server.wait(timeout=60)
    verdict = memory_verdict(minutes, options)
    report = markdown(minutes, verdict, options)
    stem = OUT / f"soak-{options.backend}"
    stem.with_suffix(".md").write_text(report)
    stem.with_suffix(".json").write_text(
        json.dumps({"options": vars(options), "minutes": [asdict(m) for m in minutes], "memory": verdict}, indent=2)
    )
    print(report)


def sample(minute: int, pid: int, shared: Shared) -> Minute:
    collected = shared.swap()
    return Minute(
        minute=minute,
        rss_mib=rss_mib(pid),
        events_sent=collected.events_sent,
        accepted=collected.accepted,
        duplicates=collected.duplicates,
        rejected=collected.rejected,
        largest_post=collected.largest_post,
        lookups=len(collected.device_ms) + len(collected.request_ms),
        not_found=collected.not_found,
        errors=collected.errors,
        post=percentiles(collected.post_ms),
        by_device=percentiles(collected.device_ms),
        by_request=percentiles(collected.request_ms),
        by_request_answer=answer_size(collected.request_records, collected.request_events),
        error_examples=collected.error_examples,
    )


if __name__ == "__main__":
    main()
