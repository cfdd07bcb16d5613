"""Reset by DCC use case (SPEC §5.4): append the reset event and audit who, when, why and what it replaced."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from fdtrack.domain.derivation import absorb
from fdtrack.domain.identifiers import parse_device_id, parse_service_request_id
from fdtrack.domain.reset import (
    RecordSummary,
    ResetRule,
    choose_record_to_reset,
    reset_event,
    reset_rule,
    validate_reset_reason,
)
from fdtrack.domain.statuses import CompletionStatus, ProcessingStatus
from fdtrack.services.account_ports import AccountStore
from fdtrack.services.ports import AuditEntry, HistoryEntry, RecordDelta, Store, StoredRecord
from fdtrack.services.retry import run_with_retries


@dataclass(frozen=True, slots=True)
class ResetOutcome:
    service_request_id: str
    device_id: str
    replaced_status: ProcessingStatus
    reset_at: datetime
    forced: bool = False  # the record was not In Progress: reset only because the operator forced it


def reset_device(
    store: Store,
    device_id: str,
    reason: str,
    operator: str,
    request_id: str | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    channel: str = "cli",
    *,
    force: bool = False,
) -> ResetOutcome:
    """Reset the device's In Progress record (or the named one); NothingToReset says why when there is none.

    A named record that is not In Progress is reset only with `force` (ResetNeedsForce otherwise);
    one already Reset by DCC never. `channel` (cli, screen, api) is written to the audit entry beside
    who, when, why, the status replaced and whether the reset was forced.
    """
    device = parse_device_id(device_id, "device_id")
    named = parse_service_request_id(request_id, "request_id") if request_id else None
    why = validate_reset_reason(reason)

    def attempt() -> ResetOutcome:
        now = clock()
        with store.write() as tx:
            records = {record.key: record for record in tx.lock_device_records([device])}
            summaries = [_summary(record) for record in records.values()]
            chosen = choose_record_to_reset(device, summaries, named, force=force)
            record = records[(str(chosen.request_id), device)]
            event = reset_event(chosen, why, now)
            tx.merge_records([RecordDelta(record.request_id, device, absorb(None, event), now)])
            tx.insert_events([(record.record_id, event, event.content_digest)], now)
            forced = reset_rule(chosen.current_status) is ResetRule.FORCED_ONLY
            outcome = ResetOutcome(str(chosen.request_id), device, chosen.current_status, now, forced)
            tx.append_audit(
                AuditEntry(
                    actor=operator,
                    action="reset",
                    subject=f"{outcome.service_request_id} {device}",
                    detail={
                        "reason": why,
                        "replaced_status": chosen.current_status.value,
                        "replaced_completion": chosen.completion.value,
                        "forced": forced,
                        "channel": channel,
                    },
                ),
                now,
            )
            return outcome

    return run_with_retries(attempt)


@dataclass(frozen=True, slots=True)
class ResetPreview:
    """What a reset would do, for the operator to confirm: the record it would reset, whose it is,
    where it stands and how it got there, and the reason."""

    service_request_id: str
    device_id: str
    originator: str  # the User ID that sent the request
    party: str | None  # the party owning that User ID, if one is registered
    current_status: ProcessingStatus
    completion_status: CompletionStatus
    history: tuple[HistoryEntry, ...]
    reason: str

    @property
    def owner(self) -> str:
        """Whose record this is, as the confirmation shows it."""
        return self.party if self.party is not None else f"no party registered for User ID {self.originator}"

    @property
    def needs_force(self) -> bool:
        """The record is not In Progress: the operator must confirm (force) the reset explicitly."""
        return reset_rule(self.current_status) is ResetRule.FORCED_ONLY


def preview_reset(
    store: Store,
    accounts: AccountStore,
    device_id: str,
    reason: str,
    request_id: str | None = None,
    *,
    force: bool = False,
) -> ResetPreview:
    """Check a reset could be done as asked, changing nothing (the confirmation step of the screen).

    Refuses what `reset_device` with the same arguments would refuse; a confirmation page that asks
    for the extra confirmation itself previews with `force` and shows `needs_force`."""
    device = parse_device_id(device_id, "device_id")
    named = parse_service_request_id(request_id, "request_id") if request_id else None
    why = validate_reset_reason(reason)
    with store.read() as tx:
        records = {record.key: record for record in tx.records_by_device(device, None)}
        chosen = choose_record_to_reset(device, [_summary(r) for r in records.values()], named, force=force)
        record = records[(str(chosen.request_id), device)]
        history = tx.history_entries([record.record_id]).get(record.record_id, [])
    with accounts.read() as account_tx:
        party = account_tx.party_by_user_id(chosen.request_id.originator)
    return ResetPreview(
        service_request_id=str(chosen.request_id),
        device_id=device,
        originator=chosen.request_id.originator,
        party=party.name if party is not None else None,
        current_status=chosen.current_status,
        completion_status=chosen.completion,
        history=tuple(history),
        reason=why,
    )


def _summary(record: StoredRecord) -> RecordSummary:
    state = record.state
    return RecordSummary(record.request_id, record.device_id, state.completion, state.started_at, state.current.status)
