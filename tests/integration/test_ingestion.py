"""Ingestion on both databases: duplicates, conflicts, rejections, correlation and idempotency."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import database_snapshot
from fdtrack.adapters.db.store import SqlStore
from fdtrack.domain.derivation import derive_state
from fdtrack.domain.device_types import DeviceType
from fdtrack.domain.retention import RetentionPolicy
from fdtrack.services.ingest import IngestOptions, ingest
from fdtrack.services.lookup import DistributionRecordView, Viewer, records_by_device, records_by_request
from fdtrack.services.rejects import list_rejections
from raw_events import ndjson_events

REQUEST = "90-B3-D5-1F-30-01-00-00:90-B3-D5-1F-30-00-00-02:1000"
LATER_REQUEST = "90-B3-D5-1F-30-01-00-00:90-B3-D5-1F-30-00-00-02:1001"
DEVICE = "00-DB-12-34-56-78-90-A0"
EVERYONE = Viewer.everyone("test")
RETENTION = RetentionPolicy()


def event(status: str, minute: int, **fields: str) -> dict[str, str]:
    base = {"request_id": REQUEST, "device_id": DEVICE, "status": status}
    base["occurred_at"] = (datetime(2026, 11, 20, 10, tzinfo=UTC) + timedelta(minutes=minute)).isoformat()
    base.update(fields)
    return {key: value for key, value in base.items() if value != "-"}


def only_record(store: SqlStore, device: str = DEVICE) -> DistributionRecordView:
    [record] = records_by_device(store, EVERYONE, device, RETENTION)
    return record


def test_re_ingesting_the_same_events_changes_nothing(store: SqlStore, database_url: str) -> None:
    events = [event("Accepted by DSP", 0, firmware_version="1A2B3C4D"), event("Approved for Distribution", 5)]
    first = ingest(store, ndjson_events(events))
    before = database_snapshot(database_url)
    second = ingest(store, ndjson_events(events))
    assert (first.accepted, first.duplicates) == (2, 0)
    assert (second.accepted, second.duplicates, second.rejected) == (0, 2, 0)
    assert database_snapshot(database_url) == before


def test_same_event_id_with_other_content_is_rejected_and_kept(store: SqlStore) -> None:
    ingest(store, ndjson_events([event("Accepted by DSP", 0, event_id="e-1")]))
    summary = ingest(store, ndjson_events([event("Rejected by DSP", 0, event_id="e-1")], source="second"))
    assert summary.rejected == 1
    assert summary.errors == [("second:1", "event_id: reused with different content")]
    [kept] = list_rejections(store)
    assert kept.rejection.source == "second:1"
    assert "Rejected by DSP" in kept.rejection.raw
    assert only_record(store).current_status.value == "Accepted by DSP"


def test_invalid_events_are_rejected_without_losing_the_valid_ones_around_them(store: SqlStore) -> None:
    events = [
        event("Accepted by DSP", 0),
        event("Accepted by DSP", 1, device_id="not-a-device"),
        event("Successful CH Transfer", 2),
        {"device_id": DEVICE, "status": "Launched", "occurred_at": "2026-11-20T10:00:00Z", "request_id": REQUEST},
    ]
    summary = ingest(store, ndjson_events(events))
    assert (summary.accepted, summary.rejected) == (2, 2)
    assert summary.errors[0][0] == "test:2"
    assert summary.errors[0][1].startswith("device_id: 'not-a-device' is not a Device ID")
    assert summary.errors[1][1].startswith("status: 'Launched' is not a Processing Status")
    assert only_record(store).current_status.value == "Successful CH Transfer"
    assert {kept.rejection.source for kept in list_rejections(store)} == {"test:2", "test:4"}


def test_an_event_without_request_attaches_to_the_latest_in_progress_record(store: SqlStore) -> None:
    ingest(
        store,
        ndjson_events(
            [
                event("Accepted by DSP", 0),
                event("Accepted by DSP", 60, request_id=LATER_REQUEST),
                event("Successful HAN Transfer", 120, request_id="-"),
            ]
        ),
    )
    records = {r.service_request_id: r for r in records_by_device(store, EVERYONE, DEVICE, RETENTION)}
    assert records[LATER_REQUEST].current_status.value == "Successful HAN Transfer"
    assert records[REQUEST].current_status.value == "Accepted by DSP"


def test_correlation_skips_records_that_are_no_longer_in_progress(store: SqlStore) -> None:
    ingest(
        store,
        ndjson_events(
            [
                event("Accepted by DSP", 0),
                event("Accepted by DSP", 60, request_id=LATER_REQUEST),
                event("Failed CH Transfer", 90, request_id=LATER_REQUEST),
            ]
        ),
    )
    ingest(store, ndjson_events([event("Firmware Activated", 200, request_id="-")]))
    records = {r.service_request_id: r for r in records_by_device(store, EVERYONE, DEVICE, RETENTION)}
    assert records[REQUEST].completion_status.value == "Complete"
    assert records[LATER_REQUEST].completion_status.value == "Failed"


def test_a_successful_retry_of_a_failed_activation_completes_the_record(store: SqlStore) -> None:
    # 8F67 (not actioned), then the User re-sends the 11.3 and the device reports success: neither
    # alert names the Update Firmware request (§5.3 v2).
    ingest(store, ndjson_events([event("Accepted by DSP", 0), event("Successful HAN Transfer", 60)]))
    ingest(store, ndjson_events([event("Activation Failed", 120, request_id="-", reason="8F67")]))
    assert only_record(store).current_status.value == "Activation Failed"
    summary = ingest(store, ndjson_events([event("Firmware Activated", 300, request_id="-", reason="8F66")]))
    assert (summary.accepted, summary.rejected) == (1, 0)
    record = only_record(store)
    assert (record.current_status.value, record.completion_status.value) == ("Firmware Activated", "Complete")
    assert [entry.status.value for entry in record.history][-2:] == ["Activation Failed", "Firmware Activated"]


def test_a_han_transfer_reported_successful_then_failing_verification_is_not_delivered(store: SqlStore) -> None:
    ingest(store, ndjson_events([event("Accepted by DSP", 0), event("Successful HAN Transfer", 60, reason="CCS08")]))
    ingest(store, ndjson_events([event("Not Delivered at HAN", 90, request_id="-", reason="8F1C")]))
    record = only_record(store)
    assert (record.current_status.value, record.current_status_reason) == ("Not Delivered at HAN", "8F1C")
    # A retried transfer can still succeed, and is attached to the same record.
    ingest(store, ndjson_events([event("Successful HAN Transfer", 200, request_id="-")]))
    assert only_record(store).current_status.value == "Successful HAN Transfer"


def test_a_complete_record_never_takes_an_event_without_a_request(store: SqlStore) -> None:
    ingest(store, ndjson_events([event("Accepted by DSP", 0), event("Firmware Activated", 60)]))
    summary = ingest(store, ndjson_events([event("Activation Failed", 90, request_id="-")]))
    assert summary.rejected == 1
    assert "no firmware distribution in progress" in summary.errors[0][1]
    assert only_record(store).current_status.value == "Firmware Activated"


def test_an_event_without_request_and_nothing_in_progress_is_kept_for_resubmission(store: SqlStore) -> None:
    summary = ingest(store, ndjson_events([event("Successful HAN Transfer", 0, request_id="-")]))
    assert summary.rejected == 1
    assert summary.errors[0][1] == f"no firmware distribution in progress for device {DEVICE}"
    assert len(list_rejections(store)) == 1


def test_events_of_other_stages_must_name_the_request(store: SqlStore) -> None:
    summary = ingest(store, ndjson_events([event("Successful CH Transfer", 0, request_id="-")]))
    assert summary.rejected == 1
    assert summary.errors[0][1].startswith("request_id: is required")


def test_request_pages_are_in_device_order_and_follow_the_cursor(store: SqlStore) -> None:
    devices = [f"00-00-00-00-00-00-00-{n:02X}" for n in range(25)]
    ingest(store, ndjson_events([event("Accepted by DSP", n, device_id=d) for n, d in enumerate(reversed(devices))]))
    seen: list[str] = []
    cursor = None
    while True:
        page = records_by_request(store, EVERYONE, REQUEST, RETENTION, limit=10, cursor=cursor)
        seen.extend(r.device_id for r in page.records)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == devices


def test_a_party_sees_only_requests_it_originated(store: SqlStore) -> None:
    other_request = "90-B3-D5-1F-30-02-00-00:90-B3-D5-1F-30-00-00-02:7"
    ingest(store, ndjson_events([event("Accepted by DSP", 0), event("Accepted by DSP", 1, request_id=other_request)]))
    party = Viewer("supplier-a", frozenset({"90-B3-D5-1F-30-01-00-00"}))
    visible = records_by_device(store, party, DEVICE, RETENTION)
    assert [r.service_request_id for r in visible] == [REQUEST]


def test_history_lists_every_event_in_time_order_with_receipt_times(store: SqlStore) -> None:
    ingest(store, ndjson_events([event("Successful CH Transfer", 30), event("Accepted by DSP", 0)]))
    record = only_record(store)
    history = record.history
    assert [entry.status.value for entry in history] == ["Accepted by DSP", "Successful CH Transfer"]
    assert all(entry.received_at.tzinfo is not None for entry in history)


def test_tracked_device_types_are_configuration(store: SqlStore) -> None:
    options = IngestOptions(tracked=frozenset({DeviceType.ESME}))
    summary = ingest(store, ndjson_events([event("Accepted by DSP", 0, device_type="PPMID")]), options)
    assert summary.errors[0][1] == "device_type: PPMID devices are not tracked by this service"


_STATUSES = st.sampled_from(
    [
        "Accepted by DSP",
        "Rejected by DSP",
        "Approved for Distribution",
        "Successful CH Transfer",
        "Failed CH Transfer",
        "Successful HAN Transfer",
        "Firmware Activated",
        "Reset by DCC",
    ]
)
_EVENTS = st.lists(
    st.builds(
        lambda status, minute, device, request, version: event(
            status,
            minute,
            device_id=f"00-00-00-00-00-00-00-0{device}",
            request_id=f"90-B3-D5-1F-30-01-00-00:90-B3-D5-1F-30-00-00-02:{request}",
            firmware_version=version,
        ),
        _STATUSES,
        st.integers(0, 20),
        st.integers(0, 3),
        st.integers(1, 2),
        st.sampled_from(["-", "V1", "V2"]),
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=_EVENTS, data=st.data())
def test_any_order_and_any_batching_give_the_same_records(
    events: list[dict[str, str]],
    data: st.DataObject,
    database_url: str,
    fresh_database_url: Callable[[], str],
) -> None:
    reference_url = fresh_database_url()
    reference = SqlStore.open(reference_url)
    ingest(reference, ndjson_events(events))
    reference.dispose()

    shuffled = data.draw(st.permutations(events))
    batch_size = data.draw(st.integers(1, len(events)))
    other_url = fresh_database_url()
    other = SqlStore.open(other_url)
    ingest(other, ndjson_events(shuffled), IngestOptions(batch_size=batch_size))
    ingest(other, ndjson_events(shuffled[: len(shuffled) // 2]))  # re-sending part of it is a no-op
    other.dispose()
    assert database_snapshot(other_url) == database_snapshot(reference_url)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=_EVENTS)
def test_the_stored_state_of_every_record_is_the_derivation_rule_applied_to_its_history(
    events: list[dict[str, str]], fresh_database_url: Callable[[], str]
) -> None:
    store = SqlStore.open(fresh_database_url())
    ingest(store, ndjson_events(events), IngestOptions(batch_size=4))
    devices = {fields["device_id"] for fields in events}
    with store.read() as tx:
        for device in devices:
            records = tx.records_by_device(device, None)
            histories = tx.histories([record.record_id for record in records])
            for record in records:
                history = [stored.event for stored in histories[record.record_id]]
                assert record.state == derive_state(history)
    store.dispose()
