"""Retention use case (SPEC §6): drop wholly expired storage, delete the other expired records, audit it."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from threading import Lock

from fdtrack.domain.retention import RetentionPolicy
from fdtrack.services.ports import WHOLE, AuditEntry, RemembersFirmwareRequests, Share, Store

PURGE_BATCH = 5_000  # records per transaction: short enough that look-ups never wait long
# Deleting row by row keeps one database process busy; two share the work where writers need not
# take turns. More would take cores from ingestion and look-ups on a small server (docs/scaling.md).
PURGE_WORKERS = 2


def count_expired(store: Store, retention: RetentionPolicy, as_of: datetime) -> int:
    with store.read() as tx:
        return tx.count_expired(retention.cutoff(as_of))


def purge(
    store: Store,
    retention: RetentionPolicy,
    as_of: datetime,
    actor: str,
    on_progress: Callable[[int], None] | None = None,
    workers: int = PURGE_WORKERS,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> int:
    """Delete every record expired at `as_of`; returns how many were deleted.

    Whole partitions go first (where the storage has them), at the cost of a catalogue change;
    records expired beside live ones are then deleted row by row in short transactions, by
    `workers` side by side, each on its own share of the records."""
    cutoff = retention.cutoff(as_of)
    store.prepare_storage(as_of.astimezone(UTC).date())
    report = _serialised(on_progress)
    in_partitions = store.drop_expired_storage(cutoff)
    if in_partitions:
        report(in_partitions)
    parts = workers if store.writes_side_by_side else 1
    if parts == 1:
        row_by_row = _delete_share(store, cutoff, WHOLE, report)
    else:
        with ThreadPoolExecutor(parts, thread_name_prefix="purge") as pool:
            shares = [Share(index, parts) for index in range(parts)]
            row_by_row = sum(pool.map(lambda share: _delete_share(store, cutoff, share, report), shares))
    deleted = in_partitions + row_by_row
    # The entry is written when the purge ran; the moment it applied retention as of is in its detail.
    detail: dict[str, object] = {
        "as_of": as_of.astimezone(UTC).isoformat(),
        "deleted": deleted,
        "deleted_with_partitions": in_partitions,
    }
    if isinstance(store, RemembersFirmwareRequests):
        detail["firmware_requests_forgotten"] = _forget_firmware_requests(store, cutoff)
    with store.write() as tx:
        tx.append_audit(
            AuditEntry(actor, "purge", f"records last received before {cutoff.isoformat()}", detail),
            clock(),
        )
    return deleted


def _delete_share(store: Store, cutoff: datetime, share: Share, report: Callable[[int], None]) -> int:
    """Delete a share's expired records batch by batch, until a batch comes back short."""
    deleted = 0
    while True:
        with store.write() as tx:
            count = tx.delete_expired(cutoff, PURGE_BATCH, share)
        deleted += count
        if count:
            report(count)
        if count < PURGE_BATCH:
            return deleted


def _serialised(on_progress: Callable[[int], None] | None) -> Callable[[int], None]:
    """The progress callback, called by one worker at a time."""
    lock = Lock()

    def report(count: int) -> None:
        if on_progress is not None:
            with lock:
                on_progress(count)

    return report


def _forget_firmware_requests(store: RemembersFirmwareRequests, cutoff: datetime) -> int:
    """DUIS requests go once their records have: a late response must still find its request."""
    registry = store.firmware_requests
    forgotten = 0
    while True:
        count = registry.forget_expired(cutoff, PURGE_BATCH)
        forgotten += count
        if count < PURGE_BATCH:
            return forgotten
