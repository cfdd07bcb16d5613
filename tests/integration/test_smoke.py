"""A first end-to-end check: events in, a record out, on both databases."""

from __future__ import annotations

from fdtrack.adapters.db.store import SqlStore
from fdtrack.domain.retention import RetentionPolicy
from fdtrack.services.ingest import RawEvent, ingest
from fdtrack.services.lookup import Viewer, records_by_device


def test_an_ingested_event_creates_a_record(store: SqlStore) -> None:
    fields = {
        "request_id": "90-B3-D5-1F-30-01-00-00:90-B3-D5-1F-30-00-00-02:1000",
        "device_id": "00db1234567890a0",
        "status": "accepted by dsp",
        "occurred_at": "2026-11-20T10:00:00Z",
    }
    summary = ingest(store, [RawEvent("test:1", "ndjson", "{}", fields=fields)])
    assert (summary.accepted, summary.rejected) == (1, 0)
    [record] = records_by_device(store, Viewer.everyone("t"), "00-DB-12-34-56-78-90-A0", RetentionPolicy())
    assert record.current_status.value == "Accepted by DSP"
