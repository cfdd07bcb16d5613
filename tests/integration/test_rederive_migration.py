"""Upgrading a database written under the v1 derivation rule recomputes every stored state under v2."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from conftest import create_postgresql_schema, database_snapshot, migrate_to, require_postgresql
from fdtrack.adapters.db.engine import WRITE, make_engine
from fdtrack.adapters.db.rederivation import rederive_stored_states
from fdtrack.adapters.db.store import SqlStore
from fdtrack.adapters.db.types import UtcDateTime
from fdtrack.domain.derivation import moment_rank_text
from fdtrack.domain.retention import RetentionPolicy
from fdtrack.domain.statuses import ProcessingStatus
from fdtrack.services.ingest import IngestOptions, ingest
from fdtrack.services.lookup import DistributionRecordView, Viewer, records_by_device
from raw_events import ndjson_events

USER = "90-B3-D5-1F-30-01-00-00"
EVERYONE = Viewer.everyone("test")
# Near today, so that the days' partitions exist on PostgreSQL and nothing has expired.
T0 = datetime.now(UTC).replace(hour=8, minute=0, second=0, microsecond=0)

_OLD = sa.MetaData()
RECORDS = sa.Table(
    "distribution_records",
    _OLD,
    sa.Column("id", sa.BigInteger),
    sa.Column("bucket_day", sa.Date),
    *(sa.Column(name, sa.String) for name in ("service_request_id", "device_id", "originator_user_id")),
    *(sa.Column(name, sa.String) for name in ("current_rank", "current_status", "current_reason", "completion_status")),
    *(sa.Column(name, UtcDateTime) for name in ("current_occurred_at", "started_at", "last_received_at")),
    sa.Column("last_received_day", sa.Date),
)
EVENTS = sa.Table(
    "status_events",
    _OLD,
    sa.Column("record_id", sa.BigInteger),
    sa.Column("bucket_day", sa.Date),
    *(sa.Column(name, sa.String) for name in ("event_id", "device_id", "status", "reason")),
    *(sa.Column(name, UtcDateTime) for name in ("occurred_at", "received_at")),
    sa.Column("content_digest", sa.LargeBinary),
)
BUCKETS = sa.Table(
    "request_buckets", _OLD, sa.Column("service_request_id", sa.String), sa.Column("bucket_day", sa.Date)
)

DEVICE_BUCKETS = sa.Table("device_buckets", _OLD, sa.Column("device_id", sa.String), sa.Column("bucket_day", sa.Date))


def v1_rank_text(status: ProcessingStatus, occurred_at: datetime, event_id: str) -> str:
    """The rank text as revision 0006 stored it: reset flag, stage, outcome, then time and event_id."""
    if status is ProcessingStatus.RESET_BY_DCC:
        return f"100{moment_rank_text(occurred_at)}{event_id}"
    return f"0{int(status.stage or 0)}{int(status.outcome or 0)}{moment_rank_text(occurred_at)}{event_id}"


def v1_current(events: list[tuple[str, ProcessingStatus, int, str]]) -> tuple[str, ProcessingStatus, int, str]:
    """The current event under the v1 rule: outcome came before time."""
    resets = [e for e in events if e[1] is ProcessingStatus.RESET_BY_DCC]
    if resets:
        return max(resets, key=lambda e: (e[2], e[0]))
    return max(events, key=lambda e: (e[1].stage or 0, e[1].outcome or 0, e[2], e[0]))


def write_v1_record(
    connection: sa.Connection,
    counter: int,
    device: str,
    day: date,
    events: list[tuple[str, ProcessingStatus, int, str]],
) -> None:
    """One record with its events and state exactly as the previous version stored them."""
    request = f"{USER}:90-B3-D5-1F-30-00-00-02:{counter}"
    event_id, status, minute, reason = v1_current(events)
    moment = T0 + timedelta(minutes=minute)
    last = T0 + timedelta(minutes=max(e[2] for e in events))
    connection.execute(BUCKETS.insert().values(service_request_id=request, bucket_day=day))
    if connection.dialect.name == "postgresql":
        connection.execute(DEVICE_BUCKETS.insert().values(device_id=device, bucket_day=day))
    record_id = connection.execute(
        RECORDS.insert()
        .values(
            bucket_day=day,
            service_request_id=request,
            device_id=device,
            originator_user_id=USER,
            current_rank=v1_rank_text(status, moment, event_id),
            current_status=status.value,
            current_reason=reason,
            completion_status=status.completion.value,
            current_occurred_at=moment,
            started_at=T0 + timedelta(minutes=min(e[2] for e in events)),
            last_received_at=last,
            last_received_day=last.date(),
        )
        .returning(RECORDS.c.id)
    ).scalar_one()
    for event_id, status, minute, reason in events:
        at = T0 + timedelta(minutes=minute)
        connection.execute(
            EVENTS.insert().values(
                record_id=record_id,
                bucket_day=day,
                event_id=event_id,
                device_id=device,
                status=status.value,
                reason=reason,
                occurred_at=at,
                received_at=at,
                content_digest=bytes(32),
            )
        )


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def v1_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database at revision 0006 (the v1 rule's last), holding records the v1 rule derived."""
    drop = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/v1.db"
    else:
        require_postgresql()
        url, drop = create_postgresql_schema(migrate=False)
    engine = make_engine(url)
    migrate_to(engine, "0006_device_buckets")
    S = ProcessingStatus  # noqa: N806
    with engine.connect().execution_options(**WRITE) as connection, connection.begin():
        # CCS08 reported the HAN transfer successful, then the meter's 0x8F1C: v1 kept the success.
        write_v1_record(
            connection, 1, "00-00-00-00-00-00-00-01", T0.date(),
            [("a1", S.ACCEPTED_BY_DSP, 0, ""), ("a2", S.SUCCESSFUL_HAN_TRANSFER, 60, "CCS08"),
             ("a3", S.NOT_DELIVERED_AT_HAN, 90, "8F1C")],
        )  # fmt: skip
        # Activated, then the image failed verification at power-on: v1 kept "Firmware Activated".
        write_v1_record(
            connection, 2, "00-00-00-00-00-00-00-02", (T0 + timedelta(days=1)).date(),
            [("b1", S.FIRMWARE_ACTIVATED, 10, "8F66"), ("b2", S.ACTIVATION_FAILED, 50, "8F1B")],
        )  # fmt: skip
        # A reset record and a plain one: their status stands, their rank text changes form.
        write_v1_record(
            connection, 3, "00-00-00-00-00-00-00-03", T0.date(),
            [("c1", S.ACCEPTED_BY_DSP, 0, ""), ("c2", S.RESET_BY_DCC, 30, "stuck")],
        )  # fmt: skip
        write_v1_record(
            connection, 4, "00-00-00-00-00-00-00-04", (T0 + timedelta(days=1)).date(),
            [("d1", S.ACCEPTED_BY_DSP, 0, ""), ("d2", S.SUCCESSFUL_CH_TRANSFER, 20, "")],
        )  # fmt: skip
    engine.dispose()
    yield url
    if drop is not None:
        drop()


def only_record(store: SqlStore, device: str) -> DistributionRecordView:
    [record] = records_by_device(store, EVERYONE, device, RetentionPolicy())
    return record


def test_upgrading_recomputes_each_state_under_the_v2_rule(v1_database_url: str) -> None:
    store = SqlStore.open(v1_database_url)  # migrates to the newest revision
    try:
        han = only_record(store, "00-00-00-00-00-00-00-01")
        assert (han.current_status.value, han.current_status_reason) == ("Not Delivered at HAN", "8F1C")
        assert han.completion_status.value == "Failed"
        activation = only_record(store, "00-00-00-00-00-00-00-02")
        assert (activation.current_status.value, activation.completion_status.value) == ("Activation Failed", "Failed")
        assert only_record(store, "00-00-00-00-00-00-00-03").current_status.value == "Reset by DCC"
        assert only_record(store, "00-00-00-00-00-00-00-04").current_status.value == "Successful CH Transfer"
    finally:
        store.dispose()


def test_after_upgrading_the_database_merges_later_events_under_the_v2_rule(v1_database_url: str) -> None:
    store = SqlStore.open(v1_database_url)
    try:
        ingest(
            store,
            ndjson_events(
                [
                    # A retried HAN transfer, without a request: §5.3 v2 attaches it to the failed record.
                    {
                        "device_id": "00-00-00-00-00-00-00-01",
                        "status": "Successful HAN Transfer",
                        "occurred_at": (T0 + timedelta(minutes=120)).isoformat(),
                    },
                    # A later CH transfer failure: merged in the database against the rewritten rank text.
                    {
                        "request_id": f"{USER}:90-B3-D5-1F-30-00-00-02:4",
                        "device_id": "00-00-00-00-00-00-00-04",
                        "status": "Failed CH Transfer",
                        "occurred_at": (T0 + timedelta(minutes=40)).isoformat(),
                    },
                ]
            ),
        )
        assert only_record(store, "00-00-00-00-00-00-00-01").current_status.value == "Successful HAN Transfer"
        assert only_record(store, "00-00-00-00-00-00-00-04").current_status.value == "Failed CH Transfer"
    finally:
        store.dispose()


def test_recomputing_in_small_batches_gives_what_ingestion_stored(database_url: str) -> None:
    """Records across partitions and batch boundaries: the states rewritten from their events are
    exactly those ingestion merged, whatever form their stored rank text had before."""
    store = SqlStore.open(database_url)
    for counter in range(3):
        events = [
            {
                "request_id": f"{USER}:90-B3-D5-1F-30-00-00-02:{counter}",
                "device_id": f"00-00-00-00-00-00-00-{device:02X}",
                "status": status,
                "occurred_at": (T0 + timedelta(minutes=minute)).isoformat(),
                "firmware_version": f"V{minute % 3}",
            }
            for device in range(7)
            for minute, status in (
                (0, "Accepted by DSP"),
                (device, "Successful HAN Transfer"),
                (5, "Not Delivered at HAN"),
            )
        ]
        received = datetime.now(UTC) + timedelta(days=counter)  # each request in a day (partition) of its own
        ingest(
            store, ndjson_events(events), IngestOptions(batch_size=10, clock=functools.partial(lambda at: at, received))
        )
    store.dispose()
    before = database_snapshot(database_url)
    engine = make_engine(database_url)
    with engine.connect().execution_options(**WRITE) as connection, connection.begin():
        connection.execute(sa.text("UPDATE distribution_records SET current_rank = 'x', current_status = 'stale'"))
        assert rederive_stored_states(connection, batch_size=4) == 21
    engine.dispose()
    assert database_snapshot(database_url) == before
    assert {state[5] for state in before.values()} == {"Successful HAN Transfer", "Not Delivered at HAN"}
    assert len({state[0] for state in before.values()}) == 3
