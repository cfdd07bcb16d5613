"""The sign-in throttle, rate rules and session expiry, as pure functions of time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from fdtrack.domain.errors import InvalidInput
from fdtrack.domain.rate_limits import RateLimited, RateRule
from fdtrack.domain.sessions import SessionPolicy
from fdtrack.domain.throttle import FORGET_AFTER, MAX_DELAY, SourceThrottle, delay_after

NOW = datetime(2026, 11, 5, 14, 0, tzinfo=UTC)


def test_each_failure_doubles_the_wait_up_to_the_cap() -> None:
    assert [delay_after(n).total_seconds() for n in range(1, 13)] == [
        1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900,
    ]  # fmt: skip
    assert delay_after(10_000) == MAX_DELAY
    assert delay_after(0) == timedelta(0)


def test_a_throttled_source_may_try_again_once_its_wait_has_passed() -> None:
    throttle = SourceThrottle().after_failure(NOW).after_failure(NOW)
    assert throttle.wait(NOW) == timedelta(seconds=2)
    assert throttle.wait(NOW + timedelta(seconds=1)) == timedelta(seconds=1)
    assert throttle.wait(NOW + timedelta(seconds=2)) is None
    assert SourceThrottle().wait(NOW) is None


def test_a_source_quiet_for_a_day_starts_again_from_the_first_delay() -> None:
    throttle = SourceThrottle()
    for _ in range(8):
        throttle = throttle.after_failure(NOW)
    again = throttle.after_failure(NOW + FORGET_AFTER)
    assert again.failures == 1
    assert again.wait(NOW + FORGET_AFTER) == timedelta(seconds=1)


@pytest.mark.parametrize(
    ("text", "amount", "seconds"),
    [("30/minute", 30, 60), ("100 per 10 minutes", 100, 600), ("5/second", 5, 1), ("20/hour", 20, 3600)],
)
def test_rates_are_written_as_an_operator_would(text: str, amount: int, seconds: int) -> None:
    assert RateRule.parse("rate", text) == RateRule("rate", amount, seconds)


@pytest.mark.parametrize("text", ["", "lots", "0/minute", "5/fortnight", "-1/hour"])
def test_a_malformed_rate_names_the_setting(text: str) -> None:
    with pytest.raises(InvalidInput, match="api_rate"):
        RateRule.parse("api_rate", text)


def test_retry_after_is_whole_seconds_and_never_zero() -> None:
    assert RateLimited("x", 0.01).retry_after == 1
    assert RateLimited("x", 2.2).retry_after == 3


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
