"""A real `fdtrack serve` process on a free port, started, killed with SIGKILL and restarted by the fault tests."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

START_SECONDS = 120  # generous: two cores shared with other work can make imports and migrations slow
FDTRACK = [sys.executable, "-m", "fdtrack.cli"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class LiveServer:
    """One `fdtrack serve` at a time on a database; its output goes to a log file kept for failures."""

    def __init__(self, database_url: str, log_folder: Path, **settings: str) -> None:
        self.database_url = database_url
        self.log_folder = log_folder
        self.settings = settings
        self.port = 0
        self.starts = 0
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self._process is not None, "the server is not running"
        return self._process.pid

    def start(self) -> None:
        """Start the server and wait until /healthz answers 200 (bounded)."""
        assert self._process is None, "the server is already running"
        self.starts += 1
        # The process runs with the environment's settings plus the test's FDTRACK_* overrides; the
        # retention purge is off so a test's records cannot expire under it.
        env = {
            **os.environ,
            "FDTRACK_DATABASE_URL": self.database_url,
            "FDTRACK_PURGE_INTERVAL_MINUTES": "0",
            "FDTRACK_LOG_LEVEL": "WARNING",
            **{f"FDTRACK_{name.upper()}": value for name, value in self.settings.items()},
        }
        for _attempt in range(3):  # a free port can be taken by someone else before the server binds it
            self.port = free_port()
            log = (self.log_folder / f"server-{self.starts}-{self.port}.log").open("wb")
            command = [*FDTRACK, "serve", "--port", str(self.port)]
            self._process = subprocess.Popen(command, env=env, stdout=log, stderr=log)
            log.close()
            if self._wait_until_healthy():
                return
            self._process.wait()
            self._process = None
        raise AssertionError(f"fdtrack serve did not start; see the logs in {self.log_folder}")

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as when a machine or container dies."""
        assert self._process is not None, "the server is not running"
        self._process.send_signal(signal.SIGKILL)
        self._process.wait()
        self._process = None

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None

    def _wait_until_healthy(self) -> bool:
        assert self._process is not None
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                return False  # exited: most likely the port was taken
            if self._healthy():
                return True
            time.sleep(0.05)
        self._process.kill()
        return False

    def _healthy(self) -> bool:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            connection.request("GET", "/healthz")
            return connection.getresponse().status == 200
        except OSError:
            return False
        finally:
            connection.close()


@contextmanager
def live_server(database_url: str, log_folder: Path, **settings: str) -> Iterator[LiveServer]:
    """A started server, stopped at the end whatever happens."""
    server = LiveServer(database_url, log_folder, **settings)
    server.start()
    try:
        yield server
    finally:
        server.stop()
