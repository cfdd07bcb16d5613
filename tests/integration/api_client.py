"""A plain HTTP client of the events and look-up API for the fault tests, and the tokens it uses."""

from __future__ import annotations

import http.client
import json
from dataclasses import dataclass
from urllib.parse import quote

from fdtrack.adapters.db.accounts import SqlAccountStore
from fdtrack.adapters.db.store import SqlStore
from fdtrack.adapters.db.tokens import SqlTokenStore
from fdtrack.adapters.passwords import Argon2Hasher
from fdtrack.domain.accounts import Role
from fdtrack.domain.tokens import TokenScope
from fdtrack.services.accounts import create_account
from fdtrack.services.tokens import create_token

CLIENT_TIMEOUT_SECONDS = 30.0  # twice the server's own worst case: 5 s to connect, 10 s for a pooled connection
UPSTREAM = "upstream"  # the account that pushes events; it names the source of every rejection


@dataclass(frozen=True, slots=True)
class ApiTokens:
    ingest: str  # an administrator's token of scope ingest (an upstream system)
    read: str  # a Service Centre token of scope read: sees every party's records


def issue_tokens(database_url: str) -> ApiTokens:
    """Accounts and tokens for the API clients, written straight to the database."""
    store = SqlStore.open(database_url)
    try:
        accounts, tokens = SqlAccountStore(store.engine), SqlTokenStore(store.engine)
        hasher = Argon2Hasher(1, 64)  # the lowest cost: nobody signs in with these passwords
        create_account(accounts, hasher, UPSTREAM, Role.ADMIN, "upstream-password-1", "test")
        create_account(accounts, hasher, "centre", Role.SERVICE_CENTRE, "centre-password-1", "test")
        return ApiTokens(
            ingest=create_token(tokens, UPSTREAM, TokenScope.INGEST, "test").secret,
            read=create_token(tokens, "centre", TokenScope.READ, "test").secret,
        )
    finally:
        store.dispose()


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    retry_after: str | None
    body: bytes

    def json(self) -> dict[str, object]:
        decoded: dict[str, object] = json.loads(self.body)
        return decoded


class ApiClient:
    """One request per connection: a server killed between requests leaves no stale connection behind."""

    def __init__(self, port: int, token: str, timeout: float = CLIENT_TIMEOUT_SECONDS) -> None:
        self.port = port
        self.token = token
        self.timeout = timeout

    def post_events(self, lines: list[str]) -> Answer:
        body = "".join(line + "\n" for line in lines).encode()
        return self._request("POST", "/api/v1/events", body, "application/x-ndjson")

    def by_device(self, device_id: str) -> Answer:
        return self._request("GET", f"/api/v1/distributions?device_id={quote(device_id)}")

    def by_request(self, request_id: str) -> Answer:
        return self._request("GET", f"/api/v1/distributions?request_id={quote(request_id)}&limit=1000")

    def _request(self, method: str, path: str, body: bytes | None = None, content_type: str | None = None) -> Answer:
        """The answer; OSError (refused, reset, timed out) when there is none."""
        headers = {"Authorization": f"Bearer {self.token}"}
        if content_type is not None:
            headers["Content-Type"] = content_type
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            return Answer(response.status, response.getheader("Retry-After"), response.read())
        except http.client.HTTPException as error:  # e.g. the server died half-way through its answer
            raise ConnectionError(str(error)) from error
        finally:
            connection.close()
