"""The API token port implemented with SQLAlchemy Core on the tracking database."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, select, update

from fdtrack.adapters.db.accounts import SqlAccountReadTransaction, SqlAccountWriteTransaction
from fdtrack.adapters.db.engine import WRITE, statement_reads
from fdtrack.adapters.db.schema import accounts, api_tokens
from fdtrack.domain.accounts import Account
from fdtrack.domain.tokens import ApiToken, TokenScope
from fdtrack.services.ports import AuditEntry

_T = api_tokens


class SqlTokenStore:
    """Hands out transactions over the same engine (and so the same database) as the tracking store."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._writer = engine.execution_options(**WRITE)
        mark = "?" if engine.dialect.name == "sqlite" else "%s"
        self._active_sql = (
            "SELECT accounts.revision FROM api_tokens JOIN accounts ON accounts.id = api_tokens.account_id "
            f"WHERE api_tokens.id = {mark} AND api_tokens.revoked_at IS NULL AND accounts.disabled_at IS NULL"
        )

    def live_revision(self, token_id: int) -> int | None:
        """Asked on every API request: one statement on a raw pooled connection, which costs a fifth of
        a SQLAlchemy `Connection` with its transaction events (a lone SELECT needs no transaction)."""
        with statement_reads(self.engine) as connection:
            cursor = connection.cursor()
            cursor.execute(self._active_sql, (token_id,))
            row = cursor.fetchone()
            return None if row is None else int(row[0])

    @contextmanager
    def write(self) -> Iterator[SqlTokenWriteTransaction]:
        with self._writer.begin() as connection:
            yield SqlTokenWriteTransaction(connection)

    @contextmanager
    def read(self) -> Iterator[SqlTokenReadTransaction]:
        with self.engine.connect() as connection:
            yield SqlTokenReadTransaction(connection)


class SqlTokenReadTransaction:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self._accounts = SqlAccountReadTransaction(connection)

    def token_by_digest(self, digest: bytes) -> ApiToken | None:
        return self._one(_T.c.token_digest == digest)

    def token_by_id(self, token_id: int) -> ApiToken | None:
        return self._one(_T.c.id == token_id)

    def tokens(self, username: str | None, *, include_revoked: bool) -> list[ApiToken]:
        query = _select().order_by(_T.c.id)
        if username is not None:
            query = query.where(accounts.c.username == username)
        if not include_revoked:
            query = query.where(_T.c.revoked_at.is_(None))
        return self._tokens(query)

    def _one(self, condition: Any) -> ApiToken | None:
        found = self._tokens(_select().where(condition))
        return found[0] if found else None

    def _tokens(self, query: Any) -> list[ApiToken]:
        rows = self.connection.execute(query).all()
        owners: dict[str, Account | None] = {}
        found = []
        for row in rows:
            if row.username not in owners:
                owners[row.username] = self._accounts.account_by_username(row.username)
            owner = owners[row.username]
            assert owner is not None  # the foreign key keeps every token's account
            found.append(
                ApiToken(
                    token_id=row.id,
                    account=owner,
                    scope=TokenScope(row.scope),
                    hint=row.hint,
                    name=row.name,
                    created_at=row.created_at,
                    created_by=row.created_by,
                    revoked_at=row.revoked_at,
                )
            )
        return found


def _select() -> Any:
    return select(
        _T.c.id,
        _T.c.scope,
        _T.c.hint,
        _T.c.name,
        _T.c.created_at,
        _T.c.created_by,
        _T.c.revoked_at,
        accounts.c.username,
    ).join(accounts, accounts.c.id == _T.c.account_id)


class SqlTokenWriteTransaction(SqlTokenReadTransaction):
    def __init__(self, connection: Connection) -> None:
        super().__init__(connection)
        self._account_writes = SqlAccountWriteTransaction(connection)

    def account_by_username(self, username: str) -> Account | None:
        return self._accounts.account_by_username(username)

    def add_token(
        self,
        digest: bytes,
        hint: str,
        name: str,
        account_id: int,
        scope: TokenScope,
        at: datetime,
        actor: str,
    ) -> int:
        values = {
            "token_digest": digest,
            "hint": hint,
            "name": name,
            "account_id": account_id,
            "scope": scope.value,
            "created_at": at,
            "created_by": actor[:100],
        }
        token_id: int = self.connection.execute(_T.insert().values(**values).returning(_T.c.id)).scalar_one()
        return token_id

    def revoke_token(self, token_id: int, at: datetime, actor: str) -> None:
        self.connection.execute(
            update(_T)
            .where(_T.c.id == token_id, _T.c.revoked_at.is_(None))
            .values(revoked_at=at, revoked_by=actor[:100])
        )

    def append_audit(self, entry: AuditEntry, at: datetime) -> None:
        self._account_writes.append_audit(entry, at)
