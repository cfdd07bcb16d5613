"""PostgreSQL going away under the web service: 503 with Retry-After, then recovery on its own."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from conftest import empty_postgresql
from e2e.seed import SHARED_DEVICE, cheap_settings
from fdtrack.adapters.db.engine import make_engine
from fdtrack.adapters.db.store import SqlStore
from fdtrack.web.app import create_app
from integration.conftest import Tokens, seed_api
from integration.tcp_proxy import TcpProxy

pytestmark = pytest.mark.postgresql


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


def test_a_connection_the_server_closed_is_replaced_before_it_is_handed_out(postgresql_schema_url: str) -> None:
    """A server restart or failover ends every pooled connection; the next request must not fail for it."""
    engine = make_engine(postgresql_schema_url)
    try:
        with engine.connect() as connection:
            pid = connection.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
        with psycopg.connect(postgresql_schema_url.replace("+psycopg", ""), autocommit=True) as admin:
            # Waits (up to 5 s) until that backend has gone, so its goodbye is on the pooled socket.
            assert admin.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,)).fetchone() == (True,)
        with engine.connect() as connection:
            assert connection.execute(sa.text("SELECT pg_backend_pid()")).scalar_one() != pid
        assert isinstance(engine.pool, sa.QueuePool)
        assert engine.pool.checkedin() == 1  # the closed one was replaced, not added to
    finally:
        engine.dispose()
