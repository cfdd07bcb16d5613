"""The JSON form of a distribution record (SPEC §8.2): the documented keys and UTC times with a 'Z'."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

from fdtrack.adapters.json_export import record_json
from fdtrack.domain.statuses import ProcessingStatus
from fdtrack.services.lookup import DistributionRecordView
from fdtrack.services.ports import HistoryEntry

PLUS_ONE = timezone(timedelta(hours=1))
REQUEST = "90-B3-D5-1F-30-01-00-00:90-B3-D5-1F-30-00-00-02:1000"
DEVICE = "00-DB-12-34-56-78-90-A0"


def view(firmware_version: str | None = "1.0", device_type: str | None = "ESME") -> DistributionRecordView:
    return DistributionRecordView(
        service_request_id=REQUEST,
        device_id=DEVICE,
        device_type=device_type,
        firmware_version=firmware_version,
        current_status=ProcessingStatus.NOT_DELIVERED_AT_HAN,
        current_status_reason="no route",
        current_status_updated_at=datetime(2021, 11, 5, 15, 3, 22, tzinfo=PLUS_ONE),
        completion_status=ProcessingStatus.NOT_DELIVERED_AT_HAN.completion,
        started_at=datetime(2021, 11, 5, 10, 0, tzinfo=UTC),
        available_until=datetime(2021, 12, 5, 14, 3, 23, 500_000, tzinfo=UTC),
        history=(
            HistoryEntry(
                ProcessingStatus.ACCEPTED_BY_DSP,
                "",
                datetime(2021, 11, 5, 10, 0, tzinfo=UTC),
                datetime(2021, 11, 5, 11, 0, 1, tzinfo=PLUS_ONE),
            ),
            HistoryEntry(
                ProcessingStatus.NOT_DELIVERED_AT_HAN,
                "no route",
                datetime(2021, 11, 5, 14, 3, 22, tzinfo=UTC),
                datetime(2021, 11, 5, 14, 3, 23, 500_000, tzinfo=UTC),
            ),
        ),
    )


def test_a_record_has_exactly_the_documented_keys() -> None:
    assert set(record_json(view())) == {
        "service_request_id",
        "device_id",
        "device_type",
        "firmware_version",
        "current_status",
        "current_status_reason",
        "current_status_updated_at",
        "completion_status",
        "available_until",
        "history",
    }


def test_a_record_carries_its_values_with_statuses_as_written_and_utc_times() -> None:
    assert record_json(view()) == {
        "service_request_id": REQUEST,
        "device_id": DEVICE,
        "device_type": "ESME",
        "firmware_version": "1.0",
        "current_status": "Not Delivered at HAN",
        "current_status_reason": "no route",
        "current_status_updated_at": "2021-11-05T14:03:22Z",
        "completion_status": "Failed",
        "available_until": "2021-12-05T14:03:23.500000Z",
        "history": [
            {
                "status": "Accepted by DSP",
                "reason": "",
                "occurred_at": "2021-11-05T10:00:00Z",
                "received_at": "2021-11-05T10:00:01Z",
            },
            {
                "status": "Not Delivered at HAN",
                "reason": "no route",
                "occurred_at": "2021-11-05T14:03:22Z",
                "received_at": "2021-11-05T14:03:23.500000Z",
            },
        ],
    }


def test_each_history_entry_has_exactly_status_reason_occurred_at_and_received_at() -> None:
    history = record_json(view())["history"]
    assert isinstance(history, list)
    assert all(set(entry) == {"status", "reason", "occurred_at", "received_at"} for entry in history)


def test_blank_firmware_version_and_device_type_are_null() -> None:
    text = json.dumps(record_json(view(firmware_version=None, device_type=None)))
    assert '"firmware_version": null' in text
    assert '"device_type": null' in text


def test_every_time_in_a_record_ends_with_z() -> None:
    record = record_json(view())
    history = record["history"]
    assert isinstance(history, list)
    times = [record["current_status_updated_at"], record["available_until"]]
    times += [entry[key] for entry in history for key in ("occurred_at", "received_at")]
    assert all(isinstance(time, str) and time.endswith("Z") and "+" not in time for time in times)
