"""The CSV download use case: the records of one search, all rows, fetched page by page, and audited."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from fdtrack.domain.identifiers import parse_service_request_id
from fdtrack.domain.retention import RetentionPolicy
from fdtrack.services.lookup import MAX_PAGE, DistributionRecordView, Viewer, iter_records_by_request, records_by_device
from fdtrack.services.ports import AuditEntry, Store
from fdtrack.services.search import Search, SearchBy

CSV_PAGE = MAX_PAGE


@dataclass(frozen=True, slots=True)
class Download:
    """What to send: the moment it was asked for (it names the file) and the records, lazily."""

    search: Search
    requested_at: datetime
    records: Iterator[DistributionRecordView]


def open_download(
    store: Store,
    viewer: Viewer,
    search: Search,
    retention: RetentionPolicy,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Download:
    """Check there is something visible (RecordsNotFound otherwise), audit the download, stream the rest."""
    now = clock()
    if search.by is SearchBy.SERVICE_REQUEST_ID:
        parse_service_request_id(search.term, "search_term")  # a malformed ID is named as the form names it
        # The CSV has no history column, so histories are not read: for a 50,000-device request
        # that is most of the work, and leaving it out keeps the download to seconds.
        records = iter_records_by_request(store, viewer, search.term, retention, CSV_PAGE, with_history=False)
    else:
        records = iter(records_by_device(store, viewer, search.term, retention))
    with store.write() as tx:
        tx.append_audit(
            AuditEntry(viewer.name, "csv_download", search.term, {"search_by": search.by.value}),
            now,
        )
    return Download(search, now, records)
