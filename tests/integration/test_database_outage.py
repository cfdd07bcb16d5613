"""PostgreSQL going away under the web service: 503 with Retry-After, then recovery on its own."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from conftest import empty_postgresql
from e2e.seed import SHARED_DEVICE, cheap_settings
from fdtrack.adapters.db.store import SqlStore
from fdtrack.web.app import create_app
from integration.conftest import Tokens, seed_api

pytestmark = pytest.mark.postgresql


class TcpProxy:
    """Forwards a local port to the database server; `cut` is an outage, `restore` its end."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.port = 0
        self._listener: socket.socket | None = None
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()

    def restore(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        """Refuse new connections and drop the open ones, as a server that has gone away."""
        if self._listener is None:
            return
        # shutdown() wakes the thread blocked in accept(); close() alone would leave it accepting.
        self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        self._listener = None
        with self._lock:
            for connection in self._open:
                with contextlib.suppress(OSError):  # the other side may have closed it already
                    connection.shutdown(socket.SHUT_RDWR)
                connection.close()
            self._open.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # the listener was closed: an outage
            server = socket.create_connection(self.upstream)
            with self._lock:
                self._open.update((client, server))
            for source, target in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, target):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)


@pytest.fixture
def proxied(postgresql_schema_url: str) -> Iterator[tuple[TestClient, TcpProxy, Tokens]]:
    empty_postgresql(postgresql_schema_url)
    direct = SqlStore.open(postgresql_schema_url)
    tokens = seed_api(direct, cheap_settings(postgresql_schema_url))
    direct.dispose()
    url = make_url(postgresql_schema_url)
    proxy = TcpProxy((url.host or "127.0.0.1", url.port or 5432))
    proxy.restore()
    proxied_url = url.set(port=proxy.port).render_as_string(hide_password=False)
    store = SqlStore.open(proxied_url)
    with TestClient(create_app(cheap_settings(proxied_url), store=store)) as client:
        yield client, proxy, tokens
    proxy.cut()
    store.dispose()


def test_requests_during_an_outage_get_503_and_the_service_recovers_by_itself(
    proxied: tuple[TestClient, TcpProxy, Tokens],
) -> None:
    client, proxy, tokens = proxied
    lookup = f"/api/v1/distributions?device_id={SHARED_DEVICE}"
    assert client.get(lookup, headers=Tokens.header(tokens.alpha)).status_code == 200

    proxy.cut()
    during = client.get(lookup, headers=Tokens.header(tokens.alpha))
    assert during.status_code == 503
    assert during.headers["Retry-After"] == "5"
    assert during.json()["error"]["code"] == "database_unavailable"
    assert client.get("/healthz").status_code == 503
    page = client.get("/login")
    assert page.status_code in (200, 503)  # the sign-in form itself needs no database

    proxy.restore()
    after = client.get(lookup, headers=Tokens.header(tokens.alpha))
    assert after.status_code == 200
    assert after.json()["records"]
    assert client.get("/healthz").status_code == 200
