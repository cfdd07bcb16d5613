"""The purge of one day on a national-scale database, timed on fresh copies so runs can be repeated.

    .venv/bin/python bench/purge_bench.py [--records 3000000] [--runs 2] [--workers 2]

1. Loads the simulated days of `bench/scale.py --records N` (the same files, made if missing)
   through fdtrack's ingestion with 2 processes, once, as `fdtrack_purge_N_loaded`; later runs
   reuse it.
2. For each run: copies that database (`CREATE DATABASE … TEMPLATE`), purges the days before the
   middle one as the hourly purge would have (unmeasured), then times the purge of the middle day,
   as `bench/scale.py` does but without look-ups beside it, so that the purge alone is timed.

To compare two versions, run it from each in turn against the same loaded database; to compare
numbers of purge workers deleting row by row side by side, run it with each `--workers` in turn.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time

import psycopg

from fdtrack.adapters.db.store import SqlStore
from fdtrack.services.purge import PURGE_WORKERS, purge
from scale import PG_ADMIN, RETENTION, Figures, day_files, fresh_database, load, purge_moment

COPY = "fdtrack_purge_copy"


def loaded_database(records: int) -> str:
    """The database holding the loaded days, loaded on the first run."""
    name = f"fdtrack_purge_{records}_loaded"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        found = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
    if found is None:
        # Loaded under another name and renamed once whole, so a load cut short is never taken
        # for a loaded database by the next run (which makes the other name afresh).
        loading = f"{name}_loading"
        end = datetime.combine(datetime.now(UTC).date(), clock_time(0), tzinfo=UTC)
        load(fresh_database(loading), day_files(records, 30, end), Figures(records=records, ingest_processes=2), 2)
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'ALTER DATABASE "{loading}" RENAME TO "{name}"')
    return name


def middle_day(url: str) -> date:
    """The day in the middle of the loaded window, as bench/scale.py picks it."""
    with psycopg.connect(url) as connection:
        days = [row[0] for row in connection.execute("SELECT DISTINCT bucket_day FROM request_buckets ORDER BY 1")]
    day: date = days[len(days) // 2]
    return day


def timed_run(template: str, workers: int) -> tuple[int, float, int, float]:
    """(records, seconds) of the days before, then of the middle day, on a fresh copy."""
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{COPY}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{COPY}" TEMPLATE "{template}"')
    url = f"{PG_ADMIN.rsplit('/', 1)[0]}/{COPY}"
    as_of = purge_moment(middle_day(url))
    store = SqlStore.open(url)
    try:
        start = time.perf_counter()
        before = purge(store, RETENTION, as_of - timedelta(days=1), "bench", workers=workers)
        middle = time.perf_counter()
        day = purge(store, RETENTION, as_of, "bench", workers=workers)
        end = time.perf_counter()
    finally:
        store.dispose()
    return before, middle - start, day, end - middle


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=3_000_000)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--workers", type=int, default=PURGE_WORKERS, help="purge workers deleting side by side")
    args = parser.parse_args()
    template = loaded_database(args.records)
    print("| run | days before: records, seconds | the middle day: records, seconds, records/s |")
    print("| --- | --- | --- |")
    for run in range(1, args.runs + 1):
        before, before_seconds, day, seconds = timed_run(template, args.workers)
        print(f"| {run} | {before:,}, {before_seconds:.2f} s | {day:,}, {seconds:.2f} s, {day / seconds:,.0f}/s |")
    fresh_database(COPY)  # its space back


if __name__ == "__main__":
    main()
