"""Ports the party, account and sign-in use cases need, declared as Protocols that adapters implement."""

from __future__ import annotations

from collections.abc import Collection
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from fdtrack.domain.accounts import Account, Party, Role
from fdtrack.domain.throttle import SourceThrottle
from fdtrack.services.ports import AuditEntry


@dataclass(frozen=True, slots=True)
class StoredCredentials:
    """What sign-in needs to know of an account: who it is (and whether it is disabled) and its password hash."""

    account: Account
    password_hash: str


@dataclass(frozen=True, slots=True)
class StoredSession:
    """A signed-in session: whose it is, its anti-CSRF token and when it was made and last used."""

    account: Account
    csrf_token: str
    created_at: datetime
    last_seen_at: datetime


@dataclass(frozen=True, slots=True)
class AccountListing:
    """An account as the administrator's list shows it."""

    account: Account
    created_at: datetime
    sessions: int
    throttled_sources: int


@dataclass(frozen=True, slots=True)
class FailedSignIns:
    """Failed sign-ins kept as a count: from one address, in one hour, of one kind (unknown account, …)."""

    source: str
    window_start: datetime
    kind: str
    attempts: int
    last_at: datetime


class PasswordHasher(Protocol):
    """One-way password hashing (argon2id in production), and the list of passwords too common to accept."""

    def hash(self, password: str) -> str: ...

    def verify(self, password_hash: str, password: str) -> bool: ...

    def needs_rehash(self, password_hash: str) -> bool: ...

    def is_common(self, password: str) -> bool: ...


class AccountReadTransaction(Protocol):
    def credentials(self, username: str) -> StoredCredentials | None: ...

    def session(self, session_digest: bytes) -> StoredSession | None: ...

    def party_by_name(self, name: str) -> Party | None: ...

    def party_by_user_id(self, user_id: str) -> Party | None:
        """The party that owns this User ID (a request's originator), if any."""
        ...

    def account_by_username(self, username: str) -> Account | None: ...

    def throttle(self, username: str, source: str) -> SourceThrottle: ...

    def account_listings(self) -> list[AccountListing]: ...

    def parties(self) -> list[Party]: ...

    def failed_signins(self, since: datetime, limit: int) -> list[FailedSignIns]: ...


class AccountWriteTransaction(AccountReadTransaction, Protocol):
    def add_party(self, name: str, user_ids: Collection[str], at: datetime) -> Party: ...

    def add_user_ids(self, party: Party, user_ids: Collection[str]) -> None: ...

    def remove_user_id(self, party: Party, user_id: str) -> bool: ...

    def add_account(self, username: str, role: Role, party: Party | None, password_hash: str, at: datetime) -> int: ...

    def lock_credentials(self, username: str) -> StoredCredentials | None: ...

    def set_password_hash(self, account_id: int, password_hash: str) -> None: ...

    def set_disabled(self, account_id: int, disabled_at: datetime | None) -> None: ...

    def set_role_and_party(self, account_id: int, role: Role, party: Party | None) -> None: ...

    def set_throttle(self, username: str, source: str, throttle: SourceThrottle) -> None: ...

    def clear_throttles(self, username: str, source: str | None = None) -> int: ...

    def count_failed_signin(self, source: str, kind: str, at: datetime) -> None: ...

    def forget_signin_records(self, throttles_before: datetime, failures_before: datetime) -> int: ...

    def move_audit_cutoff(self, cutoff: datetime) -> None: ...

    def delete_audit_before(self, cutoff: datetime) -> int: ...

    def add_session(self, session_digest: bytes, account_id: int, csrf_token: str, at: datetime) -> None: ...

    def touch_session(self, session_digest: bytes, at: datetime) -> None: ...

    def delete_session(self, session_digest: bytes) -> None: ...

    def delete_sessions_of(self, account_id: int) -> int: ...

    def delete_sessions_seen_before(self, moment: datetime) -> int: ...

    def append_audit(self, entry: AuditEntry, at: datetime) -> None: ...


class AccountStore(Protocol):
    """Where parties, accounts and sessions live; hands out transactions."""

    def write(self) -> AbstractContextManager[AccountWriteTransaction]: ...

    def read(self) -> AbstractContextManager[AccountReadTransaction]: ...
