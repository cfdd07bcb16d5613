"""Retention (SPEC §6): a record may be deleted once its newest event is older than the period."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from fdtrack.domain.retention import DEFAULT_RETENTION_DAYS, RetentionPolicy

LAST_RECEIVED = datetime(2026, 11, 5, 14, 3, 22, tzinfo=UTC)


def test_the_default_retention_is_30_days() -> None:
    assert DEFAULT_RETENTION_DAYS == 30
    assert RetentionPolicy().period == timedelta(days=30)


def test_a_record_is_available_until_its_newest_receipt_plus_the_period() -> None:
    assert RetentionPolicy().available_until(LAST_RECEIVED) == datetime(2026, 12, 5, 14, 3, 22, tzinfo=UTC)
    assert RetentionPolicy(days=7).available_until(LAST_RECEIVED) == datetime(2026, 11, 12, 14, 3, 22, tzinfo=UTC)


def test_the_purge_cutoff_is_the_period_before_the_purge_time() -> None:
    as_of = datetime(2026, 12, 5, 14, 3, 22, tzinfo=UTC)
    assert RetentionPolicy().cutoff(as_of) == LAST_RECEIVED
    assert RetentionPolicy(days=1).cutoff(as_of) == datetime(2026, 12, 4, 14, 3, 22, tzinfo=UTC)


def test_a_record_is_kept_until_its_available_until_moment_and_expires_after_it() -> None:
    policy = RetentionPolicy()
    until = policy.available_until(LAST_RECEIVED)
    assert policy.cutoff(until) <= LAST_RECEIVED
    assert policy.cutoff(until + timedelta(microseconds=1)) > LAST_RECEIVED


# Any moment of a century, to the microsecond.
moments = st.integers(min_value=0, max_value=100 * 365 * 86_400 * 10**6).map(
    lambda micros: datetime(2000, 1, 1, tzinfo=UTC) + timedelta(microseconds=micros)
)


@settings(max_examples=100, deadline=None)
@given(
    st.integers(min_value=1, max_value=3650),
    moments,
    moments,
)
def test_expired_at_a_moment_exactly_when_that_moment_is_past_available_until(
    days: int, last_received: datetime, as_of: datetime
) -> None:
    policy = RetentionPolicy(days=days)
    assert (last_received < policy.cutoff(as_of)) == (as_of > policy.available_until(last_received))
