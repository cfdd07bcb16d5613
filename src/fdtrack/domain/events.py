"""Tracking events and their validation, including the derived event_id (SPEC §5)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from json.encoder import encode_basestring_ascii

from fdtrack.domain.device_types import ALL_TRACKED, DeviceType, parse_device_type
from fdtrack.domain.errors import InvalidInput
from fdtrack.domain.identifiers import ServiceRequestId, parse_device_id, parse_service_request_id
from fdtrack.domain.statuses import ProcessingStatus
from fdtrack.domain.text import require_storable
from fdtrack.domain.timestamps import format_rfc3339, parse_rfc3339

MAX_FUTURE = timedelta(hours=24)
MAX_EVENT_ID = 128
MAX_REASON = 512
MAX_FIRMWARE_VERSION = 8
FIELDS = ("event_id", "request_id", "device_id", "status", "occurred_at", "reason", "firmware_version", "device_type")


@dataclass(frozen=True, slots=True)
class TrackingEvent:
    """One device of one request reached one Processing Status at a moment."""

    event_id: str
    request_id: ServiceRequestId | None
    device_id: str
    status: ProcessingStatus
    occurred_at: datetime
    reason: str = ""
    firmware_version: str | None = None
    device_type: DeviceType | None = None

    @property
    def content_digest(self) -> bytes:
        """SHA-256 of the canonical content; two events with one event_id are duplicates iff it matches."""
        return content_digest(
            self.request_id,
            self.device_id,
            self.status,
            self.occurred_at,
            self.reason,
            self.firmware_version,
            self.device_type,
        )

    def attached_to(self, request_id: ServiceRequestId) -> TrackingEvent:
        """The same event, attached to the request it was correlated with (§5.3)."""
        return replace(self, request_id=request_id)


def content_digest(
    request_id: ServiceRequestId | None,
    device_id: str,
    status: ProcessingStatus,
    occurred_at: datetime,
    reason: str,
    firmware_version: str | None,
    device_type: DeviceType | None,
) -> bytes:
    """Hash the canonical values, encoded as a JSON array so no two different contents share an encoding.

    The array is the text `json.dumps(parts, separators=(",", ":"))` writes, joined here from json's
    own string encoder: every part is text, and json.dumps sets up a new encoder on each call, which
    cost more than the hashing on the ingestion hot path."""
    parts = (
        str(request_id) if request_id else "",
        device_id,
        status.value,
        format_rfc3339(occurred_at),
        reason,
        firmware_version or "",
        device_type.value if device_type else "",
    )
    encoded = "[" + ",".join(map(encode_basestring_ascii, parts)) + "]"
    return hashlib.sha256(encoded.encode()).digest()


def validate_event(
    raw: Mapping[str, object],
    *,
    now: datetime,
    tracked: frozenset[DeviceType] = ALL_TRACKED,
) -> TrackingEvent:
    """Turn one raw event (as read from JSON or CSV) into a TrackingEvent or raise InvalidInput."""
    return validate_event_with_digest(raw, now=now, tracked=tracked)[0]


def validate_event_with_digest(
    raw: Mapping[str, object],
    *,
    now: datetime,
    tracked: frozenset[DeviceType] = ALL_TRACKED,
) -> tuple[TrackingEvent, bytes]:
    """Validate an event and return its content digest too, so ingestion hashes each event once."""
    status = ProcessingStatus.parse(raw.get("status"))
    device_id = parse_device_id(raw.get("device_id"))
    request_id = _optional_request_id(raw.get("request_id"), status)
    occurred_at = parse_rfc3339(raw.get("occurred_at"), "occurred_at")
    if occurred_at > now + MAX_FUTURE:
        raise InvalidInput("occurred_at", f"{format_rfc3339(occurred_at)} is more than 24 hours in the future")
    reason = _optional_text(raw.get("reason"), "reason", MAX_REASON, allow_empty=True) or ""
    firmware_version = _optional_text(raw.get("firmware_version"), "firmware_version", MAX_FIRMWARE_VERSION)
    device_type_raw = raw.get("device_type")
    device_type = None if _absent(device_type_raw) else parse_device_type(device_type_raw, tracked)
    digest = content_digest(request_id, device_id, status, occurred_at, reason, firmware_version, device_type)
    event_id = _event_id(raw.get("event_id")) or digest.hex()
    event = TrackingEvent(event_id, request_id, device_id, status, occurred_at, reason, firmware_version, device_type)
    return event, digest


def _absent(value: object) -> bool:
    return value is None or (isinstance(value, str) and value == "")


def _optional_request_id(value: object, status: ProcessingStatus) -> ServiceRequestId | None:
    if _absent(value) or (isinstance(value, str) and not value.strip()):
        if status.may_omit_request:
            return None
        raise InvalidInput(
            "request_id", f"is required for status {status.value!r} (only HAN and activation events may omit it)"
        )
    return parse_service_request_id(value)


def _optional_text(value: object, field: str, limit: int, *, allow_empty: bool = False) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput(field, "must be a text value")
    require_storable(value, field)
    if value == "" and not allow_empty:
        return None
    if len(value) > limit:
        raise InvalidInput(field, f"is {len(value)} characters long, at most {limit} are allowed")
    return value


def _event_id(value: object) -> str | None:
    if _absent(value):
        return None
    if not isinstance(value, str):
        raise InvalidInput("event_id", "must be a text value of 1-128 printable characters")
    if len(value) > MAX_EVENT_ID:
        raise InvalidInput("event_id", f"is {len(value)} characters long, at most {MAX_EVENT_ID} are allowed")
    if not value.isprintable():
        raise InvalidInput("event_id", "must contain only printable characters")
    return value
