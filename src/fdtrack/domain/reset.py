"""Reset by DCC (SPEC §5.4): choosing the record to reset and the event that resets it."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from fdtrack.domain.errors import InvalidInput, NothingToReset
from fdtrack.domain.events import MAX_REASON, TrackingEvent
from fdtrack.domain.identifiers import ServiceRequestId
from fdtrack.domain.statuses import CompletionStatus, ProcessingStatus
from fdtrack.domain.text import require_storable


@dataclass(frozen=True, slots=True)
class RecordSummary:
    """What correlation and reset need to know of one of a device's records."""

    request_id: ServiceRequestId
    device_id: str
    completion: CompletionStatus
    started_at: datetime
    current_status: ProcessingStatus


# A re-sent 11.3 or a retried HAN transfer can still succeed after these failures (§5.3, v2).
RETRYABLE_FAILURES = frozenset({ProcessingStatus.NOT_DELIVERED_AT_HAN, ProcessingStatus.ACTIVATION_FAILED})


def latest_in_progress(records: Sequence[RecordSummary]) -> RecordSummary | None:
    """The In Progress record that started most recently (the record a reset takes by default, §5.4)."""
    return _latest(r for r in records if r.completion is CompletionStatus.IN_PROGRESS)


def record_for_device_alert(records: Sequence[RecordSummary]) -> RecordSummary | None:
    """The record an event without a request attaches to (§5.3): the one started most recently among
    those In Progress or whose HAN transfer or activation failed; never a Complete or reset one."""
    return _latest(
        r for r in records if r.completion is CompletionStatus.IN_PROGRESS or r.current_status in RETRYABLE_FAILURES
    )


def _latest(records: Iterable[RecordSummary]) -> RecordSummary | None:
    return max(records, key=lambda r: (r.started_at, str(r.request_id)), default=None)


def validate_reset_reason(reason: object) -> str:
    """The operator's reason is mandatory: 1-512 characters, not only white space."""
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidInput("reason", "is required: say why the device is being reset")
    if len(reason) > MAX_REASON:
        raise InvalidInput("reason", f"is {len(reason)} characters long, at most {MAX_REASON} are allowed")
    return require_storable(reason, "reason").strip()


def choose_record_to_reset(
    device_id: str, records: Sequence[RecordSummary], request_id: ServiceRequestId | None
) -> RecordSummary:
    """The record a reset applies to, or NothingToReset saying why there is none."""
    if request_id is None:
        chosen = latest_in_progress(records)
        if chosen is None:
            raise NothingToReset(f"no firmware distribution in progress for device {device_id}")
        return chosen
    named = next((r for r in records if r.request_id == request_id), None)
    if named is None:
        raise NothingToReset(f"no firmware distribution record for device {device_id} in request {request_id}")
    if named.completion is not CompletionStatus.IN_PROGRESS:
        raise NothingToReset(
            f"the record for device {device_id} in request {request_id} is {named.completion.value} "
            f"({named.current_status.value}), only an In Progress record can be reset"
        )
    return named


def reset_event(record: RecordSummary, reason: str, now: datetime) -> TrackingEvent:
    """The Reset by DCC event appended to the chosen record; a fresh id so every reset is kept."""
    return TrackingEvent(
        event_id=f"reset-{uuid.uuid4().hex}",
        request_id=record.request_id,
        device_id=record.device_id,
        status=ProcessingStatus.RESET_BY_DCC,
        occurred_at=now,
        reason=reason,
    )
