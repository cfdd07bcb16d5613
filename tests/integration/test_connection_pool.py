"""Look-ups under load share the pool's connections: the web service opens none beyond them."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa
from fastapi.testclient import TestClient

from e2e.seed import ALPHA_USER_ID
from fdtrack.adapters.db.engine import POOL_SIZE
from fdtrack.adapters.db.store import SqlStore
from fdtrack.web.app import create_app
from fdtrack.web.settings import WebSettings
from integration.conftest import Tokens

CLIENTS = 4 * POOL_SIZE


def test_many_clients_looking_up_at_once_are_served_on_the_pools_connections(
    api_store: SqlStore, api_settings: WebSettings, tokens: Tokens
) -> None:
    """On PostgreSQL each connection opened is a new server process; one opened per surplus request
    and closed after it costs more than the look-up itself."""
    with api_store.engine.connect() as connection:
        devices: list[str] = list(
            connection.execute(
                sa.text("SELECT DISTINCT device_id FROM distribution_records WHERE originator_user_id = :user"),
                {"user": ALPHA_USER_ID},
            )
            .scalars()
            .all()
        )
    opened = []
    lock = threading.Lock()

    def count(_connection: object, _record: object) -> None:
        with lock:
            opened.append(1)

    sa.event.listen(api_store.engine, "connect", count)
    with TestClient(create_app(api_settings, store=api_store)) as client, ThreadPoolExecutor(CLIENTS) as clients:

        def look_up(device: str) -> int:
            query = {"device_id": device}
            return client.get("/api/v1/distributions", params=query, headers=Tokens.header(tokens.alpha)).status_code

        statuses = list(clients.map(look_up, devices * (10 * CLIENTS // len(devices) + 1)))
    assert set(statuses) == {200}
    assert len(statuses) >= 10 * CLIENTS
    assert len(opened) <= POOL_SIZE
