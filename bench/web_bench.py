"""Web screens benchmark: the first page of a 50,000-device request, its CSV, and a device look-up page.

Builds (once) a demo database with `fdtrack demo --no-serve`, starts `fdtrack serve` in a child
process, signs in as the supplier User who owns the large request and times real HTTP requests over
loopback, sampling the server's resident memory while the CSV downloads.

    .venv/bin/python bench/web_bench.py [--database-url URL] [--repeat 30]

Targets: first page under 300 ms, the whole CSV under 3 s with flat memory, a device page under 50 ms.
"""

from __future__ import annotations

import argparse
import csv
import http.cookiejar
import io
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

OUT = Path(__file__).parent / "out"
FDTRACK = str(Path(sys.executable).parent / "fdtrack")
LARGE_REQUEST = "90-B3-D5-1F-30-02-00-00:90-B3-D5-1F-30-00-00-02:1000"
SCREEN = "/ssi/firmware-distribution-tracking"
USERNAME, PASSWORD = "southern", "southern-demo-password"


@dataclass
class Timing:
    name: str
    runs: int
    p50_ms: float
    p95_ms: float
    max_ms: float
    target_ms: float

    @property
    def met(self) -> bool:
        return self.p95_ms < self.target_ms


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class Client:
    """A browser stand-in: keeps the session cookie, reads whole responses."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def get(self, path: str, params: dict[str, str] | None = None) -> tuple[int, bytes]:
        url = self.base + path + ("?" + urllib.parse.urlencode(params) if params else "")
        with self.opener.open(url, timeout=60) as response:
            return response.status, response.read()

    def sign_in(self) -> None:
        _, page = self.get("/login")
        found = re.search(rb'name="csrf_token" value="([^"]+)"', page)
        assert found is not None, "no anti-CSRF field on the sign-in page"
        form = {"username": USERNAME, "password": PASSWORD, "csrf_token": found.group(1).decode()}
        request = urllib.request.Request(self.base + "/login", data=urllib.parse.urlencode(form).encode())
        with self.opener.open(request, timeout=60) as response:
            assert response.url.endswith(SCREEN), "sign-in failed"


def timed(name: str, repeat: int, target_ms: float, action: object) -> Timing:
    assert callable(action)
    for _ in range(3):  # warm caches and connections, as a user's second look-up would find them
        action()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    p95 = samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))]
    return Timing(name, repeat, round(statistics.median(samples), 1), round(p95, 1), round(samples[-1], 1), target_ms)


def download_csv(client: Client, pid: int) -> dict[str, float]:
    """Download the large request's CSV once, sampling the server's memory every 5 ms."""
    peak, done = [rss_kib(pid)], threading.Event()
    before = peak[0]

    def sample() -> None:
        while not done.is_set():
            peak.append(rss_kib(pid))
            time.sleep(0.005)

    sampler = threading.Thread(target=sample)
    sampler.start()
    start = time.perf_counter()
    status, body = client.get(f"{SCREEN}.csv", {"search_by": "service_request_id", "search_term": LARGE_REQUEST})
    seconds = time.perf_counter() - start
    done.set()
    sampler.join()
    rows = list(csv.reader(io.StringIO(body.decode("utf-8"))))
    if status != 200 or len(rows) != 50_001:
        raise SystemExit(f"unexpected CSV: status {status}, {len(rows)} rows")
    return {
        "seconds": round(seconds, 2),
        "megabytes": round(len(body) / 1e6, 1),
        "rss_before_mb": round(before / 1024, 1),
        "rss_peak_mb": round(max(peak) / 1024, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=f"sqlite:///{OUT / 'web.db'}")
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    env = {**os.environ, "FDTRACK_DATABASE_URL": args.database_url, "FDTRACK_PURGE_INTERVAL_MINUTES": "0"}

    print("Preparing the demo database (built once, about a minute)…", flush=True)
    subprocess.run([FDTRACK, "demo", "--no-serve"], env=env, check=True, stdout=subprocess.DEVNULL)

    port = free_port()
    server = subprocess.Popen(
        [FDTRACK, "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        client = Client(f"http://127.0.0.1:{port}")
        deadline = time.monotonic() + 30
        while True:
            try:
                client.get("/login")
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        client.sign_in()
        by_request = {"search_by": "service_request_id", "search_term": LARGE_REQUEST}
        _, first_page = client.get(SCREEN, by_request)
        device = re.search(rb'search_term=([0-9A-F-]{23})"', first_page)
        assert device is not None, "no device link on the results page"
        by_device = {"search_by": "device_id", "search_term": device.group(1).decode()}

        timings = [
            timed("First page of the 50,000-device request", args.repeat, 300, lambda: client.get(SCREEN, by_request)),
            timed("Device look-up page", args.repeat, 50, lambda: client.get(SCREEN, by_device)),
        ]
        downloads = [download_csv(client, server.pid) for _ in range(3)]
    finally:
        server.terminate()
        server.wait(timeout=30)

    for timing in timings:
        verdict = "ok" if timing.met else "MISSED"
        print(
            f"{timing.name}: p50 {timing.p50_ms} ms, p95 {timing.p95_ms} ms, max {timing.max_ms} ms "
            f"(target {timing.target_ms:.0f} ms, {verdict})"
        )
    for number, download in enumerate(downloads, start=1):
        print(
            f"CSV download {number} (50,000 rows, {download['megabytes']} MB): {download['seconds']} s, "
            f"server RSS {download['rss_before_mb']} MB before, {download['rss_peak_mb']} MB at peak"
        )
    report = {"timings": [asdict(t) for t in timings], "csv_downloads": downloads, "database_url": args.database_url}
    (OUT / "web.json").write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
