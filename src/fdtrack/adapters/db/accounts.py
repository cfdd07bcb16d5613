"""The party, account and session ports implemented with SQLAlchemy Core on the tracking database."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, delete, select, update
from sqlalchemy.exc import IntegrityError

from fdtrack.adapters.db.engine import WRITE
from fdtrack.adapters.db.schema import accounts, parties, party_user_ids, web_sessions
from fdtrack.adapters.db.store import append_audit_entry
from fdtrack.domain.accounts import Account, AlreadyExists, Party, Role
from fdtrack.domain.lockout import LoginAttempts
from fdtrack.services.account_ports import StoredCredentials, StoredSession
from fdtrack.services.ports import AuditEntry

_A = accounts
_S = web_sessions


class SqlAccountStore:
    """Hands out transactions over the same engine (and so the same database) as the tracking store."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._writer = engine.execution_options(**WRITE)

    @contextmanager
    def write(self) -> Iterator[SqlAccountWriteTransaction]:
        with self._writer.begin() as connection:
            yield SqlAccountWriteTransaction(connection)

    @contextmanager
    def read(self) -> Iterator[SqlAccountReadTransaction]:
        with self.engine.connect() as connection, connection.begin():
            yield SqlAccountReadTransaction(connection)


class SqlAccountReadTransaction:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def session(self, session_digest: bytes) -> StoredSession | None:
        query = (
            select(_S.c.csrf_token, _S.c.created_at, _S.c.last_seen_at, *_account_columns())
            .join(_A, _A.c.id == _S.c.account_id)
            .where(_S.c.session_digest == session_digest)
        )
        row = self.connection.execute(query).first()
        if row is None:
            return None
        return StoredSession(self._account(row), row.csrf_token, row.created_at, row.last_seen_at)

    def party_by_name(self, name: str) -> Party | None:
        row = self.connection.execute(select(parties.c.id).where(parties.c.name == name)).first()
        return None if row is None else self._party(row.id)

    def party_by_user_id(self, user_id: str) -> Party | None:
        query = select(party_user_ids.c.party_id).where(party_user_ids.c.user_id == user_id)
        party_id = self.connection.execute(query).scalar_one_or_none()
        return None if party_id is None else self._party(party_id)

    def account_by_username(self, username: str) -> Account | None:
        row = self.connection.execute(select(*_account_columns()).where(_A.c.username == username)).first()
        return None if row is None else self._account(row)

    def credentials(self, username: str) -> StoredCredentials | None:
        return self._credentials(username, lock=False)

    def _credentials(self, username: str, *, lock: bool) -> StoredCredentials | None:
        query = select(*_account_columns(), _A.c.password_hash, _A.c.failed_logins, _A.c.locked_until).where(
            _A.c.username == username
        )
        if lock:
            query = query.with_for_update(of=_A)
        row = self.connection.execute(query).first()
        if row is None:
            return None
        return StoredCredentials(
            self._account(row), row.password_hash, LoginAttempts(row.failed_logins, row.locked_until)
        )

    def _account(self, row: Any) -> Account:  # rows of several different selects
        party = self._party(row.party_id) if row.party_id is not None else None
        return Account(row.account_id, row.username, Role(row.role), party)

    def _party(self, party_id: int) -> Party:
        name = self.connection.execute(select(parties.c.name).where(parties.c.id == party_id)).scalar_one()
        user_ids = self.connection.execute(
            select(party_user_ids.c.user_id).where(party_user_ids.c.party_id == party_id)
        ).scalars()
        return Party(party_id, name, frozenset(user_ids))


def _account_columns() -> list[Any]:
    return [_A.c.id.label("account_id"), _A.c.username, _A.c.role, _A.c.party_id]


class SqlAccountWriteTransaction(SqlAccountReadTransaction):
    """Writes of one use case; on PostgreSQL the account it signs in is locked until it commits."""

    def add_party(self, name: str, user_ids: Collection[str], at: datetime) -> Party:
        try:
            with self.connection.begin_nested():
                party_id = self.connection.execute(
                    parties.insert().values(name=name, created_at=at).returning(parties.c.id)
                ).scalar_one()
        except IntegrityError:
            raise AlreadyExists(f"party {name!r} already exists") from None
        for user_id in sorted(user_ids):
            try:
                with self.connection.begin_nested():
                    self.connection.execute(party_user_ids.insert().values(user_id=user_id, party_id=party_id))
            except IntegrityError:
                owner = self.connection.execute(
                    select(parties.c.name)
                    .join(party_user_ids, party_user_ids.c.party_id == parties.c.id)
                    .where(party_user_ids.c.user_id == user_id)
                ).scalar_one()
                raise AlreadyExists(f"User ID {user_id} already belongs to party {owner!r}") from None
        return Party(party_id, name, frozenset(user_ids))

    def add_account(self, username: str, role: Role, party: Party | None, password_hash: str, at: datetime) -> int:
        values = {
            "username": username,
            "role": role.value,
            "party_id": party.party_id if party else None,
            "password_hash": password_hash,
            "failed_logins": 0,
            "locked_until": None,
            "created_at": at,
        }
        try:
            with self.connection.begin_nested():
                account_id: int = self.connection.execute(_A.insert().values(**values).returning(_A.c.id)).scalar_one()
        except IntegrityError:
            raise AlreadyExists(f"account {username!r} already exists") from None
        return account_id

    def lock_credentials(self, username: str) -> StoredCredentials | None:
        return self._credentials(username, lock=self.connection.dialect.name == "postgresql")

    def set_login_attempts(self, account_id: int, attempts: LoginAttempts) -> None:
        self.connection.execute(
            update(_A)
            .where(_A.c.id == account_id)
            .values(failed_logins=attempts.failed, locked_until=attempts.locked_until)
        )

    def set_password_hash(self, account_id: int, password_hash: str) -> None:
        self.connection.execute(update(_A).where(_A.c.id == account_id).values(password_hash=password_hash))

    def add_session(self, session_digest: bytes, account_id: int, csrf_token: str, at: datetime) -> None:
        self.connection.execute(
            _S.insert().values(
                session_digest=session_digest,
                account_id=account_id,
                csrf_token=csrf_token,
                created_at=at,
                last_seen_at=at,
            )
        )

    def touch_session(self, session_digest: bytes, at: datetime) -> None:
        self.connection.execute(update(_S).where(_S.c.session_digest == session_digest).values(last_seen_at=at))

    def delete_session(self, session_digest: bytes) -> None:
        self.connection.execute(delete(_S).where(_S.c.session_digest == session_digest))

    def delete_sessions_seen_before(self, moment: datetime) -> int:
        return self.connection.execute(delete(_S).where(_S.c.last_seen_at < moment)).rowcount

    def append_audit(self, entry: AuditEntry, at: datetime) -> None:
        append_audit_entry(self.connection, entry, at)
