"""Migration 0007's recomputation of every stored state, against loading the same database.

Run `python bench/rederive_bench.py --records 100000`. It simulates N records x 5 stages as NDJSON
(as `ingest_bench.py` does), loads them with `fdtrack ingest` on each database, then times
`rederive_stored_states` (what the migration runs) over the loaded records in one transaction, as
the upgrade does. The load's time is the same-run baseline: the upgrade of a database costs a
stated fraction of having ingested it.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import psycopg

from fdtrack.adapters.db.engine import WRITE, make_engine
from fdtrack.adapters.db.rederivation import rederive_stored_states
from ingest_bench import PG_ADMIN, run_fdtrack_ingest, simulate

OUT = Path(__file__).parent / "out"
PG_DATABASE = "fdtrack_rederive_bench"


def database_url(backend: str, folder: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{folder / 'rederive.db'}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {PG_DATABASE}")
        admin.execute(f"CREATE DATABASE {PG_DATABASE}")
    return PG_ADMIN.rsplit("/", 1)[0] + f"/{PG_DATABASE}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as folder:
        events_file = Path(folder) / "events.ndjson"
        events = simulate(events_file, args.records)
        for backend in args.backends.split(","):
            url = database_url(backend, Path(folder))
            load_seconds, _, summary = run_fdtrack_ingest(url, events_file)
            engine = make_engine(url)
            started = time.perf_counter()
            with engine.connect().execution_options(**WRITE) as connection, connection.begin():
                records = rederive_stored_states(connection)
            seconds = time.perf_counter() - started
            engine.dispose()
            result = {
                "backend": backend,
                "records": records,
                "events": events,
                "accepted": summary["accepted"],
                "load_seconds": round(load_seconds, 1),
                "rederive_seconds": round(seconds, 1),
                "rederive_records_per_second": round(records / seconds),
                "share_of_load": round(seconds / load_seconds, 3),
            }
            print(json.dumps(result))
            results.append(result)
    OUT.mkdir(exist_ok=True)
    (OUT / "rederive.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
