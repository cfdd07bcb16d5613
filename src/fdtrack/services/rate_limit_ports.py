"""The rate-limit port: counts shared by every server process (in the database, or Redis when configured)."""

from __future__ import annotations

from typing import Protocol

from fdtrack.domain.rate_limits import RateRule


class RateLimiter(Protocol):
    def hit(self, rule: RateRule, key: str) -> float | None:
        """Count one attempt; None when within the rule, else the seconds until the window lets it through."""
        ...

    def exhausted(self, rule: RateRule, key: str) -> float | None:
        """Without counting: None when another attempt would be within the rule, else the seconds to wait."""
        ...

    def clear(self, rule: RateRule, key: str) -> None: ...

    def forget_expired(self) -> int:
        """Housekeeping: drop counters whose window has ended (storages that expire keys themselves do nothing)."""
        ...
