"""Retention by day: PostgreSQL keeps each request's records in its first day's partition, made ahead
and dropped whole once every record in it has expired; both databases delete the same records."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from conftest import empty_postgresql
from fdtrack.adapters.db.lean_reads import LeanLookupStore
from fdtrack.adapters.db.partitions import DAYS_AHEAD, DROP_LOCK, partition_days
from fdtrack.adapters.db.store import SqlStore, SqlWriteTransaction
from fdtrack.domain.errors import RecordsNotFound
from fdtrack.domain.retention import RetentionPolicy
from fdtrack.services.ingest import IngestOptions, ingest
from fdtrack.services.lookup import Viewer, records_by_device, records_by_request, request_overview
from fdtrack.services.ports import Share
from fdtrack.services.purge import purge
from raw_events import ndjson_events

RETENTION = RetentionPolicy()  # 30 days
EVERYONE = Viewer.everyone("test")
ORIGINATOR = "90-B3-D5-1F-30-01-00-00"
FIRST_DAY = datetime(2026, 10, 1, 9, tzinfo=UTC)


def request_id(number: int) -> str:
    return f"{ORIGINATOR}:90-B3-D5-1F-30-00-00-02:{number}"


def device(number: int) -> str:
    return f"00-DB-12-34-56-78-{number // 256:02X}-{number % 256:02X}"


def received(store: SqlStore, at: datetime, request: int, devices: range, status: str = "Accepted by DSP") -> None:
    """Events for `devices` of one request, received at `at` (ingestion's clock)."""
    lines = [
        {
            "request_id": request_id(request),
            "device_id": device(number),
            "status": status,
            "occurred_at": at.isoformat(),
        }
        for number in devices
    ]
    summary = ingest(store, ndjson_events(lines), IngestOptions(clock=lambda: at))
    assert summary.rejected == 0, summary.errors


def partition_of(store: SqlStore, table: str) -> dict[str, set[str]]:
    """Which partitions hold each request's rows."""
    query = f"SELECT DISTINCT r.service_request_id, e.tableoid::regclass::text FROM {table} e "
    query += "JOIN distribution_records r ON r.id = " + ("e.record_id" if table == "status_events" else "e.id")
    holders: dict[str, set[str]] = {}
    with store.engine.connect() as connection:
        for request, partition in connection.execute(sa.text(query)):
            holders.setdefault(request, set()).add(partition)
    return holders


def devices_of(store: SqlStore, request: int) -> list[str]:
    try:
        page = records_by_request(store, EVERYONE, request_id(request), RETENTION)
    except RecordsNotFound:
        return []
    return [record.device_id for record in page.records]


def days(store: SqlStore) -> set[date]:
    with store.engine.connect() as connection:
        return partition_days(connection)


def test_a_request_stays_in_the_partition_of_the_day_it_was_first_received(pg_store: SqlStore) -> None:
    received(pg_store, FIRST_DAY, 1, range(3))
    received(pg_store, FIRST_DAY + timedelta(days=2), 1, range(2, 5), "Approved for Distribution")
    received(pg_store, FIRST_DAY + timedelta(days=2), 2, range(2))
    for table in ("distribution_records", "status_events"):
        assert partition_of(pg_store, table) == {
            request_id(1): {f"{table}_p20261001"},
            request_id(2): {f"{table}_p20261003"},
        }


def test_partitions_are_made_ahead_and_making_them_again_changes_nothing(pg_store: SqlStore) -> None:
    today = date(2026, 12, 1)
    pg_store.prepare_storage(today)
    before = days(pg_store)
    pg_store.prepare_storage(today)
    assert days(pg_store) == before
    assert {today + timedelta(days=n) for n in range(DAYS_AHEAD + 1)} <= before


def last_purge(store: SqlStore) -> dict[str, int]:
    with store.engine.connect() as connection:
        detail = connection.execute(
            sa.text("SELECT detail FROM audit_log WHERE action = 'purge' ORDER BY id DESC LIMIT 1")
        ).scalar_one()
    return dict(json.loads(detail))


def test_purge_drops_wholly_expired_partitions_and_deletes_expired_rows_beside_live_ones(pg_store: SqlStore) -> None:
    received(pg_store, FIRST_DAY, 1, range(4))  # request 1: expires whole
    received(pg_store, FIRST_DAY, 2, range(4))  # request 2: one device is heard of again 20 days later
    received(pg_store, FIRST_DAY + timedelta(days=20), 2, range(1), "Approved for Distribution")
    received(pg_store, FIRST_DAY + timedelta(days=1), 3, range(4))  # request 3: 2 October, expires whole
    as_of = FIRST_DAY + timedelta(days=32)  # cutoff: 3 October, 09:00
    # 1 October's partition keeps request 2's live record: its 7 expired records go row by row.
    # 2 October's partition has nothing live left: it goes whole, with its 4 records.
    assert purge(pg_store, RETENTION, as_of, "test") == 7 + 4
    assert last_purge(pg_store) == {
        "as_of": as_of.isoformat(),
        "deleted": 11,
        "deleted_with_partitions": 4,
        "firmware_requests_forgotten": 0,
    }
    assert date(2026, 10, 1) in days(pg_store)
    assert date(2026, 10, 2) not in days(pg_store)
    assert devices_of(pg_store, 2) == [device(0)]
    assert devices_of(pg_store, 1) == []

    later = FIRST_DAY + timedelta(days=52)  # request 2's last record has expired too
    assert purge(pg_store, RETENTION, later, "test") == 1
    assert last_purge(pg_store)["deleted_with_partitions"] == 1
    assert date(2026, 10, 1) not in days(pg_store)
    with pg_store.engine.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM request_buckets")).scalar_one() == 0


def stored_events(store: SqlStore) -> dict[str, int]:
    """How many events are stored for each device."""
    with store.engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT device_id, count(*) FROM status_events GROUP BY device_id"))
        return {str(device_id): int(count) for device_id, count in rows}


def test_one_purge_batch_deletes_expired_records_and_their_events_in_every_partition_it_touches(
    pg_store: SqlStore,
) -> None:
    received(pg_store, FIRST_DAY, 1, range(4))
    received(pg_store, FIRST_DAY + timedelta(days=1), 2, range(4, 8))
    # One record in each partition is heard of again, so neither partition can go whole.
    received(pg_store, FIRST_DAY + timedelta(days=20), 1, range(1), "Approved for Distribution")
    received(pg_store, FIRST_DAY + timedelta(days=20), 2, range(4, 5), "Approved for Distribution")
    assert purge(pg_store, RETENTION, FIRST_DAY + timedelta(days=33), "test") == 6
    assert last_purge(pg_store)["deleted_with_partitions"] == 0
    assert (devices_of(pg_store, 1), devices_of(pg_store, 2)) == ([device(0)], [device(4)])
    assert stored_events(pg_store) == {device(0): 2, device(4): 2}
    [live] = records_by_device(pg_store, EVERYONE, device(4), RETENTION)
    assert [entry.status.value for entry in live.history] == ["Accepted by DSP", "Approved for Distribution"]


def test_a_request_heard_of_after_its_partition_went_starts_afresh_today(pg_store: SqlStore) -> None:
    received(pg_store, FIRST_DAY, 1, range(2))
    purge(pg_store, RETENTION, FIRST_DAY + timedelta(days=32), "test")
    received(pg_store, FIRST_DAY + timedelta(days=40), 1, range(1), "Approved for Distribution")
    [record] = records_by_request(pg_store, EVERYONE, request_id(1), RETENTION).records
    assert record.current_status.value == "Approved for Distribution"
    assert [entry.status.value for entry in record.history] == ["Approved for Distribution"]
    assert partition_of(pg_store, "distribution_records") == {request_id(1): {"distribution_records_p20261110"}}


def test_ingestion_recovers_when_another_process_dropped_a_partition_it_knew(postgresql_schema_url: str) -> None:
    empty_postgresql(postgresql_schema_url)
    ingesting, purging = SqlStore.open(postgresql_schema_url), SqlStore.open(postgresql_schema_url)
    try:
        received(ingesting, FIRST_DAY, 1, range(2))  # this store now knows 1 October's partition
        purge(purging, RETENTION, FIRST_DAY + timedelta(days=32), "test")  # the other one drops it
        received(ingesting, FIRST_DAY, 2, range(2))  # a late load, received "on" 1 October again
        assert devices_of(ingesting, 2) == [device(0), device(1)]
    finally:
        ingesting.dispose()
        purging.dispose()


def alert(store: SqlStore, at: datetime, number: int, status: str) -> None:
    """An event of device `number` that names no request: ingestion attaches it to the device's record."""
    fields = {"device_id": device(number), "status": status, "occurred_at": at.isoformat()}
    summary = ingest(store, ndjson_events([fields], source="alert"), IngestOptions(clock=lambda: at))
    assert summary.rejected == 0, summary.errors


def test_look_ups_read_only_the_partitions_of_what_they_find(pg_store: SqlStore, postgresql_schema_url: str) -> None:
    """Another day's partitions locked outright (as a partition being dropped is) hold up no look-up
    that does not need them: each look-up is planned over its own partitions alone."""
    received(pg_store, FIRST_DAY, 0, range(3))
    received(pg_store, FIRST_DAY + timedelta(days=1), 1, range(10, 13))
    received(pg_store, FIRST_DAY + timedelta(days=2), 2, range(3))
    alert(pg_store, FIRST_DAY + timedelta(days=2, hours=1), 0, "Successful HAN Transfer")
    waiting = SqlStore.open(f"{postgresql_schema_url}%20-clock_timeout%3D2000")  # after search_path
    lean = LeanLookupStore(waiting.engine)
    try:
        with pg_store.engine.connect() as other, other.begin():
            other.execute(sa.text("LOCK TABLE distribution_records_p20261002, status_events_p20261002"))
            [first] = records_by_request(waiting, EVERYONE, request_id(0), RETENTION, limit=1).records
            assert [entry.status.value for entry in first.history] == ["Accepted by DSP"]
            for source in (waiting, lean):
                found = records_by_device(source, EVERYONE, device(0), RETENTION)
                assert [(view.service_request_id, len(view.history)) for view in found] == [
                    (request_id(2), 2),
                    (request_id(0), 1),
                ]
            assert request_overview(waiting, EVERYONE, request_id(2)).device_count == 3
    finally:
        waiting.dispose()


def test_one_batch_of_events_naming_no_request_finds_each_devices_records_in_every_partition(
    pg_store: SqlStore,
) -> None:
    """The records of a batch's devices are read (and locked) partition by partition, each with its
    own devices: every device's event still joins its latest record In Progress, wherever it is."""
    received(pg_store, FIRST_DAY, 1, range(3))
    received(pg_store, FIRST_DAY + timedelta(days=1), 2, range(1, 3))
    received(pg_store, FIRST_DAY + timedelta(days=2), 3, range(2, 3))
    at = FIRST_DAY + timedelta(days=2, hours=1)
    lines = [
        {"device_id": device(number), "status": "Successful HAN Transfer", "occurred_at": at.isoformat()}
        for number in range(3)
    ]
    summary = ingest(pg_store, ndjson_events(lines, source="alerts"), IngestOptions(clock=lambda: at))
    assert (summary.accepted, summary.rejected) == (3, 0)
    histories = {
        number: [
            (view.service_request_id, len(view.history))
            for view in records_by_device(pg_store, EVERYONE, device(number), RETENTION)
        ]
        for number in range(3)
    }
    assert histories == {
        0: [(request_id(1), 2)],
        1: [(request_id(2), 2), (request_id(1), 1)],
        2: [(request_id(3), 2), (request_id(2), 1), (request_id(1), 1)],
    }


def device_places(store: SqlStore) -> tuple[set[tuple[str, date]], set[tuple[str, date]]]:
    """(device, partition day) of every record, and as device_buckets lists them."""
    with store.engine.connect() as connection:
        held = connection.execute(sa.text("SELECT DISTINCT device_id, bucket_day FROM distribution_records"))
        held_places = {(device_id, day) for device_id, day in held}
        listed = connection.execute(sa.text("SELECT device_id, bucket_day FROM device_buckets"))
        return held_places, {(device_id, day) for device_id, day in listed}


def test_device_buckets_list_every_partition_holding_a_devices_records(pg_store: SqlStore) -> None:
    received(pg_store, FIRST_DAY, 1, range(4))
    received(pg_store, FIRST_DAY + timedelta(days=1), 2, range(2, 6))
    received(pg_store, FIRST_DAY + timedelta(days=1, hours=2), 1, range(3), "Approved for Distribution")
    alert(pg_store, FIRST_DAY + timedelta(days=2), 3, "Successful HAN Transfer")  # joins request 2's record
    received(pg_store, FIRST_DAY + timedelta(days=25), 1, range(1), "Successful CH Transfer")  # stays live
    held, listed = device_places(pg_store)
    assert held == listed
    assert {(device(3), date(2026, 10, 1)), (device(3), date(2026, 10, 2))} <= held

    # Cutoff 3 October 10:00: 2 October's partition goes whole; 1 October's keeps device 0's record
    # and loses the other three row by row, whose rows here stay until their partition goes.
    purge(pg_store, RETENTION, FIRST_DAY + timedelta(days=32, hours=1), "test")
    held, listed = device_places(pg_store)
    assert held == {(device(0), date(2026, 10, 1))}
    assert listed == {(device(number), date(2026, 10, 1)) for number in range(4)}
    assert records_by_device(pg_store, EVERYONE, device(0), RETENTION)[0].service_request_id == request_id(1)


def test_both_databases_keep_exactly_the_records_heard_of_within_the_window(store: SqlStore) -> None:
    received(store, FIRST_DAY, 1, range(6))
    received(store, FIRST_DAY + timedelta(days=3), 1, range(2), "Approved for Distribution")
    received(store, FIRST_DAY + timedelta(days=1), 2, range(3))
    received(store, FIRST_DAY + timedelta(days=10), 3, range(2))
    as_of = FIRST_DAY + timedelta(days=33)  # cutoff: 4 October, 09:00
    assert purge(store, RETENTION, as_of, "test") == 4 + 3
    assert (devices_of(store, 1), devices_of(store, 2), devices_of(store, 3)) == (
        [device(0), device(1)],
        [],
        [device(0), device(1)],
    )


def test_row_by_row_deletion_takes_earlier_days_then_the_cutoffs_own_day_up_to_each_batchs_limit(
    store: SqlStore,
) -> None:
    received(store, FIRST_DAY, 1, range(3))
    cutoff = FIRST_DAY + timedelta(days=3)  # 4 October, 09:00
    received(store, cutoff - timedelta(hours=1), 2, range(3))  # the cutoff's day, before it: expired
    received(store, cutoff + timedelta(hours=1), 3, range(2))  # the same day, after it: live
    batches = []
    for _ in range(4):
        with store.write() as tx:
            batches.append(tx.delete_expired(cutoff, 2))
    assert batches == [2, 2, 2, 0]
    assert (devices_of(store, 1), devices_of(store, 2), devices_of(store, 3)) == ([], [], [device(0), device(1)])


def test_shares_of_the_expired_records_are_disjoint_sets_of_days_that_hold_them_all(store: SqlStore) -> None:
    """Purge workers side by side each delete their own share: on PostgreSQL every other partition
    day, on SQLite (one writer at a time) everything in the first share and nothing in the others."""
    for day in range(4):
        received(store, FIRST_DAY + timedelta(days=day), day, range(3))
    received(store, FIRST_DAY + timedelta(days=12), 9, range(1))  # live
    cutoff = FIRST_DAY + timedelta(days=10)
    deleted = {}
    for index in (1, 0):
        with store.write() as tx:
            deleted[index] = tx.delete_expired(cutoff, 100, Share(index, 2))
    left = [number for number in range(4) if devices_of(store, number)]
    if store.dialect == "postgresql":
        # 1 and 3 October fall to one share, 2 and 4 October to the other.
        assert deleted == {0: 6, 1: 6}
    else:
        assert deleted == {0: 12, 1: 0}
    assert left == []
    assert devices_of(store, 9) == [device(0)]


def test_a_purge_by_two_workers_deletes_the_expired_records_of_every_day(store: SqlStore) -> None:
    """Each day keeps one live record, so no partition goes whole: the workers delete row by row."""
    for day in range(6):
        received(store, FIRST_DAY + timedelta(days=day), day, range(day + 2))
        received(store, FIRST_DAY + timedelta(days=20), day, range(1), "Approved for Distribution")
    as_of = FIRST_DAY + timedelta(days=36)  # cutoff: 7 October, 09:00
    progress: list[int] = []
    assert purge(store, RETENTION, as_of, "test", on_progress=progress.append, workers=2) == sum(range(1, 7))
    assert sum(progress) == sum(range(1, 7))
    assert [devices_of(store, day) for day in range(6)] == [[device(0)]] * 6
    assert stored_events(store) == {device(0): 2 * 6}


def test_a_record_heard_of_after_a_purge_batch_read_it_stays_with_its_events(
    pg_store: SqlStore, postgresql_schema_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    received(pg_store, FIRST_DAY, 1, range(3))
    cutoff = FIRST_DAY + timedelta(days=3)
    late = cutoff + timedelta(hours=1)
    ingesting = SqlStore.open(postgresql_schema_url)
    read_expired = SqlWriteTransaction._expired_records

    def then_an_event_arrives(tx: SqlWriteTransaction, cutoff: datetime, limit: int, share: Share) -> Any:
        found = read_expired(tx, cutoff, limit, share)
        received(ingesting, late, 1, range(1), "Approved for Distribution")  # commits meanwhile
        return found

    monkeypatch.setattr(SqlWriteTransaction, "_expired_records", then_an_event_arrives)
    try:
        with pg_store.write() as tx:
            assert tx.delete_expired(cutoff, 10) == 2
    finally:
        ingesting.dispose()
    assert devices_of(pg_store, 1) == [device(0)]
    assert stored_events(pg_store) == {device(0): 2}


def test_while_another_process_drops_partitions_a_purge_deletes_row_by_row(pg_store: SqlStore) -> None:
    received(pg_store, FIRST_DAY, 1, range(5))
    with pg_store.engine.connect() as other:
        other.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": DROP_LOCK})
        try:
            assert purge(pg_store, RETENTION, FIRST_DAY + timedelta(days=32), "test") == 5
        finally:
            other.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": DROP_LOCK})
    assert last_purge(pg_store)["deleted_with_partitions"] == 0
    assert date(2026, 10, 1) in days(pg_store)
    assert devices_of(pg_store, 1) == []


def analysed_rows(store: SqlStore, day: str) -> dict[str, float]:
    """What the planner's statistics say each partition of the day holds (-1: never analysed)."""
    with store.engine.connect() as connection:
        rows = connection.execute(
            sa.text("SELECT relname, reltuples FROM pg_class WHERE relname IN (:records, :events)"),
            {"records": f"distribution_records_p{day}", "events": f"status_events_p{day}"},
        )
        return {name.split("_p")[0]: tuples for name, tuples in rows}


def test_statistics_follow_a_partition_filling_from_empty(pg_store: SqlStore) -> None:
    """Analysed after its first 1,000 events, then each time they double: the planner never works
    from an empty partition's guesses (this database runs without autovacuum)."""
    received(pg_store, FIRST_DAY, 1, range(900))
    pg_store.wait_for_statistics()
    assert analysed_rows(pg_store, "20261001") == {"distribution_records": -1, "status_events": -1}
    received(pg_store, FIRST_DAY, 1, range(900, 1100))
    pg_store.wait_for_statistics()  # the analysis runs in the background, after the batch
    assert analysed_rows(pg_store, "20261001") == {"distribution_records": 1100, "status_events": 1100}
    received(pg_store, FIRST_DAY, 2, range(1000))  # 2,100 events: not yet twice 1,100
    pg_store.wait_for_statistics()
    assert analysed_rows(pg_store, "20261001")["status_events"] == 1100
    received(pg_store, FIRST_DAY, 2, range(1000, 1100))
    pg_store.wait_for_statistics()
    assert analysed_rows(pg_store, "20261001") == {"distribution_records": 2200, "status_events": 2200}


def test_a_process_writing_to_a_partition_analysed_before_it_began_analyses_it_once_it_has_doubled(
    pg_store: SqlStore, postgresql_schema_url: str
) -> None:
    """A process counts its own writes only: its first thousand events in a day another process
    filled and analysed do not make it read that day's partitions again; a doubling does."""
    received(pg_store, FIRST_DAY, 1, range(3000))
    pg_store.wait_for_statistics()
    assert analysed_rows(pg_store, "20261001") == {"distribution_records": 3000, "status_events": 3000}
    later = SqlStore.open(postgresql_schema_url)
    try:
        received(later, FIRST_DAY, 2, range(1000))
        later.wait_for_statistics()
        assert analysed_rows(later, "20261001") == {"distribution_records": 3000, "status_events": 3000}
        received(later, FIRST_DAY, 2, range(1000, 3000))  # 6,000 events in the partition
        later.wait_for_statistics()
        assert analysed_rows(later, "20261001") == {"distribution_records": 6000, "status_events": 6000}
    finally:
        later.dispose()


def test_after_a_bulk_load_only_partitions_grown_by_a_tenth_are_analysed_again(pg_store: SqlStore) -> None:
    received(pg_store, FIRST_DAY, 1, range(3000))
    pg_store.wait_for_statistics()
    received(pg_store, FIRST_DAY, 2, range(150))  # 5% more
    pg_store.refresh_statistics()
    assert analysed_rows(pg_store, "20261001")["status_events"] == 3000
    received(pg_store, FIRST_DAY, 2, range(150, 450))  # 15% more
    pg_store.refresh_statistics()
    assert analysed_rows(pg_store, "20261001") == {"distribution_records": 3450, "status_events": 3450}
