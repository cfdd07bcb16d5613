"""Sign-in use cases: check a password with throttling and rate limits, open, resume and close a session (audited)."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import NoReturn

from fdtrack.domain.accounts import MAX_PASSWORD_LENGTH, Account, SignInRefused, validate_username
from fdtrack.domain.errors import InvalidInput
from fdtrack.domain.rate_limits import RateLimited, RateRule
from fdtrack.domain.sessions import SessionPolicy
from fdtrack.domain.throttle import FORGET_AFTER
from fdtrack.services.account_ports import AccountStore, FailedSignIns, PasswordHasher
from fdtrack.services.lookup import Viewer
from fdtrack.services.ports import AuditEntry
from fdtrack.services.rate_limit_ports import RateLimiter

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


@dataclass(frozen=True, slots=True)
class SignInLimits:
    """Rate limits of sign-in: every attempt from one address, and failures for one name from anywhere."""

    per_source: RateRule = RateRule("signin_per_source", 30, 60)  # noqa: RUF009 - frozen, shared safely
    failures_per_name: RateRule = RateRule("signin_failures_per_name", 20, 3_600)  # noqa: RUF009 - as above


THROTTLED = "Too many sign-in attempts. Wait a little and try again."

# Kinds of failure counted per source and hour instead of one audit entry each (no account to name).
UNKNOWN_ACCOUNT = "unknown account"
MALFORMED_NAME = "malformed name"
REFUSED_EARLY = "throttled"


def sign_in(
    store: AccountStore,
    hasher: PasswordHasher,
    limiter: RateLimiter,
    username: str,
    password: str,
    client: str,
    clock: Clock = _now,
    limits: SignInLimits = SignInLimits(),
) -> SignedIn:
    """Check the password, throttled per source. One error for every failure, RateLimited when throttled.

    Failures from one address for one name make that address wait 1 s, 2 s, 4 s, … (domain/throttle.py)
    before its next try for the name; other addresses are not held up, so the owner still gets in.
    When a name has failed too often from everywhere (`failures_per_name`), addresses that have failed
    for it wait for the window to end; an address with no failure for the name is still let try.
    Known and unknown names are throttled alike, so a refusal reveals nothing about accounts.
    """
    wait = limiter.hit(limits.per_source, client)
    if wait is not None:
        _count_failure(store, client, REFUSED_EARLY, clock())
        raise RateLimited(THROTTLED, wait)
    try:
        name = validate_username(username)
    except InvalidInput:
        name = None
    key = name or ""  # every malformed name from one address shares one throttle
    with store.read() as rtx:
        throttle = rtx.throttle(key, client)
        seen = rtx.credentials(name) if name is not None else None
    now = clock()
    throttled = throttle.wait(now)
    wait = throttled.total_seconds() if throttled is not None else None
    if wait is None and throttle.failures:
        wait = limiter.exhausted(limits.failures_per_name, key)
    if wait is not None:
        _count_failure(store, client, REFUSED_EARLY, now)
        raise RateLimited(THROTTLED, wait)
    if name is None or not password or len(password) > MAX_PASSWORD_LENGTH:
        _fail(store, limiter, limits, key, client, MALFORMED_NAME, clock)
    assert name is not None
    # The slow hash is checked outside any write transaction, so a sign-in never holds the
    # database's write lock while argon2 works; the attempt is then judged on a fresh, locked row.
    if seen is None or seen.account.disabled:
        hasher.verify(_dummy.get(hasher), password)  # the same work whether the account exists or not
        matches = False
    else:
        matches = hasher.verify(seen.password_hash, password)
    with store.write() as tx:
        now = clock()
        current = tx.lock_credentials(name)
        if current is not None and (
            current.account.disabled or not matches or seen is None or current.password_hash != seen.password_hash
        ):
            after = tx.throttle(name, client).after_failure(now)
            tx.set_throttle(name, client, after)
            why = "account disabled" if current.account.disabled else "wrong password"
            detail = {"client": client, "why": why, "failures_from_client": after.failures}
            tx.append_audit(AuditEntry(name, "login_failed", name, detail), now)
        elif current is not None:
            account = current.account
            tx.clear_throttles(name, client)
            if hasher.needs_rehash(current.password_hash):
                tx.set_password_hash(account.account_id, hasher.hash(password))
            session_token, csrf_token = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
            tx.add_session(session_digest(session_token), account.account_id, csrf_token, now)
            tx.append_audit(AuditEntry(name, "login", name, {"client": client}), now)
            return SignedIn(account, csrf_token, session_token)
    if current is None:
        _fail(store, limiter, limits, name, client, UNKNOWN_ACCOUNT, clock)
    # Counted after the commit (the database counter takes a write of its own), so the failure and its
    # audit entry are kept whatever happens to the count.
    limiter.hit(limits.failures_per_name, name)
    raise SignInRefused


def _fail(
    store: AccountStore, limiter: RateLimiter, limits: SignInLimits, key: str, client: str, kind: str, clock: Clock
) -> NoReturn:
    """A failure under a name no account has: throttled like any other, counted per source and hour
    rather than audited one by one, so a flood of made-up names cannot grow the audit log."""
    with store.write() as tx:
        now = clock()
        tx.set_throttle(key, client, tx.throttle(key, client).after_failure(now))
        tx.count_failed_signin(client, kind, now)
    limiter.hit(limits.failures_per_name, key)
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
    if stored is None or stored.account.disabled:
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


def _count_failure(store: AccountStore, client: str, kind: str, now: datetime) -> None:
    with store.write() as tx:
        tx.count_failed_signin(client, kind, now)


def forget_old_signin_records(store: AccountStore, audit_retention: timedelta, clock: Clock = _now) -> int:
    """Housekeeping, hourly in the server: throttles unused for a day, and audit entries and failure
    counts older than the audit log's own retention (FDTRACK_AUDIT_RETENTION_DAYS)."""
    now = clock()
    cutoff = now - audit_retention
    with store.write() as tx:
        forgotten = tx.forget_signin_records(now - FORGET_AFTER, cutoff)
        tx.move_audit_cutoff(cutoff)
        return forgotten + tx.delete_audit_before(cutoff)


def failed_signin_counts(store: AccountStore, since: datetime, limit: int = 1_000) -> list[FailedSignIns]:
    """The counted failures (names no account has, malformed names, attempts refused while throttled),
    newest hour first, busiest address first within an hour."""
    with store.read() as tx:
        return tx.failed_signins(since, limit)
