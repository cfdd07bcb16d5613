"""Look-ups can read from a replica while every write, and what writes depend on, stays on the primary."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from conftest import create_postgresql_schema, require_postgresql
from fdtrack.adapters.db.store import SqlStore
from fdtrack.domain.retention import RetentionPolicy
from fdtrack.services.ingest import RawEvent, ingest
from fdtrack.services.lookup import Viewer, records_by_device
from raw_events import ndjson_events

DEVICE = "00-DB-12-34-56-78-90-A0"
EVERYONE = Viewer.everyone("test")


def accepted(request_number: int) -> RawEvent:
    fields = {
        "request_id": f"90-B3-D5-1F-30-01-00-00:90-B3-D5-1F-30-00-00-02:{request_number}",
        "device_id": DEVICE,
        "status": "Accepted by DSP",
        "occurred_at": datetime(2026, 11, 20, 10, tzinfo=UTC).isoformat(),
    }
    [event] = ndjson_events([fields], source=f"request-{request_number}")
    return event


def requests_seen(store: SqlStore) -> list[str]:
    return [record.service_request_id for record in records_by_device(store, EVERYONE, DEVICE, RetentionPolicy())]


@pytest.mark.postgresql
def test_look_ups_read_the_replica_and_ingestion_writes_the_primary(request: pytest.FixtureRequest) -> None:
    require_postgresql()
    primary_url, drop_primary = create_postgresql_schema()
    request.addfinalizer(drop_primary)
    # A second database stands in for a replica that has not yet replayed the primary's last write.
    replica_url, drop_replica = create_postgresql_schema()
    request.addfinalizer(drop_replica)
    replica_source = SqlStore.open(replica_url)
    ingest(replica_source, [accepted(1)])
    replica_source.dispose()

    store = SqlStore.open(primary_url, read_url=replica_url)
    try:
        ingest(store, [accepted(1), accepted(2)])  # request 1 is new on the primary: not a duplicate
        assert requests_seen(store) == ["90-B3-D5-1F-30-01-00-00:90-B3-D5-1F-30-00-00-02:1"]
        assert len(requests_seen(SqlStore(store.engine))) == 2
    finally:
        store.dispose()
