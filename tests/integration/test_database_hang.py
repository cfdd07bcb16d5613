"""A PostgreSQL that stops answering (packets dropped, not refused) does not hang the web service."""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from conftest import create_postgresql_schema
from e2e.seed import SHARED_DEVICE, cheap_settings
from fdtrack.adapters.db.engine import POOL_SIZE
from fdtrack.adapters.db.store import SqlStore
from integration.api_client import ApiClient
from integration.conftest import seed_api
from integration.live_server import LiveServer, live_server
from integration.tcp_proxy import TcpProxy

pytestmark = pytest.mark.postgresql

# Bounds on the test's own waiting, not measurements: a hung service fails the test instead of hanging it.
CLIENT_TIMEOUT_SECONDS = 15.0
HEALTH_TIMEOUT_SECONDS = 2.0  # /healthz answers within 2 s in every case
RECOVERY_ATTEMPTS = 200


def get(port: int, path: str, timeout: float = CLIENT_TIMEOUT_SECONDS) -> tuple[int, str | None]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        return response.status, response.getheader("Retry-After")
    finally:
        connection.close()


@pytest.fixture
def hung(tmp_path: Path) -> Iterator[tuple[LiveServer, TcpProxy, ApiClient]]:
    """A real server on a database behind a proxy, with a one-second database deadline."""
    url, drop = create_postgresql_schema()
    store = SqlStore.open(url)
    tokens = seed_api(store, cheap_settings(url))
    store.dispose()
    parsed = make_url(url)
    proxy = TcpProxy((parsed.host or "127.0.0.1", parsed.port or 5432))
    proxy.restore()
    proxied = parsed.set(port=proxy.port).render_as_string(hide_password=False)
    try:
        with live_server(proxied, tmp_path, database_deadline_seconds="1") as server:
            yield server, proxy, ApiClient(server.port, tokens.centre, timeout=CLIENT_TIMEOUT_SECONDS)
    finally:
        proxy.restore()
        proxy.cut()
        drop()


def test_stuck_database_work_answers_503_and_leaves_the_rest_of_the_service_answering(
    hung: tuple[LiveServer, TcpProxy, ApiClient],
) -> None:
    server, proxy, client = hung
    assert client.by_device(SHARED_DEVICE).status == 200

    proxy.blackhole()
    # More look-ups at once than the service lets wait on the database: each is answered, none hangs.
    with ThreadPoolExecutor(max_workers=POOL_SIZE + 6) as pool:
        answers = list(pool.map(lambda _: client.by_device(SHARED_DEVICE), range(POOL_SIZE + 6)))
    assert {answer.status for answer in answers} == {503}
    assert {answer.retry_after for answer in answers} == {"5"}
    assert answers[0].json()["error"] == {
        "code": "database_unavailable",
        "message": "The tracking database cannot be reached just now. Try again in a few seconds.",
    }

    # The stuck work still holds its threads; what needs no database goes on being served.
    assert get(server.port, "/login")[0] == 200
    assert get(server.port, "/static/fdtrack.css")[0] == 200
    assert get(server.port, "/metrics")[0] == 200
    assert get(server.port, "/healthz", timeout=HEALTH_TIMEOUT_SECONDS) == (503, None)
    assert get(server.port, "/healthz", timeout=HEALTH_TIMEOUT_SECONDS)[0] == 503  # the same stuck probe
    assert client.by_device(SHARED_DEVICE).status == 503

    proxy.restore()
    for _attempt in range(RECOVERY_ATTEMPTS):
        if client.by_device(SHARED_DEVICE).status == 200:
            break
    else:
        pytest.fail("look-ups never recovered after the database answered again")
    assert get(server.port, "/healthz", timeout=HEALTH_TIMEOUT_SECONDS)[0] == 200
