"""The lock-out rule and session expiry, as pure functions of time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fdtrack.domain.lockout import LOCK_DURATION, MAX_FAILED_ATTEMPTS, LoginAttempts
from fdtrack.domain.sessions import SessionPolicy

NOW = datetime(2026, 11, 5, 14, 0, tzinfo=UTC)


def test_five_failures_in_a_row_lock_the_account_for_fifteen_minutes() -> None:
    attempts = LoginAttempts()
    for number in range(1, MAX_FAILED_ATTEMPTS):
        attempts = attempts.after_failure(NOW)
        assert attempts.failed == number
        assert not attempts.is_locked(NOW)
    attempts = attempts.after_failure(NOW)
    assert attempts.is_locked(NOW)
    assert attempts.is_locked(NOW + LOCK_DURATION - timedelta(seconds=1))
    assert not attempts.is_locked(NOW + LOCK_DURATION)
    assert timedelta(minutes=15) == LOCK_DURATION


def test_a_success_clears_the_count_of_failures() -> None:
    attempts = LoginAttempts().after_failure(NOW).after_failure(NOW)
    assert attempts.after_success() == LoginAttempts()


def test_after_a_lock_expires_it_takes_five_more_failures_to_lock_again() -> None:
    locked = LoginAttempts(MAX_FAILED_ATTEMPTS - 1).after_failure(NOW)
    later = NOW + LOCK_DURATION + timedelta(minutes=1)
    again = locked.after_failure(later)
    assert not again.is_locked(later)
    assert again.failed == 1


def test_a_session_ends_after_its_idle_timeout_or_its_lifetime() -> None:
    policy = SessionPolicy(idle_timeout=timedelta(minutes=30), max_lifetime=timedelta(hours=12))
    assert not policy.is_expired(NOW, NOW, NOW + timedelta(minutes=29))
    assert policy.is_expired(NOW, NOW, NOW + timedelta(minutes=30))
    created = NOW - timedelta(hours=12)
    assert policy.is_expired(created, NOW, NOW)


def test_a_session_is_touched_at_most_once_a_minute() -> None:
    policy = SessionPolicy()
    assert not policy.needs_touch(NOW, NOW + timedelta(seconds=59))
    assert policy.needs_touch(NOW, NOW + timedelta(minutes=1))
