"""API token use cases: issue, list and revoke tokens (audited), and authenticate a request's bearer token."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from fdtrack.domain.accounts import Account, validate_username
from fdtrack.domain.errors import FdtrackError, InvalidInput
from fdtrack.domain.tokens import (
    ApiAction,
    ApiToken,
    TokenRefused,
    TokenScope,
    check_allowed,
    looks_like_token,
    new_token_secret,
    token_digest,
    token_hint,
    validate_scope_for_role,
    validate_token_name,
)
from fdtrack.services.lookup import Viewer
from fdtrack.services.ports import AuditEntry
from fdtrack.services.signin import viewer_for
from fdtrack.services.token_ports import TokenReader, TokenStore

Clock = Callable[[], datetime]


def _now() -> datetime:
    return datetime.now(UTC)


class AlreadyRevoked(FdtrackError):
    """The token named was revoked before; nothing changes."""


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A new token: its secret text (shown once, never stored) and what is kept of it."""

    secret: str
    token: ApiToken


def create_token(
    store: TokenStore,
    username: str,
    scope: TokenScope,
    actor: str,
    name: str = "",
    clock: Clock = _now,
) -> IssuedToken:
    """Issue a token acting for the account with the given scope; only its digest is stored."""
    account_name = validate_username(username)
    label = validate_token_name(name)
    secret = new_token_secret()
    now = clock()
    with store.write() as tx:
        account = tx.account_by_username(account_name)
        if account is None:
            raise InvalidInput("username", f"no account is called {account_name!r}")
        validate_scope_for_role(account.role, scope)
        token_id = tx.add_token(token_digest(secret), token_hint(secret), label, account.account_id, scope, now, actor)
        detail: dict[str, object] = {"token_id": token_id, "scope": scope.value, "hint": token_hint(secret)}
        if label:
            detail["name"] = label
        tx.append_audit(AuditEntry(actor, "token_created", account.username, detail), now)
        token = tx.token_by_id(token_id)
    assert token is not None
    return IssuedToken(secret, token)


def list_tokens(store: TokenStore, username: str | None = None, *, include_revoked: bool = False) -> list[ApiToken]:
    account_name = validate_username(username) if username is not None else None
    with store.read() as tx:
        return tx.tokens(account_name, include_revoked=include_revoked)


def revoke_token(store: TokenStore, token_id: int, actor: str, clock: Clock = _now) -> ApiToken:
    """Revoke a token; every server refuses it from its next request on (see TokenAuthenticator)."""
    now = clock()
    with store.write() as tx:
        token = tx.token_by_id(token_id)
        if token is None:
            raise InvalidInput("token", f"there is no API token #{token_id}; see `fdtrack tokens list --all`")
        if token.revoked_at is not None:
            raise AlreadyRevoked(f"API token #{token_id} was already revoked at {token.revoked_at.isoformat()}")
        tx.revoke_token(token_id, now, actor)
        detail: dict[str, object] = {"token_id": token_id, "scope": token.scope.value, "hint": token.hint}
        tx.append_audit(AuditEntry(actor, "token_revoked", token.account.username, detail), now)
        revoked = tx.token_by_id(token_id)
    assert revoked is not None
    return revoked


@dataclass(frozen=True, slots=True)
class ApiPrincipal:
    """Who an API request acts for: the token, its account and its scope."""

    token_id: int
    account: Account
    scope: TokenScope

    @property
    def name(self) -> str:
        return self.account.username

    @property
    def viewer(self) -> Viewer:
        return viewer_for(self.account)

    def require(self, action: ApiAction) -> None:
        """NotPermitted unless the token's scope and its account's role allow the action."""
        check_allowed(self.account, self.scope, action)


class TokenAuthenticator:
    """Turns a bearer token into an ApiPrincipal, cheaply enough for every request.

    Who a token belongs to (account, role, party and its User IDs: several reads) is remembered by
    digest for `remember_seconds`, with the account's revision. Whether the token is still live, and
    the account's revision, are *not* remembered: every request asks the database (one read by primary
    key), so a revocation or a disabled account — by any process, e.g. `fdtrack tokens revoke` or
    `fdtrack accounts disable` — takes effect on the next request, and a changed role or party (a new
    revision) makes the server read the account again.
    """

    def __init__(
        self,
        store: TokenReader,
        remember_seconds: float = 30.0,
        max_remembered: int = 10_000,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._remember = remember_seconds
        self._max = max_remembered
        self._monotonic = monotonic
        self._known: OrderedDict[bytes, tuple[float, int, ApiPrincipal]] = OrderedDict()
        self._lock = threading.Lock()  # requests are served from a thread pool

    def authenticate(self, secret: str | None) -> ApiPrincipal:
        if not secret or not looks_like_token(secret):
            raise TokenRefused
        digest = token_digest(secret)
        remembered = self._remembered(digest)
        if remembered is not None:
            revision, principal = remembered
            live = self._store.live_revision(principal.token_id)
            if live == revision:
                return principal
            self.forget(digest)
            if live is None:
                raise TokenRefused
        with self._store.read() as tx:
            token = tx.token_by_digest(digest)
        if token is None or not token.active or token.account.disabled:
            raise TokenRefused
        live_now = self._store.live_revision(token.token_id)
        if live_now is None:
            raise TokenRefused
        principal = ApiPrincipal(token.token_id, token.account, token.scope)
        self._keep(digest, live_now, principal)
        return principal

    def forget(self, digest: bytes) -> None:
        with self._lock:
            self._known.pop(digest, None)

    def _remembered(self, digest: bytes) -> tuple[int, ApiPrincipal] | None:
        with self._lock:
            found = self._known.get(digest)
            if found is None:
                return None
            kept_at, revision, principal = found
            if self._monotonic() - kept_at > self._remember:
                del self._known[digest]
                return None
            return revision, principal

    def _keep(self, digest: bytes, revision: int, principal: ApiPrincipal) -> None:
        with self._lock:
            self._known[digest] = (self._monotonic(), revision, principal)
            self._known.move_to_end(digest)
            while len(self._known) > self._max:
                self._known.popitem(last=False)
