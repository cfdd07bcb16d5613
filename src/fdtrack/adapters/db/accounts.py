"""The party, account and session ports implemented with SQLAlchemy Core on the tracking database."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, and_, bindparam, delete, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from fdtrack.adapters.db.engine import WRITE
from fdtrack.adapters.db.schema import (
    accounts,
    audit_log,
    audit_retention,
    parties,
    party_user_ids,
    signin_failures,
    signin_throttles,
    web_sessions,
)
from fdtrack.adapters.db.store import append_audit_entry
from fdtrack.adapters.db.types import UtcDateTime
from fdtrack.domain.accounts import Account, AlreadyExists, Party, Role
from fdtrack.domain.throttle import SourceThrottle
from fdtrack.services.account_ports import AccountListing, FailedSignIns, StoredCredentials, StoredSession
from fdtrack.services.ports import AuditEntry

_A = accounts
_S = web_sessions
_T = signin_throttles
_F = signin_failures
# Counted per source and hour: a flood of sign-ins under made-up names costs one row an hour per source.
FAILURE_WINDOW = timedelta(hours=1)
_COUNT_FAILURE = text(
    "INSERT INTO signin_failures (source, window_start, kind, attempts, last_at) "
    "VALUES (:source, :window_start, :kind, 1, :at) "
    "ON CONFLICT (source, window_start, kind) DO UPDATE SET "
    "attempts = signin_failures.attempts + 1, last_at = :at"
).bindparams(bindparam("window_start", type_=UtcDateTime()), bindparam("at", type_=UtcDateTime()))


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

    def throttle(self, username: str, source: str) -> SourceThrottle:
        row = self.connection.execute(
            select(_T.c.failures, _T.c.blocked_until, _T.c.last_failed_at).where(
                _T.c.username == username, _T.c.source == source[:64]
            )
        ).first()
        return SourceThrottle() if row is None else SourceThrottle(row.failures, row.blocked_until, row.last_failed_at)

    def account_listings(self) -> list[AccountListing]:
        sessions = (
            select(_S.c.account_id, func.count().label("sessions")).group_by(_S.c.account_id).subquery("sessions")
        )
        throttled = select(_T.c.username, func.count().label("sources")).group_by(_T.c.username).subquery("throttled")
        query = (
            select(*_account_columns(), _A.c.created_at, sessions.c.sessions, throttled.c.sources)
            .outerjoin(sessions, sessions.c.account_id == _A.c.id)
            .outerjoin(throttled, throttled.c.username == _A.c.username)
            .order_by(_A.c.username)
        )
        return [
            AccountListing(self._account(row), row.created_at, row.sessions or 0, row.sources or 0)
            for row in self.connection.execute(query).all()
        ]

    def failed_signins(self, since: datetime, limit: int) -> list[FailedSignIns]:
        query = (
            select(_F)
            .where(_F.c.window_start >= since)
            .order_by(_F.c.window_start.desc(), _F.c.attempts.desc())
            .limit(limit)
        )
        return [
            FailedSignIns(row.source, row.window_start, row.kind, row.attempts, row.last_at)
            for row in self.connection.execute(query)
        ]

    def parties(self) -> list[Party]:
        ids = self.connection.execute(select(parties.c.id).order_by(parties.c.name)).scalars().all()
        return [self._party(party_id) for party_id in ids]

    def _credentials(self, username: str, *, lock: bool) -> StoredCredentials | None:
        query = select(*_account_columns(), _A.c.password_hash).where(_A.c.username == username)
        if lock:
            query = query.with_for_update(of=_A)
        row = self.connection.execute(query).first()
        if row is None:
            return None
        return StoredCredentials(self._account(row), row.password_hash)

    def _account(self, row: Any) -> Account:  # rows of several different selects
        party = self._party(row.party_id) if row.party_id is not None else None
        return Account(row.account_id, row.username, Role(row.role), party, row.disabled_at)

    def _party(self, party_id: int) -> Party:
        name = self.connection.execute(select(parties.c.name).where(parties.c.id == party_id)).scalar_one()
        user_ids = self.connection.execute(
            select(party_user_ids.c.user_id).where(party_user_ids.c.party_id == party_id)
        ).scalars()
        return Party(party_id, name, frozenset(user_ids))


def _account_columns() -> list[Any]:
    return [_A.c.id.label("account_id"), _A.c.username, _A.c.role, _A.c.party_id, _A.c.disabled_at]


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
            self._add_user_id(party_id, user_id)
        return Party(party_id, name, frozenset(user_ids))

    def add_user_ids(self, party: Party, user_ids: Collection[str]) -> None:
        for user_id in sorted(set(user_ids) - party.user_ids):
            self._add_user_id(party.party_id, user_id)
        self._changed_party(party.party_id)

    def _add_user_id(self, party_id: int, user_id: str) -> None:
        """Give a party a User ID; AlreadyExists names the party that has it already."""
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

    def remove_user_id(self, party: Party, user_id: str) -> bool:
        removed = self.connection.execute(
            delete(party_user_ids).where(
                party_user_ids.c.party_id == party.party_id, party_user_ids.c.user_id == user_id
            )
        ).rowcount
        self._changed_party(party.party_id)
        return bool(removed)

    def _changed_party(self, party_id: int) -> None:
        """What a party's Users see has changed: servers that remember their tokens must read them again."""
        self.connection.execute(update(_A).where(_A.c.party_id == party_id).values(revision=_A.c.revision + 1))

    def add_account(self, username: str, role: Role, party: Party | None, password_hash: str, at: datetime) -> int:
        values = {
            "username": username,
            "role": role.value,
            "party_id": party.party_id if party else None,
            "password_hash": password_hash,
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

    def set_password_hash(self, account_id: int, password_hash: str) -> None:
        self._update_account(account_id, password_hash=password_hash)

    def set_disabled(self, account_id: int, disabled_at: datetime | None) -> None:
        self._update_account(account_id, disabled_at=disabled_at)

    def set_role_and_party(self, account_id: int, role: Role, party: Party | None) -> None:
        self._update_account(account_id, role=role.value, party_id=party.party_id if party else None)

    def _update_account(self, account_id: int, **values: object) -> None:
        self.connection.execute(update(_A).where(_A.c.id == account_id).values(revision=_A.c.revision + 1, **values))

    def set_throttle(self, username: str, source: str, throttle: SourceThrottle) -> None:
        assert throttle.blocked_until is not None
        assert throttle.last_failed_at is not None
        key = and_(_T.c.username == username, _T.c.source == source[:64])
        values = {
            "failures": throttle.failures,
            "blocked_until": throttle.blocked_until,
            "last_failed_at": throttle.last_failed_at,
        }
        if not self.connection.execute(update(_T).where(key).values(**values)).rowcount:
            try:
                with self.connection.begin_nested():
                    self.connection.execute(insert(_T).values(username=username, source=source[:64], **values))
            except IntegrityError:  # another process's failure from the same source came first
                self.connection.execute(update(_T).where(key).values(**values))

    def clear_throttles(self, username: str, source: str | None = None) -> int:
        statement = delete(_T).where(_T.c.username == username)
        if source is not None:
            statement = statement.where(_T.c.source == source[:64])
        return self.connection.execute(statement).rowcount

    def count_failed_signin(self, source: str, kind: str, at: datetime) -> None:
        seconds = FAILURE_WINDOW.total_seconds()
        window_start = datetime.fromtimestamp(at.timestamp() // seconds * seconds, tz=UTC)
        values = {"source": source[:64], "window_start": window_start, "kind": kind[:20], "at": at}
        self.connection.execute(_COUNT_FAILURE, values)

    def forget_signin_records(self, throttles_before: datetime, failures_before: datetime) -> int:
        """Housekeeping: throttles nobody has renewed for a day, failure counts past the audit retention."""
        forgotten = self.connection.execute(delete(_T).where(_T.c.last_failed_at < throttles_before)).rowcount
        return forgotten + self.connection.execute(delete(_F).where(_F.c.window_start < failures_before)).rowcount

    def move_audit_cutoff(self, cutoff: datetime) -> None:
        """Entries older than the cutoff may be deleted (the triggers refuse every other deletion)."""
        if self.connection.execute(
            update(audit_retention).where(audit_retention.c.id == 1).values(cutoff=cutoff)
        ).rowcount:
            return
        self.connection.execute(insert(audit_retention).values(id=1, cutoff=cutoff))

    def delete_audit_before(self, cutoff: datetime) -> int:
        return self.connection.execute(delete(audit_log).where(audit_log.c.occurred_at < cutoff)).rowcount

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

    def delete_sessions_of(self, account_id: int) -> int:
        return self.connection.execute(delete(_S).where(_S.c.account_id == account_id)).rowcount

    def delete_sessions_seen_before(self, moment: datetime) -> int:
        return self.connection.execute(delete(_S).where(_S.c.last_seen_at < moment)).rowcount

    def append_audit(self, entry: AuditEntry, at: datetime) -> None:
        append_audit_entry(self.connection, entry, at)
