"""A revoked API token is refused from the very next request, on every endpoint and by a server already running."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator

import httpx2
import pytest
from fastapi.testclient import TestClient

from e2e.seed import BETA_SHARED_REQUEST, LARGE_REQUEST, SHARED_DEVICE
from fdtrack.adapters.db.store import SqlStore
from fdtrack.adapters.db.tokens import SqlTokenStore
from fdtrack.services.tokens import list_tokens, revoke_token
from fdtrack.web.app import create_app
from fdtrack.web.settings import WebSettings
from integration.conftest import Tokens
from integration.running_server import FDTRACK, fdtrack_environment, running_server

# The longest a server may remember whose a token is: revocation must not wait for it.
REMEMBER = "3600"

Call = Callable[[httpx2.Client | TestClient, dict[str, str]], httpx2.Response]

# Each endpoint, the token that may call it, and a call that succeeds with that token.
ENDPOINTS: dict[str, tuple[str, Call]] = {
    "look-up by device": (
        "alpha",
        lambda c, h: c.get("/api/v1/distributions", params={"device_id": SHARED_DEVICE}, headers=h),
    ),
    "look-up by request": (
        "alpha",
        lambda c, h: c.get("/api/v1/distributions", params={"request_id": LARGE_REQUEST}, headers=h),
    ),
    "CSV download": (
        "alpha",
        lambda c, h: c.get("/api/v1/distributions.csv", params={"request_id": LARGE_REQUEST}, headers=h),
    ),
    "events": (
        "centre_ingest",
        lambda c, h: c.post("/api/v1/events", content=b"", headers={**h, "content-type": "application/x-ndjson"}),
    ),
    "DUIS message": (
        "centre_ingest",
        lambda c, h: c.post("/api/v1/duis", content=b"<x/>", headers={**h, "content-type": "application/xml"}),
    ),
    "reset": (
        "centre",
        lambda c, h: c.post(
            f"/api/v1/devices/{SHARED_DEVICE}/reset",
            json={"reason": "Stuck at the CSP", "request_id": BETA_SHARED_REQUEST},
            headers=h,
        ),
    ),
}


def token_id(store: SqlStore, secret: str) -> int:
    found = [token.token_id for token in list_tokens(SqlTokenStore(store.engine)) if secret.startswith(token.hint)]
    assert len(found) == 1
    return found[0]


@pytest.fixture
def remembering_api(api_store: SqlStore, api_settings: WebSettings, tokens: Tokens) -> Iterator[TestClient]:
    settings = api_settings.model_copy(update={"token_cache_seconds": float(REMEMBER)})
    with TestClient(create_app(settings, store=api_store)) as client:
        yield client


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_a_revoked_token_is_refused_on_the_very_next_request(
    remembering_api: TestClient, api_store: SqlStore, tokens: Tokens, endpoint: str
) -> None:
    who, call = ENDPOINTS[endpoint]
    secret = getattr(tokens, who)
    assert call(remembering_api, Tokens.header(secret)).status_code == 200  # the server now remembers the token
    revoke_token(SqlTokenStore(api_store.engine), token_id(api_store, secret), "test")
    refused = call(remembering_api, Tokens.header(secret))
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "unauthorized"
    untouched = ENDPOINTS["look-up by device"][1](remembering_api, Tokens.header(tokens.beta))
    assert untouched.status_code == 200  # only the revoked token is refused


def test_a_running_server_refuses_a_token_revoked_by_another_process(
    database_url: str, api_store: SqlStore, tokens: Tokens
) -> None:
    device = ENDPOINTS["look-up by device"][1]
    by_request = ENDPOINTS["look-up by request"][1]
    with (
        running_server(database_url, token_cache_seconds=REMEMBER) as server,
        httpx2.Client(base_url=server.url) as http,
    ):
        for call in (device, by_request):
            assert call(http, Tokens.header(tokens.alpha)).status_code == 200
        revoked = subprocess.run(
            [*FDTRACK, "tokens", "revoke", str(token_id(api_store, tokens.alpha))],
            env=fdtrack_environment(database_url),
            capture_output=True,
            text=True,
            check=False,
        )
        assert revoked.returncode == 0, revoked.stderr
        for call in (device, by_request):
            assert call(http, Tokens.header(tokens.alpha)).status_code == 401
        assert device(http, Tokens.header(tokens.beta)).status_code == 200  # Beta's token still works
