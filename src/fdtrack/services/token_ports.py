"""Ports the API token use cases need, declared as Protocols that adapters implement."""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import datetime
from typing import Protocol

from fdtrack.domain.accounts import Account
from fdtrack.domain.tokens import ApiToken, TokenScope
from fdtrack.services.ports import AuditEntry


class TokenReadTransaction(Protocol):
    def token_by_digest(self, digest: bytes) -> ApiToken | None: ...

    def token_by_id(self, token_id: int) -> ApiToken | None: ...

    def tokens(self, username: str | None, *, include_revoked: bool) -> list[ApiToken]: ...


class TokenWriteTransaction(TokenReadTransaction, Protocol):
    def account_by_username(self, username: str) -> Account | None: ...

    def add_token(
        self,
        digest: bytes,
        hint: str,
        name: str,
        account_id: int,
        scope: TokenScope,
        at: datetime,
        actor: str,
    ) -> int: ...

    def revoke_token(self, token_id: int, at: datetime, actor: str) -> None: ...

    def append_audit(self, entry: AuditEntry, at: datetime) -> None: ...


class TokenReader(Protocol):
    """What authenticating a request needs: reads only."""

    def read(self) -> AbstractContextManager[TokenReadTransaction]: ...

    def live_revision(self, token_id: int) -> int | None:
        """None unless the token is live and its account enabled; else the account's revision, which every
        change of role, party or password raises. Asked on every API request: one indexed read."""
        ...


class TokenStore(TokenReader, Protocol):
    """Where API tokens live; hands out transactions."""

    def write(self) -> AbstractContextManager[TokenWriteTransaction]: ...
