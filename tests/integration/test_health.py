"""/healthz tells a database that answers from one that cannot store anything."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from e2e.seed import cheap_settings
from fdtrack.adapters.db.store import SqlStore
from fdtrack.web.app import create_app


def health(url: str) -> tuple[int, dict[str, object]]:
    store = SqlStore.open(url)
    try:
        with TestClient(create_app(cheap_settings(url), store=store)) as client:
            answer = client.get("/healthz")
            return answer.status_code, answer.json()
    finally:
        store.dispose()


def test_a_database_that_answers_and_can_store_is_healthy(database_url: str) -> None:
    assert health(database_url) == (200, {"status": "ok", "database": "reachable"})


def test_a_read_only_sqlite_database_is_reported_as_read_only(tmp_path: Path) -> None:
    path = tmp_path / "fdtrack.db"
    SqlStore.open(f"sqlite:///{path}").dispose()  # made and migrated while it could be written
    read_only = f"sqlite:///file:{path}?mode=ro&uri=true"
    assert health(read_only) == (503, {"status": "unavailable", "database": "read-only"})
