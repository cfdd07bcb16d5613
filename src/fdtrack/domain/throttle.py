"""Sign-in throttling: after failures from one source for one name, that source waits, twice as long each time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

FIRST_DELAY = timedelta(seconds=1)
# A source that has not failed for a name for this long starts again from the first delay.
FORGET_AFTER = timedelta(days=1)
# The cap keeps a person who mistyped a dozen times from waiting for hours; by then a guesser gets
# four tries an hour from each address, and the per-name and per-address rate limits bound the rest.
MAX_DELAY = timedelta(minutes=15)


def delay_after(failures: int) -> timedelta:
    """How long a source waits after its n-th failure in a row for a name: 1 s, 2 s, 4 s, … up to the cap."""
    if failures <= 0:
        return timedelta(0)
    # 2**20 seconds is far beyond the cap: no need to compute larger powers.
    delay: timedelta = FIRST_DELAY * 2 ** min(failures - 1, 20)
    return min(delay, MAX_DELAY)


@dataclass(frozen=True, slots=True)
class SourceThrottle:
    """One source's run of failed sign-ins for one name, and until when its next attempt is refused.

    It is kept per source, never per account alone: failures from elsewhere never stop the account's
    owner, so nobody can keep a known user locked out by failing on purpose.
    """

    failures: int = 0
    blocked_until: datetime | None = None
    last_failed_at: datetime | None = None

    def wait(self, now: datetime) -> timedelta | None:
        """How much longer this source must wait before trying again, or None when it may try now."""
        if self.blocked_until is None or now >= self.blocked_until:
            return None
        return self.blocked_until - now

    def after_failure(self, now: datetime) -> SourceThrottle:
        forgotten = self.last_failed_at is None or now - self.last_failed_at >= FORGET_AFTER
        failures = 1 if forgotten else self.failures + 1
        return SourceThrottle(failures, now + delay_after(failures), now)
