"""Ingestion and look-up benchmark: fdtrack against a plain hand-written bulk load of the same file.

Run `make bench` (or `python bench/ingest_bench.py --help`). It simulates N records x 5 stages as
NDJSON, then on each database: runs `fdtrack ingest` in a child process (rate, peak RSS), runs a
plain load of the same file into equivalent tables (parse each line, insert the event, upsert the
record's latest status, 10,000-row transactions), and times look-ups through the service layer.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

from fdtrack.adapters.db.store import SqlStore
from fdtrack.domain.retention import RetentionPolicy
from fdtrack.runtime import steady_latency
from fdtrack.services.lookup import Viewer, records_by_device, records_by_request
from fdtrack.simulator import SimulationConfig, Simulator

OUT = Path(__file__).parent / "out"
PG_ADMIN = os.environ.get("FDTRACK_BENCH_POSTGRESQL", "postgresql://postgres@127.0.0.1:5432/postgres")
PG_DATABASE = "fdtrack_bench"
PLAIN_BATCH = 10_000
SQLITE_TUNING = ("journal_mode=WAL", "synchronous=NORMAL", "cache_size=-65536", "wal_autocheckpoint=10000")


@dataclass
class Result:
    backend: str
    events: int
    fdtrack_seconds: float
    fdtrack_rate: float
    fdtrack_peak_rss_mb: float
    plain_seconds: float
    plain_rate: float
    ratio: float
    plain_tuned_rate: float | None
    tuned_ratio: float | None
    lookup_device_p50_ms: float
    lookup_device_p99_ms: float
    lookup_request_p50_ms: float
    lookup_request_p99_ms: float


def simulate(path: Path, records: int) -> int:
    """N records that all run through the five stages, nothing failing, duplicated or unattached."""
    config = SimulationConfig(
        records=records,
        requests=records,
        max_devices=2_000,
        seed=42,
        end=datetime.now(UTC) - timedelta(days=10),
        days=20,
        failure_scale=0,
        duplicate_rate=0,
        unattached_rate=0,
        stuck_rate=0,
        complete=True,
    )
    simulator = Simulator(config)
    with path.open("w") as stream:
        for line in simulator.lines():
            stream.write(line + "\n")
    return simulator.events


def run_fdtrack_ingest(url: str, path: Path) -> tuple[float, float, dict[str, object]]:
    """Seconds, peak RSS in MiB and the JSON summary of `fdtrack ingest` in a child process."""
    env = {**os.environ, "FDTRACK_DATABASE_URL": url}
    migrate = [sys.executable, "-m", "fdtrack.cli", "purge", "--json"]
    subprocess.run(migrate, env=env, check=True, capture_output=True)  # schema first, outside the timing
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-m", "fdtrack.cli", "ingest", "--json", str(path)], env=env, stdout=subprocess.PIPE
    )
    peak_kib = 0
    status = Path(f"/proc/{child.pid}/status")
    while child.poll() is None:
        # VmHWM is the child's own high-water mark since exec (rusage would count the parent's pages).
        try:
            line = next(line for line in status.read_text().splitlines() if line.startswith("VmHWM:"))
            peak_kib = max(peak_kib, int(line.split()[1]))
        except (OSError, StopIteration):
            pass
        time.sleep(0.2)
    seconds = time.perf_counter() - started
    output = child.stdout.read() if child.stdout else b""
    if child.returncode != 0:
        raise SystemExit(f"fdtrack ingest failed with exit code {child.returncode}: {output[-500:]!r}")
    return seconds, peak_kib / 1024, json.loads(output)


_PLAIN_EVENT_COLUMNS = "event_id, request_id, device_id, status, occurred_at, reason, firmware_version, device_type"


def plain_rows(line: str) -> tuple[tuple[object, ...], tuple[object, ...]]:
    fields = json.loads(line)
    received_at = datetime.now(UTC).isoformat()
    event = (
        fields["event_id"],
        fields["request_id"],
        fields["device_id"],
        fields["status"],
        fields["occurred_at"],
        fields.get("reason", ""),
        fields.get("firmware_version"),
        fields.get("device_type"),
        received_at,
    )
    originator = fields["request_id"].split(":", 1)[0]
    record = (
        fields["request_id"],
        fields["device_id"],
        originator,
        fields["status"],
        fields["occurred_at"],
        received_at,
    )
    return event, record


# Equivalent tables: the same data per event and record, and an index for each look-up fdtrack
# serves (by request, by device, by originator, by receipt for retention, events by record).
_PLAIN_SCHEMA = (
    "CREATE TABLE plain_records (request_id TEXT, device_id TEXT, originator TEXT, status TEXT,"
    " occurred_at TEXT, received_at TEXT, PRIMARY KEY (request_id, device_id))",
    "CREATE INDEX plain_records_device ON plain_records (device_id)",
    "CREATE INDEX plain_records_originator ON plain_records (originator, request_id)",
    "CREATE INDEX plain_records_received ON plain_records (received_at)",
    "CREATE TABLE plain_events (event_id TEXT PRIMARY KEY, request_id TEXT, device_id TEXT, status TEXT,"
    " occurred_at TEXT, reason TEXT, firmware_version TEXT, device_type TEXT, received_at TEXT)",
    "CREATE INDEX plain_events_record ON plain_events (request_id, device_id)",
)
_PLAIN_UPSERT = (
    "INSERT INTO plain_records VALUES ({marks}) ON CONFLICT (request_id, device_id) DO UPDATE"
    " SET status = excluded.status, occurred_at = excluded.occurred_at, received_at = excluded.received_at"
    " WHERE excluded.occurred_at >= plain_records.occurred_at"
)


def plain_load_sqlite(database: Path, path: Path, pragmas: tuple[str, ...]) -> float:
    connection = sqlite3.connect(database, isolation_level=None)
    for pragma in pragmas:
        connection.execute(f"PRAGMA {pragma}")
    for statement in _PLAIN_SCHEMA:
        connection.execute(statement)
    insert = f"INSERT INTO plain_events ({_PLAIN_EVENT_COLUMNS}, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
    upsert = _PLAIN_UPSERT.format(marks="?, ?, ?, ?, ?, ?")
    started = time.perf_counter()
    with path.open() as stream:
        while batch := [plain_rows(line) for line, _ in zip(stream, range(PLAIN_BATCH), strict=False)]:
            connection.execute("BEGIN")
            connection.executemany(insert, [event for event, _ in batch])
            connection.executemany(upsert, [record for _, record in batch])
            connection.execute("COMMIT")
    seconds = time.perf_counter() - started
    connection.close()
    return seconds


def plain_load_postgresql(url: str, path: Path) -> float:
    with psycopg.connect(url) as connection:
        for statement in _PLAIN_SCHEMA:
            connection.execute(statement.encode())
        connection.commit()
        insert = f"INSERT INTO plain_events ({_PLAIN_EVENT_COLUMNS}, received_at) VALUES ({', '.join(['%s'] * 9)})"
        upsert = _PLAIN_UPSERT.format(marks=", ".join(["%s"] * 6))
        started = time.perf_counter()
        with path.open() as stream, connection.cursor() as cursor:
            while batch := [plain_rows(line) for line, _ in zip(stream, range(PLAIN_BATCH), strict=False)]:
                cursor.executemany(insert, [event for event, _ in batch])
                cursor.executemany(upsert, [record for _, record in batch])
                connection.commit()
        return time.perf_counter() - started


def percentiles(samples: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(samples, n=100)
    return cuts[49] * 1000, cuts[98] * 1000


def time_lookups(url: str, path: Path, samples: int) -> tuple[float, float, float, float]:
    """p50/p99 in ms of look-ups through the service layer: by Device ID, and by Service Request ID
    (its first page of 100 records with their histories), each kind drawn uniformly."""
    rng = random.Random(1)
    devices, requests = set(), set()
    with path.open() as stream:
        for line in stream:
            fields = json.loads(line)
            devices.add(fields["device_id"])
            requests.add(fields["request_id"])
    store = SqlStore.open(url)
    steady_latency()  # as `fdtrack serve` does
    viewer, retention = Viewer.everyone("bench"), RetentionPolicy()
    by_device, by_request = [], []
    for device in rng.sample(sorted(devices), min(samples, len(devices))):
        started = time.perf_counter()
        records_by_device(store, viewer, device, retention)
        by_device.append(time.perf_counter() - started)
    for request in rng.sample(sorted(requests), min(samples, len(requests))):
        started = time.perf_counter()
        records_by_request(store, viewer, request, retention, limit=100)
        by_request.append(time.perf_counter() - started)
    store.dispose()
    return (*percentiles(by_device), *percentiles(by_request))


def fresh_postgresql() -> str:
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {PG_DATABASE}")
    return PG_ADMIN.rsplit("/", 1)[0] + f"/{PG_DATABASE}"


def bench(backend: str, path: Path, events: int, samples: int) -> Result:
    if backend == "sqlite":
        for leftover in OUT.glob("bench*.db*"):
            leftover.unlink()
        url = f"sqlite:///{OUT / 'bench.db'}"
    else:
        url = fresh_postgresql()
    seconds, rss, summary = run_fdtrack_ingest(url, path)
    assert summary["accepted"] == events, summary
    tuned_seconds = None
    if backend == "sqlite":
        # As a hand-written loader gets it (SQLite's defaults), and with fdtrack's own settings.
        plain_seconds = plain_load_sqlite(OUT / "bench-plain.db", path, ())
        tuned_seconds = plain_load_sqlite(OUT / "bench-plain-tuned.db", path, SQLITE_TUNING)
    else:
        plain_seconds = plain_load_postgresql(url, path)
    lookups = time_lookups(url, path, samples)
    return Result(
        backend,
        events,
        round(seconds, 1),
        round(events / seconds),
        round(rss, 1),
        round(plain_seconds, 1),
        round(events / plain_seconds),
        round(plain_seconds / seconds, 2),
        round(events / tuned_seconds) if tuned_seconds else None,
        round(tuned_seconds / seconds, 2) if tuned_seconds else None,
        *(round(value, 2) for value in lookups),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=200_000, help="records to simulate (5 events each)")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--samples", type=int, default=2_000, help="look-ups timed per kind")
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    path = OUT / f"events-{args.records}.ndjson"
    events = simulate(path, args.records)
    print(f"simulated {events} events into {path}", flush=True)
    results = [bench(backend, path, events, args.samples) for backend in args.backends.split(",")]
    (OUT / "ingest.json").write_text(json.dumps([asdict(r) for r in results], indent=2))
    print(
        "| database | events | fdtrack events/s | plain load events/s | fdtrack / plain |"
        " plain load with fdtrack's SQLite settings | fdtrack / that | peak RSS MiB |"
        " device p50 / p99 ms | request p50 / p99 ms |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in results:
        tuned = f"{r.plain_tuned_rate:,.0f} | {r.tuned_ratio:.0%}" if r.plain_tuned_rate and r.tuned_ratio else "- | -"
        print(
            f"| {r.backend} | {r.events:,} | {r.fdtrack_rate:,.0f} | {r.plain_rate:,.0f} | {r.ratio:.0%} | {tuned} |"
            f" {r.fdtrack_peak_rss_mb:.0f} | {r.lookup_device_p50_ms} / {r.lookup_device_p99_ms} |"
            f" {r.lookup_request_p50_ms} / {r.lookup_request_p99_ms} |"
        )


if __name__ == "__main__":
    main()
