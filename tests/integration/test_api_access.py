"""Who may call what: bearer tokens, scopes and roles on every API endpoint; revocation takes effect at once."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response

from e2e.seed import ALPHA, LARGE_REQUEST, SHARED_DEVICE
from fdtrack.adapters.db.store import SqlStore
from fdtrack.adapters.db.tokens import SqlTokenStore
from fdtrack.domain.tokens import TokenScope
from fdtrack.services.tokens import create_token, list_tokens, revoke_token
from fdtrack.web.app import create_app
from fdtrack.web.settings import WebSettings
from integration.conftest import Tokens

NDJSON = {"content-type": "application/x-ndjson"}


def call(api: TestClient, endpoint: str, token: str | None) -> Response:
    headers = Tokens.header(token) if token else {}
    if endpoint == "lookup":
        return api.get("/api/v1/distributions", params={"device_id": SHARED_DEVICE}, headers=headers)
    if endpoint == "csv":
        return api.get("/api/v1/distributions.csv", params={"request_id": LARGE_REQUEST}, headers=headers)
    if endpoint == "events":
        return api.post("/api/v1/events", content=b"", headers={**headers, **NDJSON})
    if endpoint == "duis":
        return api.post("/api/v1/duis", content=b"<x/>", headers={**headers, "content-type": "application/xml"})
    assert endpoint == "reset"
    return api.post(f"/api/v1/devices/{SHARED_DEVICE}/reset", json={"reason": "stuck at the CSP"}, headers=headers)


ENDPOINTS = ("lookup", "csv", "events", "duis", "reset")


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("token", [None, "not-a-token", "fdt_" + "A" * 43, "Basic abc"])
def test_every_endpoint_refuses_a_missing_or_unknown_token_with_401(
    api: TestClient, tokens: Tokens, endpoint: str, token: str | None
) -> None:
    response = call(api, endpoint, token)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["error"]["code"] == "unauthorized"


# (endpoint, token attribute, expected status): each scope and role on each endpoint.
RULES = [
    ("lookup", "alpha", 200),
    ("lookup", "beta", 200),
    ("lookup", "centre", 200),
    ("lookup", "centre_ingest", 403),
    ("lookup", "admin_ingest", 403),
    ("csv", "alpha", 200),
    ("csv", "beta", 404),
    ("csv", "centre", 200),
    ("csv", "admin_ingest", 403),
    ("events", "alpha", 403),
    ("events", "centre", 403),
    ("events", "centre_ingest", 200),
    ("events", "admin_ingest", 200),
    ("duis", "beta", 403),
    ("duis", "centre_ingest", 200),
    ("reset", "alpha", 403),
    ("reset", "beta", 403),
    ("reset", "centre_ingest", 403),
    ("reset", "admin_ingest", 403),
    ("reset", "centre", 200),
]


@pytest.mark.parametrize(("endpoint", "who", "expected"), RULES)
def test_scopes_and_roles_decide_who_may_call_each_endpoint(
    api: TestClient, tokens: Tokens, endpoint: str, who: str, expected: int
) -> None:
    response = call(api, endpoint, getattr(tokens, who))
    assert response.status_code == expected, response.text
    if expected == 403:
        assert response.json()["error"]["code"] == "forbidden"


def test_a_revoked_token_is_refused_at_once_even_though_it_was_just_used(
    api: TestClient, tokens: Tokens, api_store: SqlStore
) -> None:
    assert call(api, "lookup", tokens.alpha).status_code == 200  # now remembered by the server
    store = SqlTokenStore(api_store.engine)
    alpha_token = next(t for t in list_tokens(store, ALPHA.username) if tokens.alpha.startswith(t.hint))
    revoke_token(store, alpha_token.token_id, "test")
    assert call(api, "lookup", tokens.alpha).status_code == 401
    assert call(api, "lookup", tokens.beta).status_code == 200


def test_only_a_hash_of_a_token_is_stored(api_store: SqlStore, tokens: Tokens) -> None:
    with api_store.engine.connect() as connection:
        rows = connection.exec_driver_sql("SELECT * FROM api_tokens").all()
    dumped = repr(rows)
    for secret in (tokens.alpha, tokens.centre, tokens.admin_ingest):
        assert secret not in dumped
        assert secret[len("fdt_") + 6 :] not in dumped


def test_a_user_account_cannot_be_given_an_ingest_token(api_store: SqlStore, tokens: Tokens) -> None:
    with pytest.raises(Exception, match="ingest tokens are for upstream DCC systems"):
        create_token(SqlTokenStore(api_store.engine), ALPHA.username, TokenScope.INGEST, "test")


def test_tokens_are_never_written_to_the_logs(
    api_store: SqlStore, api_settings: WebSettings, tokens: Tokens, caplog: pytest.LogCaptureFixture
) -> None:
    settings = api_settings.model_copy(update={"access_log": True})
    with caplog.at_level("DEBUG"), TestClient(create_app(settings, store=api_store)) as api:
        call(api, "lookup", tokens.alpha)
        call(api, "lookup", tokens.alpha[:-2] + "xx")
        call(api, "events", tokens.centre_ingest)
    logged = "\n".join(f"{record.getMessage()} {record.__dict__}" for record in caplog.records)
    assert "fdt_" not in logged
    assert "/api/v1/distributions" in logged  # the access log is there, and names the caller
    assert any(record.__dict__.get("actor") == ALPHA.username for record in caplog.records)
