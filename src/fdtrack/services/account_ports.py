"""Ports the party, account and sign-in use cases need, declared as Protocols that adapters implement."""

from __future__ import annotations

from collections.abc import Collection
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from fdtrack.domain.accounts import Account, Party, Role
from fdtrack.domain.lockout import LoginAttempts
from fdtrack.services.ports import AuditEntry


@dataclass(frozen=True, slots=True)
class StoredCredentials:
    """What sign-in needs to know of an account: who it is, its password hash and its failed attempts."""

    account: Account
    password_hash: str
    attempts: LoginAttempts


@dataclass(frozen=True, slots=True)
class StoredSession:
    """A signed-in session: whose it is, its anti-CSRF token and when it was made and last used."""

    account: Account
    csrf_token: str
    created_at: datetime
    last_seen_at: datetime


class PasswordHasher(Protocol):
    """One-way password hashing (argon2id in production)."""

    def hash(self, password: str) -> str: ...

    def verify(self, password_hash: str, password: str) -> bool: ...

    def needs_rehash(self, password_hash: str) -> bool: ...


class AccountReadTransaction(Protocol):
    def credentials(self, username: str) -> StoredCredentials | None: ...

    def session(self, session_digest: bytes) -> StoredSession | None: ...

    def party_by_name(self, name: str) -> Party | None: ...

    def party_by_user_id(self, user_id: str) -> Party | None:
        """The party that owns this User ID (a request's originator), if any."""
        ...

    def account_by_username(self, username: str) -> Account | None: ...


class AccountWriteTransaction(AccountReadTransaction, Protocol):
    def add_party(self, name: str, user_ids: Collection[str], at: datetime) -> Party: ...

    def add_account(self, username: str, role: Role, party: Party | None, password_hash: str, at: datetime) -> int: ...

    def lock_credentials(self, username: str) -> StoredCredentials | None: ...

    def set_login_attempts(self, account_id: int, attempts: LoginAttempts) -> None: ...

    def set_password_hash(self, account_id: int, password_hash: str) -> None: ...

    def add_session(self, session_digest: bytes, account_id: int, csrf_token: str, at: datetime) -> None: ...

    def touch_session(self, session_digest: bytes, at: datetime) -> None: ...

    def delete_session(self, session_digest: bytes) -> None: ...

    def delete_sessions_seen_before(self, moment: datetime) -> int: ...

    def append_audit(self, entry: AuditEntry, at: datetime) -> None: ...


class AccountStore(Protocol):
    """Where parties, accounts and sessions live; hands out transactions."""

    def write(self) -> AbstractContextManager[AccountWriteTransaction]: ...

    def read(self) -> AbstractContextManager[AccountReadTransaction]: ...
