"""Retention use case (SPEC §6): drop wholly expired storage, delete the other expired records, audit it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from fdtrack.domain.retention import RetentionPolicy
from fdtrack.services.ports import AuditEntry, RemembersFirmwareRequests, Store

PURGE_BATCH = 5_000  # records per transaction: short enough that look-ups never wait long


def count_expired(store: Store, retention: RetentionPolicy, as_of: datetime) -> int:
    with store.read() as tx:
        return tx.count_expired(retention.cutoff(as_of))


def purge(
    store: Store,
    retention: RetentionPolicy,
    as_of: datetime,
    actor: str,
    on_progress: Callable[[int], None] | None = None,
) -> int:
    """Delete every record expired at `as_of`; returns how many were deleted.

    Whole partitions go first (where the storage has them), at the cost of a catalogue change;
    records expired beside live ones are then deleted row by row in short transactions."""
    cutoff = retention.cutoff(as_of)
    store.prepare_storage(as_of.astimezone(UTC).date())
    in_partitions = store.drop_expired_storage(cutoff)
    if on_progress is not None and in_partitions:
        on_progress(in_partitions)
    deleted = in_partitions
    while True:
        with store.write() as tx:
            count = tx.delete_expired(cutoff, PURGE_BATCH)
        deleted += count
        if on_progress is not None and count:
            on_progress(count)
        if count < PURGE_BATCH:
            break
    detail: dict[str, object] = {"deleted": deleted, "deleted_with_partitions": in_partitions}
    if isinstance(store, RemembersFirmwareRequests):
        detail["firmware_requests_forgotten"] = _forget_firmware_requests(store, cutoff)
    with store.write() as tx:
        tx.append_audit(
            AuditEntry(actor, "purge", f"records last received before {cutoff.isoformat()}", detail),
            as_of,
        )
    return deleted


def _forget_firmware_requests(store: RemembersFirmwareRequests, cutoff: datetime) -> int:
    """DUIS requests go once their records have: a late response must still find its request."""
    registry = store.firmware_requests
    forgotten = 0
    while True:
        count = registry.forget_expired(cutoff, PURGE_BATCH)
        forgotten += count
        if count < PURGE_BATCH:
            return forgotten
