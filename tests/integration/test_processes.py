"""Whole `fdtrack ingest` processes: killed mid-file, or two at once, the state equals one clean run."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from conftest import database_snapshot
from fdtrack.adapters.db.engine import make_engine
from fdtrack.simulator import SimulationConfig, Simulator
from integration.traffic import rejections_snapshot

FDTRACK = [sys.executable, "-m", "fdtrack.cli"]


def simulated_file(path: Path, **overrides: object) -> Path:
    config = SimulationConfig(
        requests=40,
        max_devices=300,
        seed=7,
        end=datetime.now(UTC),
        days=5,
        **overrides,  # type: ignore[arg-type]
    )
    with path.open("w") as stream:
        stream.writelines(line + "\n" for line in Simulator(config).lines())
    return path


def run_ingest(url: str, *paths: Path, batch_size: int = 100) -> subprocess.Popen[bytes]:
    env = {**os.environ, "FDTRACK_DATABASE_URL": url, "FDTRACK_INGEST_BATCH_SIZE": str(batch_size)}
    return subprocess.Popen(
        [*FDTRACK, "ingest", "--json", *map(str, paths)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def finish(process: subprocess.Popen[bytes]) -> int:
    """Wait for the process and close its pipes; its exit code."""
    process.communicate()
    return process.returncode


def stored_events(url: str) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(sa.text("SELECT count(*) FROM status_events")).scalar_one())
    except sa.exc.OperationalError:
        return 0  # not migrated yet
    finally:
        engine.dispose()


def wait_until(condition: Callable[[], bool], process: subprocess.Popen[bytes]) -> None:
    """Poll a condition on the database while the process works (bounded; fails rather than hangs)."""
    deadline = time.monotonic() + 120
    while not condition():
        assert process.poll() is None, "the ingest finished before the condition held"
        assert time.monotonic() < deadline, "the condition never held"
        time.sleep(0.005)


@pytest.mark.parametrize("kill_after", [1, 2_000])
def test_killed_ingest_then_rerun_equals_one_clean_run(
    kill_after: int, database_url: str, fresh_database_url: Callable[[], str], tmp_path: Path
) -> None:
    events = simulated_file(tmp_path / "events.ndjson")
    clean_url = fresh_database_url()
    assert finish(run_ingest(clean_url, events)) in (0, 3)

    kill_once_stored(database_url, events, kill_after)
    assert 0 < stored_events(database_url) < stored_events(clean_url)

    assert finish(run_ingest(database_url, events)) in (0, 3)
    assert database_snapshot(database_url) == database_snapshot(clean_url)


@pytest.mark.parametrize("seed", [1, 2])
def test_ingest_killed_at_random_points_then_rerun_equals_one_clean_run(
    seed: int, database_url: str, fresh_database_url: Callable[[], str], tmp_path: Path
) -> None:
    events = simulated_file(tmp_path / "events.ndjson")
    clean_url = fresh_database_url()
    assert finish(run_ingest(clean_url, events)) in (0, 3)
    total = stored_events(clean_url)

    rng = random.Random(seed)
    for _kill in range(3):
        # Anywhere in the first three quarters: the process must still be working when the count is seen.
        kill_once_stored(database_url, events, rng.randrange(1, total * 3 // 4))
    assert finish(run_ingest(database_url, events)) in (0, 3)
    assert database_snapshot(database_url) == database_snapshot(clean_url)
    assert rejections_snapshot(database_url) == rejections_snapshot(clean_url)


def kill_once_stored(url: str, events: Path, kill_after: int) -> None:
    """Run an ingest of `events` and SIGKILL it as soon as `kill_after` events are stored."""
    victim = run_ingest(url, events)
    wait_until(lambda: stored_events(url) >= kill_after, victim)
    victim.send_signal(signal.SIGKILL)
    finish(victim)


def test_two_ingest_processes_at_once_lose_nothing(
    database_url: str, fresh_database_url: Callable[[], str], tmp_path: Path
) -> None:
    # Every event names its request, so the final state cannot depend on arrival order.
    events = simulated_file(tmp_path / "events.ndjson", unattached_rate=0.0).read_text().splitlines(keepends=True)
    first, second = tmp_path / "first.ndjson", tmp_path / "second.ndjson"
    overlap = len(events) // 5
    first.write_text("".join(events[: len(events) // 2 + overlap]))
    second.write_text("".join(events[len(events) // 2 - overlap :]))
    clean_url = fresh_database_url()
    assert finish(run_ingest(clean_url, first, second)) == 0

    processes = [run_ingest(database_url, first, batch_size=50), run_ingest(database_url, second, batch_size=50)]
    outputs = [process.communicate() for process in processes]
    assert [process.returncode for process in processes] == [0, 0], outputs
    assert database_snapshot(database_url) == database_snapshot(clean_url)
