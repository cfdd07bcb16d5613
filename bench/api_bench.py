"""HTTP API benchmark: look-up by device with a read token on 1,000,000 events, and POST /api/v1/events.

    .venv/bin/python bench/api_bench.py [--duration 15] [--connections 64] [--ingest-events 100000]

1. Builds (once) `bench/out/api.db` from 200,000 simulated records x 5 stages = 1,000,000 events
   (`bench/out/events-200000.ndjson` is reused when present, else made with `fdtrack simulate`), adds a
   supplier party owning one of the three simulated User IDs, a `user` account and a read token.
2. Loads `fdtrack serve` (one process) from a second process, wrk on 127.0.0.1 with 64 connections,
   each request a different device of that party; and, in the same run, a bare Starlette endpoint doing
   one primary-key SQLite query on the same database (bench/bare_starlette.py), under the standard
   asyncio loop like fdtrack and under uvloop. Each is warmed up, then measured twice, alternating.
3. Ingests the first N events of the file with `fdtrack ingest` into a fresh database, and through
   `POST /api/v1/events` in 1,000-event NDJSON bodies (two clients at once) into another one.

Needs wrk (`apt-get install wrk`). Targets: >= 3,000 look-ups/s with p99 < 25 ms and >= 15% of the
bare endpoint's rate; API ingestion >= 50% of the command line's rate. Results: bench/out/api.json.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path

OUT = Path(__file__).parent / "out"
FDTRACK = str(Path(sys.executable).parent / "fdtrack")
EVENTS = OUT / "events-200000.ndjson"
DATABASE = OUT / "api.db"
PARTY_USER_ID = "90-B3-D5-1F-30-02-00-00"
PASSWORD = "bench-password-1"
BODY_EVENTS = 1_000


@dataclass
class LoadResult:
    name: str
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    non_2xx: int
    errors: int


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def fdtrack(database: Path, *args: str, stdin: str | None = None) -> str:
    result = subprocess.run(
        [FDTRACK, "--database-url", f"sqlite:///{database}", *args],
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode not in (0, 3):
        raise SystemExit(f"fdtrack {' '.join(args)} failed: {result.stderr[-500:]}")
    return result.stdout


def events_file() -> Path:
    if EVENTS.is_file():
        return EVENTS
    OUT.mkdir(exist_ok=True)
    end = (datetime.now(UTC) - timedelta(days=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
    subprocess.run(
        [FDTRACK, "simulate", "--records", "200000", "--requests", "200000", "--max-devices", "2000",
         "--seed", "42", "--end", end, "--days", "20", "--failure-scale", "0", "--duplicate-rate", "0",
         "--unattached-rate", "0", "--stuck-rate", "0", "--complete", "--output", str(EVENTS)],
        check=True,
    )  # fmt: skip
    return EVENTS


def build_database(events: Path) -> None:
    if DATABASE.is_file():
        return
    print(f"building {DATABASE} from {events} (about two minutes)…", flush=True)
    summary = json.loads(fdtrack(DATABASE, "ingest", "--json", str(events)))
    print(f"  {summary['accepted']:,} events accepted", flush=True)
    fdtrack(DATABASE, "parties", "create", "Bench Supply", "--user-id", PARTY_USER_ID)
    fdtrack(
        DATABASE, "accounts", "create", "bench-user", "--role", "user", "--party", "Bench Supply",
        "--password-stdin", stdin=PASSWORD + "\n",
    )  # fmt: skip


def party_devices(count: int) -> list[str]:
    with sqlite3.connect(f"file:{DATABASE}?mode=ro", uri=True) as connection:
        devices = [
            row[0]
            for row in connection.execute(
                "SELECT device_id FROM distribution_records WHERE originator_user_id = ?", (PARTY_USER_ID,)
            )
        ]
        records = connection.execute("SELECT max(id) FROM distribution_records").fetchone()[0]
    random.Random(7).shuffle(devices)
    OUT.joinpath("api-records.txt").write_text(str(records))
    return devices[:count]


def lua_script(path: Path, header: str | None, targets: list[str]) -> Path:
    """A wrk script cycling through `targets` (paths), printing the percentiles as JSON when done."""
    listing = OUT / f"{path.stem}.txt"
    listing.write_text("\n".join(targets) + "\n")
    auth = f'wrk.headers["Authorization"] = "{header}"\n' if header else ""
    path.write_text(
        f"""local targets = {{}}
for line in io.lines("{listing}") do targets[#targets + 1] = line end
local n = 0
{auth}request = function()
  n = n + 1
  return wrk.format("GET", targets[(n % #targets) + 1])
end
done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format('RESULT {{"p50": %f, "p99": %f, "max": %f, "non_2xx": %d, "errors": %d}}\\n',
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000, summary.errors.status, errors))
end
"""
    )
    return path


def wrk(name: str, port: int, script: Path, seconds: int, connections: int) -> LoadResult:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "-s", str(script), f"http://127.0.0.1:{port}"]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    found = json.loads(output.split("RESULT ", 1)[1].splitlines()[0])
    return LoadResult(
        name, round(rate), round(found["p50"], 2), round(found["p99"], 2), round(found["max"], 2),
        found["non_2xx"], found["errors"],
    )  # fmt: skip


@contextmanager
def server(command: list[str], port: int, env: dict[str, str] | None = None) -> Iterator[None]:
    log = (OUT / f"server-{port}.log").open("w")
    # The benchmark measures the server, not its per-token rate limit (which would cut it short):
    # counting still runs on every request, against a limit it never reaches.
    unlimited = {"FDTRACK_API_RATE_PER_TOKEN": "100000000/second"}
    process = subprocess.Popen(command, env={**os.environ, **unlimited, **(env or {})}, stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise SystemExit(f"the server did not start; see {log.name}") from None
                time.sleep(0.2)
        yield
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def fdtrack_server(database: Path, port: int) -> list[str]:
    return [FDTRACK, "--database-url", f"sqlite:///{database}", "serve", "--port", str(port)]


def look_ups(duration: int, connections: int) -> list[LoadResult]:
    token = fdtrack(DATABASE, "tokens", "create", "bench-user", "--name", "api benchmark").strip()
    devices = party_devices(5_000)
    records = int(OUT.joinpath("api-records.txt").read_text())
    api_script = lua_script(
        OUT / "api-lookup.lua", f"Bearer {token}", [f"/api/v1/distributions?device_id={d}" for d in devices]
    )
    ids = random.Random(11).sample(range(1, records + 1), 5_000)
    bare_script = lua_script(OUT / "bare-lookup.lua", None, [f"/records/{record_id}" for record_id in ids])
    results: list[LoadResult] = []
    bench_dir = Path(__file__).parent
    for round_number in (1, 2):
        for loop in ("asyncio", "uvloop"):
            port = free_port()
            bare = [sys.executable, str(bench_dir / "bare_starlette.py"), str(DATABASE), str(port), loop]
            with server(bare, port):
                wrk("warm-up", port, bare_script, 3, connections)
                results.append(
                    wrk(f"bare Starlette ({loop}) #{round_number}", port, bare_script, duration, connections)
                )
        port = free_port()
        with server(fdtrack_server(DATABASE, port), port):
            wrk("warm-up", port, api_script, 3, connections)
            results.append(wrk(f"fdtrack API look-up #{round_number}", port, api_script, duration, connections))
        for result in results[-3:]:
            print(f"  {asdict(result)}", flush=True)
    return results


def ingest_rates(events: Path, count: int) -> dict[str, float]:
    subset = OUT / f"events-first-{count}.ndjson"
    with events.open() as source, subset.open("w") as target:
        target.writelines(islice(source, count))
    cli_db, api_db = OUT / "api-ingest-cli.db", OUT / "api-ingest-api.db"
    for database in (cli_db, api_db):
        for suffix in ("", "-wal", "-shm"):
            Path(f"{database}{suffix}").unlink(missing_ok=True)
        fdtrack(database, "purge")  # creates the schema, outside the timings
    started = time.perf_counter()
    summary = json.loads(fdtrack(cli_db, "ingest", "--json", str(subset)))
    cli_seconds = time.perf_counter() - started
    assert summary["accepted"] == count, summary

    fdtrack(api_db, "accounts", "create", "upstream", "--role", "admin", "--password-stdin", stdin=PASSWORD + "\n")
    token = fdtrack(api_db, "tokens", "create", "upstream", "--scope", "ingest").strip()
    lines = subset.read_text().splitlines(keepends=True)
    bodies = ["".join(lines[start : start + BODY_EVENTS]).encode() for start in range(0, len(lines), BODY_EVENTS)]
    port = free_port()
    accepted = 0
    lock = threading.Lock()
    pending = iter(bodies)

    def client() -> None:
        nonlocal accepted
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/x-ndjson"}
        while True:
            with lock:
                body = next(pending, None)
            if body is None:
                return
            connection.request("POST", "/api/v1/events", body=body, headers=headers)
            response = connection.getresponse()
            answer = json.loads(response.read())
            if response.status != 200:
                raise SystemExit(f"POST /api/v1/events answered {response.status}: {answer}")
            with lock:
                accepted += answer["accepted"]

    with server(fdtrack_server(api_db, port), port):
        started = time.perf_counter()
        clients = [threading.Thread(target=client) for _ in range(2)]
        for thread in clients:
            thread.start()
        for thread in clients:
            thread.join()
        api_seconds = time.perf_counter() - started
    assert accepted == count, accepted
    return {
        "events": count,
        "cli_seconds": round(cli_seconds, 1),
        "cli_rate": round(count / cli_seconds),
        "api_seconds": round(api_seconds, 1),
        "api_rate": round(count / api_seconds),
        "ratio": round(cli_seconds / api_seconds, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=15, help="seconds of load per measurement")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--ingest-events", type=int, default=100_000)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install wrk")
    OUT.mkdir(exist_ok=True)
    events = events_file()
    build_database(events)
    print("look-ups by device:", flush=True)
    loads = look_ups(args.duration, args.connections)
    print("ingestion:", flush=True)
    ingest = ingest_rates(events, args.ingest_events)
    print(f"  {ingest}", flush=True)
    api = [r for r in loads if r.name.startswith("fdtrack")]
    bare = [r for r in loads if r.name.startswith("bare Starlette (asyncio)")]
    bare_uvloop = [r for r in loads if r.name.startswith("bare Starlette (uvloop)")]
    summary = {
        "api_rate": round(sum(r.requests_per_second for r in api) / len(api)),
        "api_p99_ms": max(r.p99_ms for r in api),
        "bare_rate": round(sum(r.requests_per_second for r in bare) / len(bare)),
        "bare_uvloop_rate": round(sum(r.requests_per_second for r in bare_uvloop) / len(bare_uvloop)),
    }
    summary["share_of_bare"] = round(summary["api_rate"] / summary["bare_rate"], 3)
    summary["share_of_bare_uvloop"] = round(summary["api_rate"] / summary["bare_uvloop_rate"], 3)
    report = {"summary": summary, "loads": [asdict(r) for r in loads], "ingest": ingest}
    OUT.joinpath("api.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
