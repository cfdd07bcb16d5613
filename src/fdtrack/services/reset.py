"""Reset by DCC use case (SPEC §5.4): append the reset event and audit who, when, why and what it replaced."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from fdtrack.domain.derivation import absorb
from fdtrack.domain.identifiers import parse_device_id, parse_service_request_id
from fdtrack.domain.reset import RecordSummary, choose_record_to_reset, reset_event, validate_reset_reason
from fdtrack.domain.statuses import ProcessingStatus
from fdtrack.services.ports import AuditEntry, RecordDelta, Store, StoredRecord
from fdtrack.services.retry import run_with_retries


@dataclass(frozen=True, slots=True)
class ResetOutcome:
    service_request_id: str
    device_id: str
    replaced_status: ProcessingStatus
    reset_at: datetime


def reset_device(
    store: Store,
    device_id: str,
    reason: str,
    operator: str,
    request_id: str | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    channel: str = "cli",
) -> ResetOutcome:
    """Reset the device's In Progress record (or the named one); NothingToReset says why when there is none.

    `channel` (cli, screen, api) is written to the audit entry beside who, when, why and what was replaced.
    """
    device = parse_device_id(device_id, "device_id")
    named = parse_service_request_id(request_id, "request_id") if request_id else None
    why = validate_reset_reason(reason)

    def attempt() -> ResetOutcome:
        now = clock()
        with store.write() as tx:
            records = {record.key: record for record in tx.lock_device_records([device])}
            summaries = [_summary(record) for record in records.values()]
            chosen = choose_record_to_reset(device, summaries, named)
            record = records[(str(chosen.request_id), device)]
            event = reset_event(chosen, why, now)
            tx.merge_records([RecordDelta(record.request_id, device, absorb(None, event), now)])
            tx.insert_events([(record.record_id, event, event.content_digest)], now)
            outcome = ResetOutcome(str(chosen.request_id), device, chosen.current_status, now)
            tx.append_audit(
                AuditEntry(
                    actor=operator,
                    action="reset",
                    subject=f"{outcome.service_request_id} {device}",
                    detail={"reason": why, "replaced_status": chosen.current_status.value, "channel": channel},
                ),
                now,
            )
            return outcome

    return run_with_retries(attempt)


@dataclass(frozen=True, slots=True)
class ResetPreview:
    """What a reset would do, for the operator to confirm: the record it would reset and the reason."""

    service_request_id: str
    device_id: str
    current_status: ProcessingStatus
    reason: str


def preview_reset(store: Store, device_id: str, reason: str, request_id: str | None = None) -> ResetPreview:
    """Check a reset could be done as asked, changing nothing (the confirmation step of the screen)."""
    device = parse_device_id(device_id, "device_id")
    named = parse_service_request_id(request_id, "request_id") if request_id else None
    why = validate_reset_reason(reason)
    with store.read() as tx:
        summaries = [_summary(record) for record in tx.records_by_device(device, None)]
    chosen = choose_record_to_reset(device, summaries, named)
    return ResetPreview(str(chosen.request_id), device, chosen.current_status, why)


def _summary(record: StoredRecord) -> RecordSummary:
    state = record.state
    return RecordSummary(record.request_id, record.device_id, state.completion, state.started_at, state.current.status)
