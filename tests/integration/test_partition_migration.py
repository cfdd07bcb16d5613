"""Upgrading a database that already holds records moves them, with their events, into the new layout."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from conftest import create_postgresql_schema, migrate_to, require_postgresql
from fdtrack.adapters.db.engine import make_engine
from fdtrack.adapters.db.migrate import upgrade
from fdtrack.adapters.db.store import SqlStore
from fdtrack.adapters.db.types import UtcDateTime
from fdtrack.domain.derivation import CurrentStatus
from fdtrack.domain.retention import RetentionPolicy
from fdtrack.domain.statuses import ProcessingStatus
from fdtrack.services.ingest import RawEvent, ingest
from fdtrack.services.lookup import Viewer, records_by_device
from raw_events import ndjson_events

REQUEST = "90-B3-D5-1F-30-01-00-00:90-B3-D5-1F-30-00-00-02:1000"
DEVICE = "00-DB-12-34-56-78-90-A0"
EVERYONE = Viewer.everyone("test")

# The two tracking tables as revision 0004 left them (only the columns these rows fill).
_OLD = sa.MetaData()
OLD_RECORDS = sa.Table(
    "distribution_records",
    _OLD,
    *(sa.Column(name, sa.String) for name in ("service_request_id", "device_id", "originator_user_id")),
    *(sa.Column(name, sa.String) for name in ("current_rank", "current_status", "current_reason", "completion_status")),
    *(sa.Column(name, UtcDateTime) for name in ("current_occurred_at", "started_at", "last_received_at")),
    sa.Column("id", sa.Integer),
    sa.Column("last_received_day", sa.Date),
)
OLD_EVENTS = sa.Table(
    "status_events",
    _OLD,
    *(sa.Column(name, sa.String) for name in ("event_id", "status", "reason")),
    *(sa.Column(name, UtcDateTime) for name in ("occurred_at", "received_at")),
    sa.Column("record_id", sa.Integer),
    sa.Column("content_digest", sa.LargeBinary),
)


def event(status: str, minute: int) -> RawEvent:
    fields = {
        "request_id": REQUEST,
        "device_id": DEVICE,
        "status": status,
        "occurred_at": datetime(2026, 11, 20, 10, minute, tzinfo=UTC).isoformat(),
    }
    [raw] = ndjson_events([fields], source=f"minute-{minute}")
    return raw


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/old.db"
        return
    require_postgresql()
    url, drop = create_postgresql_schema(migrate=False)
    yield url
    drop()


def test_records_written_before_partitioning_are_found_with_their_history_after(empty_url: str) -> None:
    engine = make_engine(empty_url)
    migrate_to(engine, "0004_api_tokens")
    at = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    with engine.begin() as connection:
        connection.execute(
            OLD_RECORDS.insert().values(
                id=7,
                service_request_id=REQUEST,
                device_id=DEVICE,
                originator_user_id="90-B3-D5-1F-30-01-00-00",
                current_rank=CurrentStatus(
                    ProcessingStatus.APPROVED_FOR_DISTRIBUTION, "", at + timedelta(minutes=5), "e-2"
                ).rank_text,
                current_status="Approved for Distribution",
                current_reason="",
                current_occurred_at=at + timedelta(minutes=5),
                completion_status="In Progress",
                started_at=at,
                last_received_at=at + timedelta(minutes=5),
                last_received_day=at.date(),
            )
        )
        for event_id, status, minute in (("e-1", "Accepted by DSP", 0), ("e-2", "Approved for Distribution", 5)):
            moment = at + timedelta(minutes=minute)
            connection.execute(
                OLD_EVENTS.insert().values(
                    event_id=event_id,
                    record_id=7,
                    status=status,
                    occurred_at=moment,
                    received_at=moment,
                    reason="",
                    content_digest=bytes(32),
                )
            )
    upgrade(engine)
    engine.dispose()

    store = SqlStore.open(empty_url)
    try:
        [before] = records_by_device(store, EVERYONE, DEVICE, RetentionPolicy())  # found as it was upgraded
        assert [entry.status.value for entry in before.history] == ["Accepted by DSP", "Approved for Distribution"]
        ingest(store, [event("Successful CH Transfer", 9)])  # later events land beside the old ones
        [record] = records_by_device(store, EVERYONE, DEVICE, RetentionPolicy())
        assert [entry.status.value for entry in record.history] == [
            "Accepted by DSP",
            "Approved for Distribution",
            "Successful CH Transfer",
        ]
        assert record.current_status.value == "Successful CH Transfer"
    finally:
        store.dispose()
