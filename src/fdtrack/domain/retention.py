"""Retention (SPEC §6): when a record becomes deletable and which records a purge removes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

DEFAULT_RETENTION_DAYS = 30


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    """Records are deleted once their newest received_at is older than the retention period."""

    days: int = DEFAULT_RETENTION_DAYS

    @property
    def period(self) -> timedelta:
        return timedelta(days=self.days)

    def available_until(self, last_received_at: datetime) -> datetime:
        """The moment from which the record may be deleted."""
        return last_received_at + self.period

    def cutoff(self, as_of: datetime) -> datetime:
        """Records whose newest received_at is before this moment are expired at `as_of`."""
        return as_of - self.period
