"""Fixtures for the HTTP API tests: the seeded web service on each database, and tokens of both parties."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from e2e.seed import ALPHA, BETA, CENTRE, cheap_settings, seed
from fdtrack.adapters.db.accounts import SqlAccountStore
from fdtrack.adapters.db.store import SqlStore
from fdtrack.adapters.db.tokens import SqlTokenStore
from fdtrack.adapters.passwords import Argon2Hasher
from fdtrack.domain.accounts import Role
from fdtrack.domain.tokens import TokenScope
from fdtrack.services.accounts import create_account
from fdtrack.services.tokens import create_token
from fdtrack.web.app import create_app
from fdtrack.web.settings import WebSettings

API_DEVICES = 120  # devices of the seeded large request: enough for several pages
ADMIN_USERNAME = "ops-admin"


@dataclass(frozen=True)
class Tokens:
    """Bearer tokens of every kind of account the API serves."""

    alpha: str  # User of Alpha Energy, scope read
    beta: str  # User of Beta Power, scope read
    centre: str  # Service Centre, scope read
    centre_ingest: str  # Service Centre, scope ingest
    admin_ingest: str  # administrator, scope ingest (an upstream system)

    @staticmethod
    def header(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}


def seed_api(store: SqlStore, settings: WebSettings) -> Tokens:
    seed(store, settings, large_request_devices=API_DEVICES)
    hasher = Argon2Hasher(settings.password_time_cost, settings.password_memory_kib)
    create_account(SqlAccountStore(store.engine), hasher, ADMIN_USERNAME, Role.ADMIN, "admin-password-1", "test")
    tokens = SqlTokenStore(store.engine)

    def issue(username: str, scope: TokenScope) -> str:
        return create_token(tokens, username, scope, "test").secret

    return Tokens(
        alpha=issue(ALPHA.username, TokenScope.READ),
        beta=issue(BETA.username, TokenScope.READ),
        centre=issue(CENTRE.username, TokenScope.READ),
        centre_ingest=issue(CENTRE.username, TokenScope.INGEST),
        admin_ingest=issue(ADMIN_USERNAME, TokenScope.INGEST),
    )


@pytest.fixture
def api_store(database_url: str) -> Iterator[SqlStore]:
    store = SqlStore.open(database_url)
    yield store
    store.dispose()


@pytest.fixture
def api_settings(api_store: SqlStore) -> WebSettings:
    return cheap_settings(api_store.engine.url.render_as_string(hide_password=False))


@pytest.fixture
def tokens(api_store: SqlStore, api_settings: WebSettings) -> Tokens:
    return seed_api(api_store, api_settings)


@pytest.fixture
def api(api_store: SqlStore, api_settings: WebSettings, tokens: Tokens) -> Iterator[TestClient]:
    with TestClient(create_app(api_settings, store=api_store)) as client:
        yield client
