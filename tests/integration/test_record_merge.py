"""The records' merge on PostgreSQL, which stages a batch's states in a temporary table: retried when it
loses a race with another writer, and right when one transaction merges more than once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from fdtrack.adapters.db.store import SqlStore
from fdtrack.domain.derivation import derive_state
from fdtrack.domain.events import validate_event
from fdtrack.domain.retention import RetentionPolicy
from fdtrack.services.ingest import IngestOptions, ingest
from fdtrack.services.lookup import Viewer, records_by_device
from fdtrack.services.ports import RecordDelta, RetryBatch
from raw_events import ndjson_events

REQUEST = "90-B3-D5-1F-30-01-00-00:90-B3-D5-1F-30-00-00-02:1000"
DEVICE = "00-DB-12-34-56-78-90-A0"
AT = datetime(2026, 11, 20, 10, tzinfo=UTC)


def delta(status: str, at: datetime, device: str = DEVICE) -> RecordDelta:
    fields = {"request_id": REQUEST, "device_id": device, "status": status, "occurred_at": at.isoformat()}
    event = validate_event(fields, now=at)
    assert event.request_id is not None
    return RecordDelta(event.request_id, event.device_id, derive_state([event]), at)


def test_a_record_merge_that_waits_too_long_for_another_writers_lock_is_to_be_tried_again(
    pg_store: SqlStore, postgresql_schema_url: str
) -> None:
    """The records' merge runs on the driver's own cursor; its lock timeout is still a race lost to
    another writer (RetryBatch, which ingestion retries), and the same batch lands once the lock is gone."""
    fields = {"request_id": REQUEST, "device_id": DEVICE, "status": "Accepted by DSP", "occurred_at": AT.isoformat()}
    ingest(pg_store, ndjson_events([fields]), IngestOptions(clock=lambda: AT))
    later = AT + timedelta(hours=1)
    impatient = SqlStore.open(f"{postgresql_schema_url}%20-clock_timeout%3D100")  # after search_path
    try:
        with pg_store.engine.connect() as other, other.begin():
            other.execute(sa.text("SELECT id FROM distribution_records FOR UPDATE"))
            with pytest.raises(RetryBatch), impatient.write() as tx:
                tx.merge_records([delta("Approved for Distribution", later)])
        with impatient.write() as tx:
            tx.merge_records([delta("Approved for Distribution", later)])
    finally:
        impatient.dispose()
    [record] = records_by_device(pg_store, Viewer.everyone("test"), DEVICE, RetentionPolicy())
    assert record.current_status.value == "Approved for Distribution"


def test_a_transaction_that_merges_twice_gets_back_the_ids_of_each_merges_own_records(pg_store: SqlStore) -> None:
    other_device = "00-DB-12-34-56-78-90-A1"
    with pg_store.write() as tx:
        first = tx.merge_records([delta("Accepted by DSP", AT)])
        second = tx.merge_records([delta("Approved for Distribution", AT, other_device)])
    assert list(first) == [(REQUEST, DEVICE)]
    assert list(second) == [(REQUEST, other_device)]
    assert first[(REQUEST, DEVICE)] != second[(REQUEST, other_device)]
    views = Viewer.everyone("test")
    for device, status in ((DEVICE, "Accepted by DSP"), (other_device, "Approved for Distribution")):
        [record] = records_by_device(pg_store, views, device, RetentionPolicy())
        assert record.current_status.value == status


def test_each_partition_holding_a_devices_records_is_listed_for_that_device(pg_store: SqlStore) -> None:
    """Look-ups by Device ID read only the partitions device_buckets lists: new records in a new
    partition, a device's second record in a partition, updates (also by an event earlier than any
    before it) and events naming no request all leave it listing exactly where the records are."""
    second_request = REQUEST.replace(":1000", ":1001")
    devices = [f"00-DB-12-34-56-78-90-A{number}" for number in range(4)]

    def ingest_at(at: datetime, lines: list[dict[str, str]]) -> None:
        summary = ingest(pg_store, ndjson_events(lines), IngestOptions(clock=lambda: at))
        assert summary.rejected == 0, summary.errors

    def line(device: str, status: str, occurred_at: datetime, request: str | None = REQUEST) -> dict[str, str]:
        fields = {"device_id": device, "status": status, "occurred_at": occurred_at.isoformat()}
        return fields if request is None else {**fields, "request_id": request}

    ingest_at(AT, [line(device, "Accepted by DSP", AT) for device in devices[:3]])
    next_day = AT + timedelta(days=1)
    ingest_at(
        next_day,
        [line(device, "Approved for Distribution", next_day) for device in devices[:3]]
        + [line(devices[0], "Accepted by DSP", AT - timedelta(hours=1))]  # earlier than the record's start
        + [line(device, "Accepted by DSP", next_day, second_request) for device in devices[1:]],
    )
    later = next_day + timedelta(days=1)
    ingest_at(later, [line(devices[3], "Successful HAN Transfer", later, None)])
    with pg_store.engine.connect() as connection:
        listed = set(connection.execute(sa.text("SELECT device_id, bucket_day FROM device_buckets")).all())
        held = set(connection.execute(sa.text("SELECT DISTINCT device_id, bucket_day FROM distribution_records")).all())
    assert listed == held
    assert len(held) == 6
