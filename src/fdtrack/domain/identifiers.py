"""Device IDs (EUI-64) and Service Request IDs: parsing, validation and canonical form (SPEC §2)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from fdtrack.domain.errors import InvalidInput

_EUI64 = re.compile(r"[0-9A-Fa-f]{16}|[0-9A-Fa-f]{2}(?:-[0-9A-Fa-f]{2}){7}")
_CANONICAL_EUI64 = re.compile(r"[0-9A-F]{2}(?:-[0-9A-F]{2}){7}")
_COUNTER = re.compile(r"[0-9]+")
MAX_COUNTER = 2**64 - 1

EUI64_FORM = "16 hex digits, as 8 pairs joined by '-' or without separators, e.g. 00-DB-12-34-56-78-90-A0"
REQUEST_ID_FORM = (
    "<originator EUI-64>:<target EUI-64>:<counter>, e.g. 90-B3-D5-1F-30-01-00-00:90-B3-D5-1F-30-00-00-02:1000"
)


def canonical_eui64(text: str) -> str | None:
    """Return the canonical EUI-64 (upper case, pairs joined by '-'), or None when malformed."""
    if _CANONICAL_EUI64.fullmatch(text):
        return text  # already canonical: the common case on the ingestion hot path
    candidate = text.strip()
    if not _EUI64.fullmatch(candidate):
        return None
    digits = candidate.replace("-", "").upper()
    return "-".join(digits[i : i + 2] for i in range(0, 16, 2))


def parse_device_id(text: object, field: str = "device_id") -> str:
    """Parse a Device ID, raising InvalidInput that names the field and the expected form."""
    if not isinstance(text, str):
        raise InvalidInput(field, f"must be a text value, expected {EUI64_FORM}")
    if not text.strip():
        raise InvalidInput(field, f"is required, expected {EUI64_FORM}")
    canonical = canonical_eui64(text)
    if canonical is None:
        raise InvalidInput(field, f"{_shown(text)} is not a Device ID, expected {EUI64_FORM}")
    return canonical


@dataclass(frozen=True, slots=True, order=True)
class ServiceRequestId:
    """A DUIS Request ID: the originating User ID, the target and the User's counter."""

    originator: str
    target: str
    counter: int
    # The canonical text, made once: ingestion needs it several times for each event.
    _text: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_text", f"{self.originator}:{self.target}:{self.counter}")

    def __str__(self) -> str:
        return self._text

    @classmethod
    def from_canonical(cls, text: str) -> ServiceRequestId:
        """Rebuild from a canonical form fdtrack itself stored (no re-validation)."""
        originator, target, counter = text.split(":")
        return cls(originator, target, int(counter))


def parse_service_request_id(text: object, field: str = "request_id") -> ServiceRequestId:
    """Parse a Service Request ID, raising InvalidInput that names the field and the expected form."""
    if not isinstance(text, str):
        raise InvalidInput(field, f"must be a text value, expected {REQUEST_ID_FORM}")
    return _parse_request_text(text, field)


# One request names up to 50,000 devices, so its ID arrives again and again: parse each text once.
@lru_cache(maxsize=4096)
def _parse_request_text(text: str, field: str) -> ServiceRequestId:
    if not text.strip():
        raise InvalidInput(field, f"is required, expected {REQUEST_ID_FORM}")
    parts = text.strip().split(":")
    problem = f"{_shown(text)} is not a Service Request ID, expected {REQUEST_ID_FORM}"
    if len(parts) != 3:
        raise InvalidInput(field, problem)
    originator, target = canonical_eui64(parts[0]), canonical_eui64(parts[1])
    if originator is None or target is None or not _COUNTER.fullmatch(parts[2]):
        raise InvalidInput(field, problem)
    # Compare digit counts first: int() refuses very long digit strings with a ValueError of its own.
    digits = parts[2].lstrip("0") or "0"
    if len(digits) > len(str(MAX_COUNTER)) or int(digits) > MAX_COUNTER:
        raise InvalidInput(field, f"counter {_shown(parts[2])} is above the largest allowed, {MAX_COUNTER}")
    counter = int(digits)
    return ServiceRequestId(originator, target, counter)


def _shown(text: str, limit: int = 60) -> str:
    """Quote a user's value for a message, cut short so a huge value cannot flood a log or a page."""
    return repr(text if len(text) <= limit else text[:limit] + "…")
