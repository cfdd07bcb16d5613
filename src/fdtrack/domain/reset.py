"""Reset by DCC (SPEC §5.4): choosing the record to reset and the event that resets it."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

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


class ResetRule(Enum):
    """What a reset may do to a record with a given Current Status (§5.4, v2)."""

    ALLOWED = "allowed"  # In Progress: reset on the operator's word
    FORCED_ONLY = "forced only"  # not In Progress: only when named and confirmed (forced)
    NEVER = "never"  # already Reset by DCC: nothing left to reset


def reset_rule(status: ProcessingStatus) -> ResetRule:
    """The one place that says which statuses a reset may replace, and which of them need forcing."""
    if status is ProcessingStatus.RESET_BY_DCC:
        return ResetRule.NEVER
    if status.completion is CompletionStatus.IN_PROGRESS:
        return ResetRule.ALLOWED
    return ResetRule.FORCED_ONLY


class ResetNeedsForce(NothingToReset):
    """The named record is not In Progress: it is reset only when the operator forces the reset (§5.4, v2).

    The message says what the record is; `explain` adds how to force in the words of one interface
    (a command-line option, an API field, a confirmation on the screen)."""

    def __init__(self, record: RecordSummary) -> None:
        self.record = record
        self.situation = (
            f"the record for device {record.device_id} in request {record.request_id} is "
            f"{record.completion.value} ({record.current_status.value})"
        )
        super().__init__(self.explain("force the reset"))

    def explain(self, how_to_force: str) -> str:
        """The message with the interface's own way of forcing, e.g. explain("add --force")."""
        return f"{self.situation}; {how_to_force} to reset a record that is not In Progress"


def choose_record_to_reset(
    device_id: str, records: Sequence[RecordSummary], request_id: ServiceRequestId | None, *, force: bool = False
) -> RecordSummary:
    """The record a reset applies to, or NothingToReset saying why there is none.

    Without a named request: the latest In Progress record. A named record is reset unless it is
    already Reset by DCC; when it is not In Progress, only if `force` (ResetNeedsForce otherwise)."""
    if request_id is None:
        chosen = latest_in_progress(records)
        if chosen is None:
            raise NothingToReset(
                f"no firmware distribution in progress for device {device_id}; "
                "name a record's Service Request ID to reset a record that is not In Progress"
            )
        return chosen
    named = next((r for r in records if r.request_id == request_id), None)
    if named is None:
        raise NothingToReset(f"no firmware distribution record for device {device_id} in request {request_id}")
    rule = reset_rule(named.current_status)
    if rule is ResetRule.NEVER:
        raise NothingToReset(
            f"the record for device {device_id} in request {request_id} is already Reset by DCC "
            "and cannot be reset again"
        )
    if rule is ResetRule.FORCED_ONLY and not force:
        raise ResetNeedsForce(named)
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
