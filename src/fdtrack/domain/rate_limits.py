"""Rate limits: how many attempts a key (an address, a name, an API token) may make in a window."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from fdtrack.domain.errors import FdtrackError, InvalidInput

_RULE = re.compile(r"\s*(\d{1,9})\s*(?:/|per)\s*(\d{0,6})\s*(second|minute|hour|day)s?\s*")
_SECONDS = {"second": 1, "minute": 60, "hour": 3_600, "day": 86_400}


@dataclass(frozen=True, slots=True)
class RateRule:
    """At most `amount` attempts per `seconds` for each key of the rule's `name`."""

    name: str
    amount: int
    seconds: int

    @classmethod
    def parse(cls, name: str, text: str) -> RateRule:
        """'30/minute', '600 per 10 minutes', '5/second': as an operator writes it in FDTRACK_* settings."""
        found = _RULE.fullmatch(text.lower())
        if found is None:
            raise InvalidInput(name, f"{text[:40]!r} is not a rate, expected e.g. 30/minute or 100 per 10 minutes")
        amount, count, unit = int(found.group(1)), int(found.group(2) or 1), found.group(3)
        if amount < 1 or count < 1:
            raise InvalidInput(name, "must allow at least one attempt in a window of at least one second")
        return cls(name, amount, count * _SECONDS[unit])

    def __str__(self) -> str:
        return f"{self.amount} per {self.seconds} seconds"


class RateLimited(FdtrackError):
    """Too many attempts: the client is told how many seconds to wait (HTTP 429 with Retry-After)."""

    def __init__(self, message: str, retry_after_seconds: float) -> None:
        super().__init__(message)
        # Whole seconds, at least one: Retry-After takes an integer, and 0 would invite an instant retry.
        self.retry_after = max(1, math.ceil(retry_after_seconds))
