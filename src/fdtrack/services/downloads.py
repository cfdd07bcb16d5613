"""The CSV download use case: the records of one search, all rows, fetched page by page, and audited."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from fdtrack.domain.errors import RecordsNotFound
from fdtrack.domain.identifiers import ServiceRequestId, parse_service_request_id
from fdtrack.domain.retention import RetentionPolicy
from fdtrack.services.lookup import (
    DistributionRecordView,
    Viewer,
    not_found_message,
    record_view,
    records_by_device,
)
from fdtrack.services.ports import AuditEntry, Store, StoredRecord
from fdtrack.services.search import Search, SearchBy

CSV_PAGE = 2_000


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
        request_id = parse_service_request_id(search.term, "search_term")
        first = _page(store, viewer, request_id, None)
        if not first:
            raise RecordsNotFound(not_found_message(search.by.value, search.term))
        records = _request_rows(store, viewer, request_id, first, retention)
    else:
        records = iter(records_by_device(store, viewer, search.term, retention))
    with store.write() as tx:
        tx.append_audit(
            AuditEntry(viewer.name, "csv_download", search.term, {"search_by": search.by.value}),
            now,
        )
    return Download(search, now, records)


def _page(store: Store, viewer: Viewer, request_id: ServiceRequestId, after: str | None) -> list[StoredRecord]:
    # Each page is its own short read, so a slow client never holds a transaction open for minutes.
    with store.read() as tx:
        return tx.records_by_request(request_id, viewer.originators, after, CSV_PAGE)


def _request_rows(
    store: Store, viewer: Viewer, request_id: ServiceRequestId, first: list[StoredRecord], retention: RetentionPolicy
) -> Iterator[DistributionRecordView]:
    page = first
    while page:
        # The CSV has no history column, so histories are not read: for a 50,000-device request
        # that is most of the work, and leaving it out keeps the download to seconds.
        yield from (record_view(record, retention) for record in page)
        page = _page(store, viewer, request_id, page[-1].device_id) if len(page) == CSV_PAGE else []
