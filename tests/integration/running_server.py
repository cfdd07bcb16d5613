"""A real `fdtrack serve` process on a free port, its stderr (the JSON logs) collected line by line."""

from __future__ import annotations

import os
import queue
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

FDTRACK = [sys.executable, "-m", "fdtrack.cli"]
STARTED = "Application startup complete"


@dataclass
class RunningServer:
    url: str
    process: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)  # every stderr line so far; complete once stopped


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def fdtrack_environment(database_url: str, **settings: str) -> dict[str, str]:
    """The environment of an fdtrack process on the test database, with cheap password hashing."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("FDTRACK_")}
    environment.update(
        FDTRACK_DATABASE_URL=database_url,
        FDTRACK_PURGE_INTERVAL_MINUTES="0",
        FDTRACK_PASSWORD_TIME_COST="1",
        FDTRACK_PASSWORD_MEMORY_KIB="64",
    )
    environment.update({f"FDTRACK_{name.upper()}": value for name, value in settings.items()})
    return environment


@contextmanager
def running_server(database_url: str, **settings: str) -> Iterator[RunningServer]:
    """Start the server, wait (bounded) for uvicorn to report it is up, and stop it cleanly at the end."""
    port = _free_port()
    process = subprocess.Popen(
        [*FDTRACK, "serve", "--port", str(port)],
        env=fdtrack_environment(database_url, **settings),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    server = RunningServer(f"http://127.0.0.1:{port}", process)
    arrived: queue.Queue[str | None] = queue.Queue()

    def drain() -> None:  # the pipe is always read, so a chatty log can never block the server
        assert process.stderr is not None
        for line in process.stderr:
            server.lines.append(line)
            arrived.put(line)
        arrived.put(None)

    reader = threading.Thread(target=drain, name="server-stderr", daemon=True)
    reader.start()
    try:
        while True:
            line = arrived.get(timeout=60)
            assert line is not None, "the server stopped before it started:\n" + "".join(server.lines)
            if STARTED in line:
                break
        yield server
    finally:
        process.terminate()
        process.wait(timeout=30)
        reader.join(timeout=30)
        process.stderr.close()
