"""Sign-in use cases: check a password with lock-out, open, resume and close a session (audited)."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from fdtrack.domain.accounts import MAX_PASSWORD_LENGTH, Account, SignInRefused, validate_username
from fdtrack.domain.errors import InvalidInput
from fdtrack.domain.lockout import LoginAttempts
from fdtrack.domain.sessions import SessionPolicy
from fdtrack.domain.text import storable
from fdtrack.services.account_ports import AccountStore, PasswordHasher
from fdtrack.services.lookup import Viewer
from fdtrack.services.ports import AuditEntry

Clock = Callable[[], datetime]


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A live session: the account, what it may see, and the token its forms must carry."""

    account: Account
    csrf_token: str
    session_token: str

    @property
    def viewer(self) -> Viewer:
        return viewer_for(self.account)


def viewer_for(account: Account) -> Viewer:
    """The access rule of §7 as the look-ups apply it: a User sees its party's User IDs, DCC staff all."""
    return Viewer(account.username, account.visible_originators)


class _DummyHash:
    """A hash to verify against when the username is unknown, so both failures take as long."""

    def __init__(self) -> None:
        self.value: str | None = None

    def get(self, hasher: PasswordHasher) -> str:
        if self.value is None:
            self.value = hasher.hash(secrets.token_urlsafe(16))
        return self.value


_dummy = _DummyHash()


def sign_in(
    store: AccountStore,
    hasher: PasswordHasher,
    username: str,
    password: str,
    client: str,
    clock: Clock = _now,
) -> SignedIn:
    """Check the password; five failures in a row lock the account for 15 minutes. One error for every failure."""
    try:
        name = validate_username(username)
    except InvalidInput:
        name = None
    if name is None or not password or len(password) > MAX_PASSWORD_LENGTH:
        _audit_failure(store, storable(username[:64]), client, "malformed", clock())
        raise SignInRefused
    # The slow hash is checked outside any write transaction, so a sign-in never holds the
    # database's write lock while argon2 works; the attempt is then judged on a fresh, locked row.
    with store.read() as rtx:
        seen = rtx.credentials(name)
    if seen is None or seen.attempts.is_locked(clock()):
        hasher.verify(_dummy.get(hasher), password)
        matches = False
    else:
        matches = hasher.verify(seen.password_hash, password)
    with store.write() as tx:
        now = clock()
        current = tx.lock_credentials(name)
        if current is None:
            tx.append_audit(AuditEntry(name, "login_failed", name, {"client": client, "why": "unknown account"}), now)
        elif current.attempts.is_locked(now):
            tx.append_audit(AuditEntry(name, "login_failed", name, {"client": client, "why": "locked"}), now)
        elif not matches or seen is None or current.password_hash != seen.password_hash:
            attempts = current.attempts.after_failure(now)
            tx.set_login_attempts(current.account.account_id, attempts)
            why = {"client": client, "why": "wrong password", "failed_attempts": attempts.failed}
            tx.append_audit(AuditEntry(name, "login_failed", name, why), now)
            if attempts.locked_until is not None:
                until = attempts.locked_until.isoformat()
                tx.append_audit(AuditEntry(name, "account_locked", name, {"client": client, "until": until}), now)
        else:
            account = current.account
            if current.attempts != LoginAttempts():
                tx.set_login_attempts(account.account_id, current.attempts.after_success())
            if hasher.needs_rehash(current.password_hash):
                tx.set_password_hash(account.account_id, hasher.hash(password))
            session_token, csrf_token = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
            tx.add_session(session_digest(session_token), account.account_id, csrf_token, now)
            tx.append_audit(AuditEntry(name, "login", name, {"client": client}), now)
            return SignedIn(account, csrf_token, session_token)
    # Raised after the commit, so the failed attempt and its audit entries are kept.
    raise SignInRefused


def resume_session(
    store: AccountStore, session_token: str, policy: SessionPolicy, clock: Clock = _now
) -> SignedIn | None:
    """The session a cookie names, if it is still live; idle or too old sessions are ended."""
    if not session_token or len(session_token) > 100:
        return None
    digest = session_digest(session_token)
    now = clock()
    with store.read() as tx:
        stored = tx.session(digest)
    if stored is None:
        return None
    if policy.is_expired(stored.created_at, stored.last_seen_at, now):
        with store.write() as wtx:
            wtx.delete_session(digest)
            wtx.delete_sessions_seen_before(now - policy.idle_timeout)
        return None
    if policy.needs_touch(stored.last_seen_at, now):
        with store.write() as wtx:
            wtx.touch_session(digest, now)
    return SignedIn(stored.account, stored.csrf_token, session_token)


def sign_out(store: AccountStore, signed_in: SignedIn, client: str, clock: Clock = _now) -> None:
    now = clock()
    with store.write() as tx:
        tx.delete_session(session_digest(signed_in.session_token))
        name = signed_in.account.username
        tx.append_audit(AuditEntry(name, "logout", name, {"client": client}), now)


def session_digest(session_token: str) -> bytes:
    return hashlib.sha256(session_token.encode()).digest()


def _audit_failure(store: AccountStore, username: str, client: str, why: str, now: datetime) -> None:
    with store.write() as tx:
        tx.append_audit(
            AuditEntry(username or "-", "login_failed", username or "-", {"client": client, "why": why}), now
        )
