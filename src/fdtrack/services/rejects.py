"""Rejected events: listing them and re-submitting them through ingestion (SPEC §5.2)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import islice

from fdtrack.services.ingest import IngestOptions, IngestSummary, RawEvent, ingest_batch
from fdtrack.services.ports import Store, StoredRejection

RESUBMIT_BATCH = 500
SOURCE_PREFIX = "rejected:"


@dataclass(slots=True)
class ResubmitSummary:
    ingest: IngestSummary
    resolved: int = 0


def list_rejections(store: Store, *, include_resolved: bool = False, limit: int | None = 100) -> list[StoredRejection]:
    with store.read() as tx:
        return tx.rejections(include_resolved=include_resolved, limit=limit, ids=None)


def resubmit(
    store: Store,
    reread: Callable[[StoredRejection, str], Iterable[RawEvent]],
    options: IngestOptions,
    ids: Collection[int] | None = None,
) -> ResubmitSummary:
    """Ingest kept rejections again; those that now go through are marked resolved.

    Events are stored before their rejection is resolved, so a crash in between leaves the
    rejection open and a second run finds its events duplicates and resolves it then.
    """
    summary = ResubmitSummary(IngestSummary())
    with store.read() as reader:
        pending: Iterator[StoredRejection] = reader.iter_rejections(ids=ids)
        while batch := list(islice(pending, RESUBMIT_BATCH)):
            raw_events = [raw for stored in batch for raw in reread(stored, f"{SOURCE_PREFIX}{stored.rejection_id}")]
            outcome = ingest_batch(store, raw_events, options)
            summary.ingest.add(outcome)
            # Rejected again for the same reason: the kept row is the same one and stays open. For
            # another reason a new row now holds it, so the old one is resolved as superseded.
            still_open = {(_rejection_id(source), reason) for source, reason in outcome.errors}
            solved = [s.rejection_id for s in batch if (s.rejection_id, s.rejection.reason) not in still_open]
            with store.write() as tx:
                tx.resolve_rejections(solved, datetime.now(UTC))
            summary.resolved += len(solved)
    return summary


def _rejection_id(source: str) -> int:
    return int(source.removeprefix(SOURCE_PREFIX).split(":", 1)[0])
