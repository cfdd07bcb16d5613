"""The sign-in lock-out rule: after 5 failed attempts an account is locked for 15 minutes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

MAX_FAILED_ATTEMPTS = 5
LOCK_DURATION = timedelta(minutes=15)


@dataclass(frozen=True, slots=True)
class LoginAttempts:
    """An account's run of failed sign-ins since its last success, and any lock in force."""

    failed: int = 0
    locked_until: datetime | None = None

    def is_locked(self, now: datetime) -> bool:
        return self.locked_until is not None and now < self.locked_until

    def after_failure(self, now: datetime) -> LoginAttempts:
        """Count a failure; the fifth in a row locks the account and starts a fresh count."""
        failed = self.failed + 1
        if failed >= MAX_FAILED_ATTEMPTS:
            return LoginAttempts(0, now + LOCK_DURATION)
        return LoginAttempts(failed, None)

    def after_success(self) -> LoginAttempts:
        return LoginAttempts()
