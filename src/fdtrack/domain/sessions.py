"""When a signed-in session ends: after a period of inactivity, and in any case after a working day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

# Recording every request's time would make each page a write; a minute's precision is plenty for
# an idle timeout measured in tens of minutes.
TOUCH_INTERVAL = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class SessionPolicy:
    idle_timeout: timedelta = timedelta(minutes=30)
    max_lifetime: timedelta = timedelta(hours=12)

    def is_expired(self, created_at: datetime, last_seen_at: datetime, now: datetime) -> bool:
        return now - last_seen_at >= self.idle_timeout or now - created_at >= self.max_lifetime

    def needs_touch(self, last_seen_at: datetime, now: datetime) -> bool:
        return now - last_seen_at >= TOUCH_INTERVAL
