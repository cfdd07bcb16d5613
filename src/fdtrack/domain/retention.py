"""Retention (SPEC §6): when a record becomes deletable and which records a purge removes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from fdtrack.domain.errors import InvalidInput

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


def check_purge_moment(
    as_of: datetime, now: datetime, *, forced: bool, field: str = "as_of", how_to_force: str = "force it to do so"
) -> None:
    """A purge as of a moment still to come deletes records that are within their retention period
    today: a typing slip of one digit in the year could empty the database. It must be forced."""
    if as_of > now and not forced:
        raise InvalidInput(
            field,
            f"{as_of.isoformat()} is later than now ({now.isoformat(timespec='seconds')}): a purge as of a future "
            f"time deletes records still within their retention period; {how_to_force}",
        )
