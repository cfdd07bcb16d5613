"""RFC 3339 timestamps: strict parsing (an offset is required) and the UTC forms fdtrack writes."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from fdtrack.domain.errors import InvalidInput

_RFC3339 = re.compile(
    r"(?P<date>[0-9]{4}-[0-9]{2}-[0-9]{2})[Tt ](?P<time>[0-9]{2}:[0-9]{2}:[0-9]{2})"
    r"(?:\.(?P<fraction>[0-9]+))?(?P<offset>[Zz]|[+-][0-9]{2}:[0-9]{2})?"
)
RFC3339_FORM = "an RFC 3339 timestamp with an offset, e.g. 2026-11-05T14:03:22Z"


def parse_rfc3339(text: object, field: str) -> datetime:
    """Parse an RFC 3339 timestamp with an offset into an aware UTC datetime (microsecond precision)."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput(field, f"is required, expected {RFC3339_FORM}")
    match = _RFC3339.fullmatch(text.strip())
    if match is None:
        raise InvalidInput(field, f"{text.strip()[:40]!r} is not {RFC3339_FORM}")
    if match["offset"] is None:
        raise InvalidInput(
            field, f"{text.strip()[:40]!r} has no offset; naive times are invalid, expected {RFC3339_FORM}"
        )
    offset = "+00:00" if match["offset"] in "Zz" else match["offset"]
    # Python keeps microseconds; finer digits are dropped rather than rounded so no value moves forward.
    fraction = (match["fraction"] or "0")[:6].ljust(6, "0")
    try:
        parsed = datetime.fromisoformat(f"{match['date']}T{match['time']}.{fraction}{offset}")
        # Converting to UTC can leave the calendar (0001-01-01T00:00:00+01:00): an OverflowError, not a crash.
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError) as error:
        raise InvalidInput(field, f"{text.strip()[:40]!r} is not a valid date and time ({error})") from None


def format_rfc3339(moment: datetime) -> str:
    """Format as RFC 3339 in UTC with a 'Z', keeping microseconds only when there are any."""
    utc = moment if moment.tzinfo is UTC else moment.astimezone(UTC)
    # isoformat, unlike strftime("%Y") on glibc, always writes the four-digit year RFC 3339 requires,
    # and writes microseconds only when there are any; an aware UTC time ends in "+00:00".
    return utc.isoformat()[:-6] + "Z"


def format_seconds(moment: datetime) -> str:
    """Format as YYYY-MM-DDTHH:MM:SSZ in UTC (the CSV form, SPEC §8.4)."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds") + "Z"
