"""The token authenticator: remembers whose a token is, yet asks about revocation on every request."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest

from fdtrack.domain.accounts import Account, Party, Role
from fdtrack.domain.errors import NotPermitted
from fdtrack.domain.tokens import ApiAction, ApiToken, TokenRefused, TokenScope, new_token_secret, token_digest
from fdtrack.services.tokens import TokenAuthenticator


class FakeTokens:
    """An in-memory token store that counts how often it is asked."""

    def __init__(self) -> None:
        self.by_digest: dict[bytes, ApiToken] = {}
        self.revoked: set[int] = set()
        self.revisions: dict[int, int] = {}
        self.full_reads = 0
        self.liveness_checks = 0

    @contextmanager
    def read(self) -> Iterator[FakeTokens]:
        yield self

    def token_by_digest(self, digest: bytes) -> ApiToken | None:
        self.full_reads += 1
        token = self.by_digest.get(digest)
        if token is None:
            return None
        return token if token.token_id not in self.revoked else _revoked(token)

    def token_by_id(self, token_id: int) -> ApiToken | None:
        return next((token for token in self.by_digest.values() if token.token_id == token_id), None)

    def tokens(self, username: str | None, *, include_revoked: bool) -> list[ApiToken]:
        return list(self.by_digest.values())

    def live_revision(self, token_id: int) -> int | None:
        self.liveness_checks += 1
        return None if token_id in self.revoked else self.revisions.get(token_id, 0)


def _revoked(token: ApiToken) -> ApiToken:
    return ApiToken(
        token.token_id, token.account, token.scope, token.hint, "", token.created_at, "t", datetime.now(UTC)
    )


def issue(store: FakeTokens, role: Role, scope: TokenScope) -> str:
    secret = new_token_secret()
    party = Party(1, "Alpha", frozenset({"90-B3-D5-1F-30-01-00-00"})) if role is Role.USER else None
    account = Account(len(store.by_digest) + 1, f"account{len(store.by_digest)}", role, party)
    token_id = len(store.by_digest) + 1
    store.by_digest[token_digest(secret)] = ApiToken(
        token_id, account, scope, secret[:10], "", datetime.now(UTC), "test", None
    )
    return secret


def test_whose_token_it_is_is_remembered_but_liveness_is_checked_every_time() -> None:
    store, clock = FakeTokens(), [0.0]
    secret = issue(store, Role.USER, TokenScope.READ)
    auth = TokenAuthenticator(store, remember_seconds=30, monotonic=lambda: clock[0])
    for _ in range(5):
        assert auth.authenticate(secret).viewer.originators == frozenset({"90-B3-D5-1F-30-01-00-00"})
    assert (store.full_reads, store.liveness_checks) == (1, 5)
    clock[0] = 31.0
    auth.authenticate(secret)
    assert store.full_reads == 2
    store.revoked.add(1)
    with pytest.raises(TokenRefused):
        auth.authenticate(secret)
    with pytest.raises(TokenRefused):
        auth.authenticate(secret)


def test_a_changed_account_is_read_again_on_the_next_request() -> None:
    store = FakeTokens()
    secret = issue(store, Role.USER, TokenScope.READ)
    auth = TokenAuthenticator(store, remember_seconds=3600)
    auth.authenticate(secret)
    auth.authenticate(secret)
    assert store.full_reads == 1
    store.revisions[1] = 1  # its role, party or password changed
    auth.authenticate(secret)
    assert store.full_reads == 2


@pytest.mark.parametrize("given", [None, "", "Bearer", "fdt_short", "x" * 47, "fdt_" + "!" * 43])
def test_malformed_tokens_are_refused_without_asking_the_store(given: str | None) -> None:
    store = FakeTokens()
    with pytest.raises(TokenRefused):
        TokenAuthenticator(store).authenticate(given)
    assert store.full_reads == store.liveness_checks == 0


@pytest.mark.parametrize(
    ("role", "scope", "action", "allowed"),
    [
        (Role.USER, TokenScope.READ, ApiAction.LOOK_UP, True),
        (Role.USER, TokenScope.READ, ApiAction.RESET, False),
        (Role.USER, TokenScope.READ, ApiAction.INGEST, False),
        (Role.SERVICE_CENTRE, TokenScope.READ, ApiAction.RESET, True),
        (Role.SERVICE_CENTRE, TokenScope.INGEST, ApiAction.RESET, False),
        (Role.SERVICE_CENTRE, TokenScope.INGEST, ApiAction.INGEST, True),
        (Role.ADMIN, TokenScope.INGEST, ApiAction.LOOK_UP, False),
        (Role.ADMIN, TokenScope.READ, ApiAction.RESET, False),
    ],
)
def test_a_token_acts_with_its_accounts_rights_narrowed_by_its_scope(
    role: Role, scope: TokenScope, action: ApiAction, allowed: bool
) -> None:
    store = FakeTokens()
    principal = TokenAuthenticator(store).authenticate(issue(store, role, scope))
    if allowed:
        principal.require(action)
    else:
        with pytest.raises(NotPermitted):
            principal.require(action)
