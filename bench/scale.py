"""National-scale benchmark on PostgreSQL: a 30-day simulated dataset loaded day by day, then measured.

    .venv/bin/python bench/scale.py [--records 10000000] [--days 30] [--seconds 30]
                                    [--ingest-processes 1] [--server-workers 1] [--measure-only]

1. Simulates N records (realistic mix: request sizes up to 50,000 plus one of 50,000, failures,
   duplicates, late events, device alerts without a request ID, resets) arriving over D days, one
   NDJSON file per arrival day under bench/out/scale-N/ (reused when present).
2. Ingests the days in order into a fresh database through fdtrack's NDJSON reader and ingestion
   service, the clock at each day's end (so received_at and the partitions follow the days); times
   every day. `--ingest-processes N` shares each day among N processes by Device ID, as N
   `fdtrack ingest` processes fed by device would. Then a plain COPY of the resulting rows (records,
   events, buckets) into the same tables of a second fresh database, in the same run: the ceiling
   for any loader.
3. Look-ups through the service layer: random devices and random single-device requests (p50/p99).
4. The API under load: `fdtrack serve --workers N` and wrk paced to about 1,000 requests/s (device
   look-ups and single-device request look-ups), with a read token of one supplier party; the CPU
   the whole machine (servers, PostgreSQL, wrk) spent per look-up meanwhile.
5. The 50,000-device request: first page of the screen's data and its CSV, through the API.
6. Purge of one day's expired data (as of the day after the window), with look-ups running beside
   it: seconds, records dropped with partitions and deleted row by row, slowest look-up meanwhile.
7. Database size on disk. Results: bench/out/scale-N.json and a markdown table on stdout.

Needs wrk (`apt-get install wrk`) and PostgreSQL at FDTRACK_BENCH_POSTGRESQL (default: local, trust).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
import zlib
from collections.abc import Callable
from contextlib import suppress
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from functools import partial
from pathlib import Path

import psycopg
from sqlalchemy import text

from api_bench import free_port, lua_script, server, wrk
from fdtrack.adapters.db.store import SqlStore
from fdtrack.adapters.event_files import read_ndjson
from fdtrack.domain.errors import InvalidInput, RecordsNotFound
from fdtrack.domain.events import validate_event_with_digest
from fdtrack.domain.retention import RetentionPolicy
from fdtrack.services.ingest import IngestOptions, IngestSummary, ingest
from fdtrack.services.lookup import Viewer, records_by_device, records_by_request
from fdtrack.services.purge import PURGE_WORKERS, purge
from fdtrack.simulator import DEFAULT_ORIGINATORS, SimulationConfig, Simulator

OUT = Path(__file__).parent / "out"
FDTRACK = str(Path(sys.executable).parent / "fdtrack")
PG_ADMIN = os.environ.get("FDTRACK_BENCH_POSTGRESQL", "postgresql://postgres@127.0.0.1:5432/postgres")
# The benchmark measures the server, not its per-token rate limit (counting still runs on every request).
SERVER_ENV = {"FDTRACK_PURGE_INTERVAL_MINUTES": "0", "FDTRACK_API_RATE_PER_TOKEN": "100000000/second"}
LARGE_REQUEST_SIZE = 50_000
SAMPLES = 2_000
EVERYONE = Viewer.everyone("bench")
RETENTION = RetentionPolicy()
PARTY_USER_ID = DEFAULT_ORIGINATORS[0]
# The slowest and fastest day leave out days of fewer events than this: the few events the simulation
# puts past the last midnight make a day of their own, whose rate is mostly start-up.
RATED_DAY_EVENTS = 10_000
API_RATE = 1_000


@dataclass
class Figures:
    records: int
    ingest_processes: int = 1
    server_workers: int = 1
    events_ingested: int = 0
    ingest_seconds: float = 0.0
    ingest_cpu_seconds: float = 0.0  # in the ingest processes
    machine_cpu_seconds: float = 0.0  # busy CPU of the whole machine meanwhile: the rest is PostgreSQL's
    ingest_rate: float = 0.0
    slowest_day_rate: float = 0.0
    fastest_day_rate: float = 0.0
    day_rates: list[float] = field(default_factory=list)
    copy_seconds: float = 0.0
    copy_machine_cpu_seconds: float = 0.0
    copy_rate: float = 0.0
    ingest_to_copy: float = 0.0
    lookup: dict[str, float] = field(default_factory=dict)
    api: dict[str, dict[str, float]] = field(default_factory=dict)
    large_request: dict[str, float] = field(default_factory=dict)
    purge: dict[str, float] = field(default_factory=dict)
    cost_microseconds: dict[str, float] = field(default_factory=dict)
    database_megabytes: float = 0.0
    table_megabytes: dict[str, float] = field(default_factory=dict)


def day_files(records: int, days: int, end: datetime) -> list[tuple[date, Path]]:
    """The simulated stream split by arrival day; made once per size and reused."""
    folder = OUT / f"scale-{records}"
    done = folder / "complete"
    if not done.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        print(f"simulating {records:,} records over {days} days into {folder} …", flush=True)
        # Requests are drawn until about `records` devices (the simulator's mix averages ~672 devices
        # a request); no cap, so the 50,000-device request is always there. The count made is kept.
        config = SimulationConfig(
            requests=max(1, round((records - LARGE_REQUEST_SIZE) / 672)),
            seed=2026,
            end=end,
            days=days,
            large_requests=(LARGE_REQUEST_SIZE,),
        )
        simulator, handles = Simulator(config), {}
        for arrival, line in simulator.arrivals():
            day = arrival.date()
            if day not in handles:
                handles[day] = (folder / f"day-{day:%Y%m%d}.ndjson").open("w")
            handles[day].write(line + "\n")
        for handle in handles.values():
            handle.close()
        done.write_text(json.dumps({"records": simulator.records, "events": simulator.events}))
    return sorted(
        (datetime.strptime(path.stem[4:], "%Y%m%d").replace(tzinfo=UTC).date(), path)
        for path in folder.glob("day-*.ndjson")
    )


def fresh_database(name: str) -> str:
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN.rsplit("/", 1)[0]
    return f"{base}/{name}"


def busy_cpu_seconds() -> float:
    """CPU time the whole machine has spent busy since boot (every process, PostgreSQL's included)."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(value) for value in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def ingest_share(url: str, day: date, path: Path, share: int, shares: int) -> tuple[IngestSummary, float]:
    """One ingest process's share of a day: the devices whose hash falls to it, in file order, so
    each record (and each device's events naming no request) stays with one process."""
    store = SqlStore.open(url)
    end_of_day = datetime.combine(day, clock_time(23, 59, 59), tzinfo=UTC)
    options = IngestOptions(clock=partial(lambda moment: moment, end_of_day))
    with path.open("rb") as stream:
        events = (
            raw
            for raw in read_ndjson(stream, path.name)
            if shares == 1 or zlib.crc32(str((raw.fields or {}).get("device_id")).encode()) % shares == share
        )
        began = time.process_time()
        summary = ingest(store, events, options)
        cpu = time.process_time() - began
    store.dispose()
    return summary, cpu


def load(url: str, files: list[tuple[date, Path]], figures: Figures, processes: int) -> None:
    SqlStore.open(url).dispose()  # the schema, made once before the processes start
    rated: list[int] = []  # the rates of days with enough events to tell
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        for day, path in files:
            start, busy = time.perf_counter(), busy_cpu_seconds()
            shares = [(url, day, path, share, processes) for share in range(processes)]
            summary = IngestSummary()
            for part, cpu in pool.starmap(ingest_share, shares):
                summary.add(part)
                figures.ingest_cpu_seconds += cpu
            seconds = time.perf_counter() - start
            figures.machine_cpu_seconds += busy_cpu_seconds() - busy
            events = summary.accepted + summary.duplicates + summary.rejected
            figures.events_ingested += summary.accepted
            figures.ingest_seconds += seconds
            rate = round(events / seconds)
            figures.day_rates.append(rate)
            if events >= RATED_DAY_EVENTS:
                rated.append(rate)
            print(f"  {day}: {events:,} events in {seconds:.1f} s ({events / seconds:,.0f}/s)", flush=True)
    figures.ingest_rate = round(figures.events_ingested / figures.ingest_seconds)
    figures.slowest_day_rate = min(rated or figures.day_rates)
    figures.fastest_day_rate = max(rated or figures.day_rates)


_COPIED = ("request_buckets", "device_buckets", "distribution_records", "status_events")


def plain_copy(source_url: str, target_url: str, figures: Figures) -> None:
    """The loaded rows exported, then COPYed into the same (empty, partitioned) tables elsewhere."""
    SqlStore.open(target_url).dispose()  # same schema, by the same migrations
    exported = {table: OUT / f"copy-{table}.bin" for table in _COPIED}
    with psycopg.connect(source_url) as source:
        days = [row[0] for row in source.execute("SELECT DISTINCT bucket_day FROM request_buckets")]
        for table, path in exported.items():
            query = f"COPY (SELECT * FROM {table}) TO STDOUT (FORMAT BINARY)"
            with path.open("wb") as out, source.cursor().copy(query) as copy:
                for chunk in copy:
                    out.write(chunk)
    target_store = SqlStore.open(target_url)
    for day in days:
        target_store.prepare_storage(day)  # partitions exist before the timed load, as for fdtrack
    target_store.dispose()
    start, busy = time.perf_counter(), busy_cpu_seconds()
    with psycopg.connect(target_url) as target:
        for table, path in exported.items():
            with path.open("rb") as stream, target.cursor().copy(f"COPY {table} FROM STDIN (FORMAT BINARY)") as copy:
                while chunk := stream.read(1 << 20):
                    copy.write(chunk)
        target.commit()
    figures.copy_seconds = time.perf_counter() - start
    figures.copy_machine_cpu_seconds = busy_cpu_seconds() - busy
    figures.copy_rate = round(figures.events_ingested / figures.copy_seconds)
    figures.ingest_to_copy = round(figures.ingest_rate / figures.copy_rate, 3)
    for path in exported.values():
        path.unlink()


def cost_breakdown(files: list[tuple[date, Path]], figures: Figures) -> None:
    """Where ingestion's time goes, per event, on the largest day: reading the NDJSON, then reading
    and validating (no database), against the whole ingestion and the plain COPY."""
    day, path = max(files, key=lambda item: item[1].stat().st_size)
    now = datetime.combine(day, clock_time(23, 59, 59), tzinfo=UTC)
    timings = {}
    for name, work in (
        ("read", lambda raw: raw),
        ("read_and_validate", lambda raw: raw.fields is not None and _try_validate(raw.fields, now)),
    ):
        start, count = time.perf_counter(), 0
        with path.open("rb") as stream:
            for raw in read_ndjson(stream, path.name):
                work(raw)
                count += 1
        timings[name] = (time.perf_counter() - start) / count * 1e6
    events = max(figures.events_ingested, 1)
    figures.cost_microseconds = {
        "read": round(timings["read"], 1),
        "validate": round(timings["read_and_validate"] - timings["read"], 1),
        "derive_and_store": round(1e6 / figures.ingest_rate - timings["read_and_validate"], 1),
        "whole_ingestion": round(1e6 / figures.ingest_rate, 1),
        "plain_copy": round(1e6 / figures.copy_rate, 1),
        # CPU per event, where wall time above is what a client waits: fdtrack's processes against
        # everything else busy meanwhile (PostgreSQL, almost all of it), and the same for the COPY.
        "ingest_cpu_fdtrack": round(figures.ingest_cpu_seconds / events * 1e6, 1),
        "ingest_cpu_database": round((figures.machine_cpu_seconds - figures.ingest_cpu_seconds) / events * 1e6, 1),
        "copy_cpu": round(figures.copy_machine_cpu_seconds / events * 1e6, 1),
    }


def _try_validate(fields: dict[str, object], now: datetime) -> bool:
    try:
        validate_event_with_digest(fields, now=now)
    except InvalidInput:
        return False
    return True


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return round(statistics.median(ordered), 2), round(ordered[int(len(ordered) * 0.99) - 1], 2)


@dataclass
class Keys:
    devices: list[str]
    single_requests: list[str]  # requests of one device
    supplier_devices: list[str]  # of the supplier party the API token belongs to
    supplier_single_requests: list[str]
    largest_request: str


def sample_keys(url: str, records: int) -> Keys:
    """Keys to look up, drawn at random from the loaded records."""
    percent = min(100.0, 100.0 * SAMPLES * 10 / records)
    sample = f"distribution_records r TABLESAMPLE BERNOULLI ({percent}) REPEATABLE (5)"
    with psycopg.connect(url) as connection:
        devices = [row[0] for row in connection.execute(f"SELECT device_id FROM {sample}")]
        single = (
            f"SELECT r.service_request_id, r.originator_user_id FROM {sample} WHERE NOT EXISTS "
            "(SELECT 1 FROM distribution_records o "
            "WHERE o.service_request_id = r.service_request_id AND o.device_id <> r.device_id)"
        )
        singles = connection.execute(single).fetchall()
        supplier = [
            row[0]
            for row in connection.execute(
                f"SELECT device_id FROM {sample} WHERE originator_user_id = %s", (PARTY_USER_ID,)
            )
        ]
        largest = connection.execute(
            "SELECT service_request_id FROM distribution_records GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
        ).fetchone()[0]  # type: ignore[index]
    rng = random.Random(5)
    supplier_singles = [request for request, originator in singles if originator == PARTY_USER_ID]
    keys = [devices, [request for request, _ in singles], supplier, supplier_singles]
    for listed in keys:
        rng.shuffle(listed)
    devices_, singles_, supplier_, supplier_singles_ = (listed[:SAMPLES] for listed in keys)
    return Keys(devices_, singles_, supplier_, supplier_singles_, largest)


def service_lookups(url: str, devices: list[str], singles: list[str], figures: Figures) -> None:
    store = SqlStore.open(url)
    timings: dict[str, list[float]] = {"device": [], "request": []}
    for name, keys, look_up in (
        ("device", devices, lambda key: records_by_device(store, EVERYONE, key, RETENTION)),
        ("request", singles, lambda key: records_by_request(store, EVERYONE, key, RETENTION)),
    ):
        if not keys:
            raise SystemExit(f"no {name} keys were sampled: the dataset is too small for this measure")
        for key in keys[:200]:
            look_up(key)  # warm the caches as a running service would be
        for key in keys:
            start = time.perf_counter()
            look_up(key)
            timings[name].append((time.perf_counter() - start) * 1000)
    store.dispose()
    for name, samples in timings.items():
        figures.lookup[f"{name}_p50_ms"], figures.lookup[f"{name}_p99_ms"] = percentiles(samples)


def fdtrack(url: str, *args: str, stdin: str | None = None) -> str:
    result = subprocess.run(
        [FDTRACK, "--database-url", url, *args], input=stdin, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise SystemExit(f"fdtrack {' '.join(args)} failed: {result.stderr[-500:]}")
    return result.stdout


def read_token(url: str, user_id: str) -> str:
    """A read token of a supplier party owning `user_id` (made once per party)."""
    if user_id not in _TOKENS:
        party, user = f"Supply {user_id}", f"user-{user_id.replace('-', '').lower()}"
        with psycopg.connect(url) as connection:
            made = connection.execute("SELECT 1 FROM parties WHERE name = %s", (party,)).fetchone()
        if made is None:  # a run with --measure-only finds the party and account of the first
            fdtrack(url, "parties", "create", party, "--user-id", user_id)
            fdtrack(
                url, "accounts", "create", user, "--role", "user", "--party", party,
                "--password-stdin", stdin="scale-bench-password\n",
            )  # fmt: skip
        _TOKENS[user_id] = fdtrack(url, "tokens", "create", user, "--name", "scale benchmark").strip()
    return _TOKENS[user_id]


_TOKENS: dict[str, str] = {}


def paced_script(name: str, token: str, targets: list[str], pause_ms: float) -> Path:
    """wrk's script with a pause before each request (wrk keeps each connection to one at a time)."""
    script = lua_script(OUT / f"{name}.lua", f"Bearer {token}", targets)
    script.write_text(script.read_text() + f"delay = function()\n  return {pause_ms:.1f}\nend\n")
    return script


def paced_run(name: str, port: int, token: str, targets: list[str], seconds: int) -> dict[str, float]:
    """wrk paced to about API_RATE requests/s: each connection's cycle is its pause plus the response
    time, so the pause is set from what short runs measure (wrk has no fixed-rate mode)."""
    connections = 40
    cycle_ms = connections * 1000 / API_RATE
    pause = cycle_ms - 1
    for _ in range(3):
        trial = run_wrk(port, paced_script(name, token, targets, pause), 5, connections)
        response_ms = cycle_ms * API_RATE / max(trial["requests_per_second"], 1) - pause
        pause = max(cycle_ms / 4, cycle_ms - response_ms)  # never an unpaced flood
    busy = busy_cpu_seconds()
    result = run_wrk(port, paced_script(name, token, targets, pause), seconds, connections)
    # The whole machine's: the server processes, PostgreSQL and wrk, which share its cores.
    answered = max(result["requests_per_second"] * seconds, 1)
    result["machine_cpu_ms_per_request"] = round((busy_cpu_seconds() - busy) / answered * 1000, 2)
    return result


def api_load(serve: list[str], token: str, keys: Keys, figures: Figures, seconds: int) -> None:
    port = free_port()
    targets = {
        "device": [f"/api/v1/distributions?device_id={d}" for d in keys.supplier_devices],
    }
    targets["request"] = [f"/api/v1/distributions?request_id={r}" for r in keys.supplier_single_requests]
    with server(
        [*serve, "--port", str(port)],
        port,
        env=SERVER_ENV,
    ):
        for name, paths in targets.items():
            figures.api[name] = paced_run(f"scale-{name}", port, token, paths, seconds)
            print(f"  API {name}: {figures.api[name]}", flush=True)


def run_wrk(port: int, script: Path, seconds: int, connections: int) -> dict[str, float]:
    """api_bench's wrk run, as the figures this benchmark records."""
    result = asdict(wrk(script.stem, port, script, seconds, connections))
    del result["name"]
    return result


def large_request(serve: list[str], token: str, request_id: str, figures: Figures) -> None:
    port = free_port()
    command = [*serve, "--port", str(port)]
    headers = {"Authorization": f"Bearer {token}"}
    base = f"http://127.0.0.1:{port}/api/v1/distributions"
    with server(command, port, env=SERVER_ENV):
        page_ms = []
        for _ in range(10):
            start = time.perf_counter()
            with urllib.request.urlopen(
                urllib.request.Request(f"{base}?request_id={request_id}", headers=headers)
            ) as reply:
                body = json.loads(reply.read())
            page_ms.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        with urllib.request.urlopen(
            urllib.request.Request(f"{base}.csv?request_id={request_id}", headers=headers)
        ) as reply:
            rows = reply.read().count(b"\n") - 1
        csv_seconds = time.perf_counter() - start
    figures.large_request = {
        "devices": rows,
        "first_page_records": len(body["records"]),
        "first_page_p50_ms": round(statistics.median(page_ms), 1),
        "csv_seconds": round(csv_seconds, 2),
    }


def purge_moment(day: date) -> datetime:
    """As of the end of the 30 days that followed `day`: its records that heard nothing since expire."""
    return datetime.combine(day + timedelta(days=RETENTION.days + 1), clock_time(0), tzinfo=UTC)


def timed_purge(url: str, as_of: datetime, devices: list[str], figures: Figures) -> None:
    """Purge one day's expired data while a thread keeps looking devices up; the slowest look-up.

    The days before it are purged first, unmeasured, as the hourly purge would have done."""
    store, reader = SqlStore.open(url), SqlStore.open(url)
    purge(store, RETENTION, as_of - timedelta(days=1), "bench")
    done, slowest = threading.Event(), [0.0]

    def look_up_meanwhile() -> None:
        index = 0
        while not done.is_set():
            start = time.perf_counter()
            with suppress(RecordsNotFound):  # the purge may have taken it
                records_by_device(reader, EVERYONE, devices[index % len(devices)], RETENTION)
            slowest[0] = max(slowest[0], (time.perf_counter() - start) * 1000)
            index += 1

    with store.read() as tx:
        expired = tx.count_expired(RETENTION.cutoff(as_of))
    looker = threading.Thread(target=look_up_meanwhile)
    looker.start()
    start = time.perf_counter()
    deleted = purge(store, RETENTION, as_of, "bench")
    seconds = time.perf_counter() - start
    done.set()
    looker.join()
    with store.engine.connect() as connection:
        detail = json.loads(
            connection.execute(
                text("SELECT detail FROM audit_log WHERE action = 'purge' ORDER BY id DESC LIMIT 1")
            ).scalar_one()
        )
    store.dispose()
    reader.dispose()
    figures.purge = {
        "expired_records": expired,
        "deleted": deleted,
        "deleted_with_partitions": detail["deleted_with_partitions"],
        "seconds": round(seconds, 2),
        "workers": PURGE_WORKERS,
        "slowest_lookup_during_purge_ms": round(slowest[0], 1),
    }


def sizes(url: str, figures: Figures) -> None:
    with psycopg.connect(url) as connection:
        figures.database_megabytes = round(
            connection.execute("SELECT pg_database_size(current_database())").fetchone()[0] / 2**20  # type: ignore[index]
        )
        for table in _COPIED:
            size = connection.execute(
                "SELECT coalesce(sum(pg_total_relation_size(inhrelid)), 0) + pg_total_relation_size(%s::regclass) "
                "FROM pg_inherits WHERE inhparent = %s::regclass",
                (table, table),
            ).fetchone()[0]  # type: ignore[index]
            figures.table_megabytes[table] = round(size / 2**20)


def report(figures: Figures) -> str:
    lines = [
        f"| records | {figures.records:,} |",
        f"| events stored | {figures.events_ingested:,} |",
        f"| fdtrack ingest (NDJSON), {figures.ingest_processes} process(es) | {figures.ingest_rate:,} events/s"
        " over the whole load "
        f"(days: slowest {figures.slowest_day_rate:,}, fastest {figures.fastest_day_rate:,}) |",
        f"| plain COPY of the same rows | {figures.copy_rate:,} events/s |",
        f"| ingest / COPY | {figures.ingest_to_copy:.0%} |",
        f"| look-up by device, service layer | p50 {figures.lookup['device_p50_ms']} ms, "
        f"p99 {figures.lookup['device_p99_ms']} ms |",
        f"| look-up by single-device request, service layer | p50 {figures.lookup['request_p50_ms']} ms, "
        f"p99 {figures.lookup['request_p99_ms']} ms |",
    ]
    for name, result in figures.api.items():
        lines.append(
            f"| API look-up by {name} at {result['requests_per_second']:,}/s ({figures.server_workers} server"
            f" worker(s)) | p50 {result['p50_ms']} ms, "
            f"p99 {result['p99_ms']} ms, errors {result['errors'] + result['non_2xx']}; "
            f"machine CPU {result.get('machine_cpu_ms_per_request', '–')} ms a look-up |"
        )
    large = figures.large_request
    lines.append(
        f"| {large['devices']:,}-device request | first page p50 {large['first_page_p50_ms']} ms, "
        f"CSV {large['csv_seconds']} s |"
    )
    purged = figures.purge
    lines.append(
        f"| purge of one day, {purged.get('workers', 1)} worker(s) | {purged['seconds']} s: "
        f"{purged['deleted']:,} records "
        f"({purged['deleted_with_partitions']:,} with whole partitions); slowest look-up meanwhile "
        f"{purged['slowest_lookup_during_purge_ms']} ms |"
    )
    cost = figures.cost_microseconds
    lines.append(
        f"| per event (µs) | reading NDJSON {cost['read']}, validating {cost['validate']}, deriving and "
        f"storing {cost['derive_and_store']}: {cost['whole_ingestion']} in all; plain COPY {cost['plain_copy']} |"
    )
    lines.append(
        f"| CPU per event (µs) | ingestion: fdtrack {cost['ingest_cpu_fdtrack']}, database and the rest"
        f" {cost['ingest_cpu_database']}; plain COPY {cost['copy_cpu']} |"
    )
    lines.append(
        f"| database on disk | {figures.database_megabytes:,} MiB ("
        + ", ".join(f"{table} {size:,}" for table, size in figures.table_megabytes.items())
        + ") |"
    )
    return "| measure | figure |\n| --- | --- |\n" + "\n".join(lines)


def step(name: str, action: Callable[[], None]) -> None:
    print(f"{name} …", flush=True)
    start = time.perf_counter()
    action()
    print(f"  ({time.perf_counter() - start:.0f} s)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seconds", type=int, default=30, help="length of each API load run")
    parser.add_argument(
        "--ingest-processes", type=int, default=1, help="ingest processes sharing each day's file, by device"
    )
    parser.add_argument("--server-workers", type=int, default=1, help="`fdtrack serve --workers` for the API runs")
    parser.add_argument(
        "--measure-only",
        action="store_true",
        help="measure again the database a previous run loaded (all but the purge, which is done)",
    )
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    end = datetime.combine(datetime.now(UTC).date(), clock_time(0), tzinfo=UTC)  # whole days, up to today
    files = day_files(args.records, args.days, end)
    result = OUT / f"scale-{args.records}.json"
    name = f"fdtrack_scale_{args.records}"
    if args.measure_only:
        figures = Figures(**{**json.loads(result.read_text()), "lookup": {}, "api": {}})
        url = f"{PG_ADMIN.rsplit('/', 1)[0]}/{name}"
    else:
        made = json.loads((OUT / f"scale-{args.records}" / "complete").read_text())["records"]
        figures = Figures(records=made, ingest_processes=args.ingest_processes)
        url = fresh_database(name)
        step("ingesting day by day", lambda: load(url, files, figures, args.ingest_processes))
        copy_url = fresh_database(f"{name}_copy")
        step("plain COPY of the same rows", lambda: plain_copy(url, copy_url, figures))
        fresh_database(f"{name}_copy")  # its space back
        result.write_text(json.dumps(figures.__dict__, indent=2))
    keys = sample_keys(url, args.records)
    step(
        "look-ups through the service layer", lambda: service_lookups(url, keys.devices, keys.single_requests, figures)
    )
    token = read_token(url, PARTY_USER_ID)
    figures.server_workers = args.server_workers
    serve = [FDTRACK, "--database-url", url, "serve", "--workers", str(args.server_workers)]
    step("API look-ups at about 1,000/s", lambda: api_load(serve, token, keys, figures, args.seconds))
    owner = read_token(url, keys.largest_request.split(":")[0])
    step("the largest request's first page and CSV", lambda: large_request(serve, owner, keys.largest_request, figures))
    step("sizes on disk", lambda: sizes(url, figures))
    step("where ingestion's time goes", lambda: cost_breakdown(files, figures))
    if args.measure_only:
        result.write_text(json.dumps(figures.__dict__, indent=2))
        print(report(figures))
        return  # the purge was measured after the load (its figures are kept); that day is gone
    # A day in the middle of the window, when campaigns of every age are under way: as of the end of
    # the 30 days that followed it, its records that heard nothing since expire.
    middle = files[len(files) // 2][0]
    step("purge of one day's expired data", lambda: timed_purge(url, purge_moment(middle), keys.devices, figures))
    result.write_text(json.dumps(figures.__dict__, indent=2))
    print(report(figures))
    print(f"results: {result}")


if __name__ == "__main__":
    main()
