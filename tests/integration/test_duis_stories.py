"""End-to-end stories: DUIS messages of firmware distributions become records, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

import duis_messages as m
from fdtrack.adapters.db.store import SqlStore
from fdtrack.adapters.duis.decoder import DuisDecoder
from fdtrack.domain.identifiers import ServiceRequestId, parse_service_request_id
from fdtrack.domain.retention import RetentionPolicy
from fdtrack.services import purge as purge_service
from fdtrack.services.duis_ingest import DuisDocument, ingest_duis, ingest_duis_body
from fdtrack.services.ingest import IngestSummary
from fdtrack.services.lookup import DistributionRecordView, Viewer, iter_records_by_request, records_by_device
from fdtrack.services.ports import FirmwareRequest

D = [f"00-DB-12-34-56-78-90-{n:02X}" for n in range(0xA0, 0xA8)]
P = ["00-DB-12-34-56-78-91-01", "00-DB-12-34-56-78-91-02"]


def m_id(counter: int) -> ServiceRequestId:
    return parse_service_request_id(m.request_id(counter))


def at(day: int, hour: int) -> str:
    return f"2026-11-{day:02d}T{hour:02d}:00:00Z"


def ingest(store: SqlStore, *documents: str) -> IngestSummary:
    batch = [DuisDocument(f"message-{number}.xml", text.encode()) for number, text in enumerate(documents, 1)]
    return ingest_duis(store, store.firmware_requests, DuisDecoder(), batch)


def records(store: SqlStore, counter: int) -> dict[str, DistributionRecordView]:
    viewer = Viewer.everyone("test")
    found = iter_records_by_request(store, viewer, m.request_id(counter), RetentionPolicy())
    return {record.device_id: record for record in found}


def state(record: DistributionRecordView) -> tuple[str, str, str]:
    return (record.current_status.value, record.current_status_reason, record.completion_status.value)


def history(record: DistributionRecordView) -> list[str]:
    return [entry.status.value for entry in record.history]


def rejections(store: SqlStore) -> list[tuple[str, str, str]]:
    with store.engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT source, format, reason FROM rejected_events ORDER BY id"))
        return [(row.source, row.format, row.reason) for row in rows]


def test_an_11_1_goes_through_every_stage_to_activation(store: SqlStore) -> None:
    summary = ingest(
        store,
        m.update_firmware_request(1000, D[:2], "0123ABCD"),
        m.update_firmware_response(1000, at(2, 10)),
        m.csp_delivery_status(1000, D[0], at(2, 11)),
        m.csp_delivery_status(1000, D[1], at(2, 11)),
        m.device_alert(D[0], at(3, 9)),
        m.firmware_transfer_alert(D[1], at(3, 9), counter=1000),
        m.activate_firmware_request(1001, D[0]),
        m.activation_response(1001, D[0], at(4, 9), 0),
        m.activation_response(1002, D[1], at(4, 9), None),  # future-dated: outcome follows
        m.future_dated_alert(1002, D[1], at(5, 9), "8F66", 0),
    )
    assert (summary.accepted, summary.duplicates, summary.rejected) == (8, 0, 0)
    found = records(store, 1000)
    for device in D[:2]:
        assert state(found[device]) == ("Firmware Activated", found[device].current_status_reason, "Complete")
        assert found[device].firmware_version == "0123ABCD"
        assert history(found[device]) == [
            "Accepted by DSP",
            "Successful CH Transfer",
            "Successful HAN Transfer",
            "Firmware Activated",
        ]
    assert found[D[1]].current_status_reason == "8F66: future-dated activation actioned"


def test_failures_at_each_stage_end_the_records_they_concern(store: SqlStore) -> None:
    summary = ingest(
        store,
        m.update_firmware_request(2000, D),
        m.update_firmware_response(
            2000, at(2, 10), "W110101", {"NotCommissionedDeviceIDList": [D[6]], "InvalidGBCSVersionList": [D[7]]}
        ),
        m.csp_delivery_status(2000, D[0], at(2, 11), "Failure"),
        m.firmware_distribution_failure(2000, [D[1]], at(2, 12)),
        *(m.csp_delivery_status(2000, device, at(2, 11)) for device in D[2:6]),
        m.firmware_transfer_alert(D[2], at(3, 9), "FirmwareImageDiscarded", counter=2000),
        m.device_alert(D[3], at(3, 9), "8F1C"),
        m.device_alert(D[4], at(3, 9)),
        m.device_alert(D[5], at(3, 9)),
        m.activation_response(2001, D[4], at(4, 9), 2),
        m.activation_response(2002, D[5], at(4, 9), None, code="E21"),
    )
    assert summary.rejected == 0
    found = records(store, 2000)
    assert {device: state(record) for device, record in found.items()} == {
        D[0]: ("Failed CH Transfer", "Transfer to the Comms Hub failed (N57)", "Failed"),
        D[1]: ("Failed CH Transfer", "Firmware distribution failure (N42)", "Failed"),
        D[2]: ("Not Delivered at HAN", "FirmwareImageDiscarded: the Comms Hub discarded the image", "Failed"),
        D[3]: ("Not Delivered at HAN", "8F1C: firmware verification failed at the device", "Failed"),
        D[4]: ("Activation Failed", "Activation failed: hash mismatch", "Failed"),
        D[5]: ("Activation Failed", "E21: Communications failure: no response received from the device", "Failed"),
        D[6]: ("Rejected by DSP", "Device not commissioned", "Failed"),
        D[7]: ("Rejected by DSP", "Invalid GBCS version for the firmware", "Failed"),
    }


def test_an_error_response_rejects_every_device_of_the_request(store: SqlStore) -> None:
    ingest(store, m.update_firmware_request(2100, D[:3]), m.update_firmware_response(2100, at(2, 10), "E4"))
    found = records(store, 2100)
    assert {state(record) for record in found.values()} == {
        ("Rejected by DSP", "E4: Failed authorisation: User Role not authorised for the device", "Failed")
    }


def test_a_ppmid_update_via_11_4_ends_with_the_ppmid_alert(store: SqlStore) -> None:
    summary = ingest(
        store,
        m.update_firmware_request(3000, P, "0A0B0C0D", ppmid=True),
        m.update_firmware_response(3000, at(2, 10), ppmid=True),
        *(m.csp_delivery_status(3000, device, at(2, 11), firmware_version="0A0B0C0D") for device in P),
        *(m.firmware_transfer_alert(device, at(3, 9), firmware_version="0A0B0C0D") for device in P),
        m.ppmid_firmware_alert(P[0], at(3, 12), "ActivationSuccess", "0A0B0C0D"),
        m.ppmid_firmware_alert(P[1], at(3, 12), "ActivationFailure", "0A0B0C0D"),
    )
    assert (summary.accepted, summary.rejected) == (8, 0)
    found = records(store, 3000)
    assert state(found[P[0]]) == ("Firmware Activated", "", "Complete")
    assert state(found[P[1]])[0::2] == ("Activation Failed", "Failed")
    assert {(r.device_type, r.firmware_version) for r in found.values()} == {("PPMID", "0A0B0C0D")}


def test_late_and_duplicated_alerts_change_nothing_but_the_history(store: SqlStore) -> None:
    ingest(
        store,
        m.update_firmware_request(4000, D[:1]),
        m.update_firmware_response(4000, at(2, 10)),
        m.device_alert(D[0], at(3, 9)),
        m.activation_response(4001, D[0], at(4, 9), 0),
    )
    summary = ingest(
        store,
        m.device_alert(D[0], at(3, 9)),  # sent twice by the DCC
        m.csp_delivery_status(4000, D[0], at(2, 11)),  # arrives after the activation it preceded
    )
    assert (summary.accepted, summary.duplicates, summary.rejected) == (1, 1, 0)
    [record] = records(store, 4000).values()
    assert state(record) == ("Firmware Activated", "", "Complete")
    assert history(record) == [
        "Accepted by DSP",
        "Successful CH Transfer",
        "Successful HAN Transfer",
        "Firmware Activated",
    ]


def test_a_device_alert_without_a_distribution_in_progress_is_kept_as_its_event(store: SqlStore) -> None:
    summary = ingest(store, m.device_alert(D[0], at(3, 9)))
    assert summary.rejected == 1
    [(source, fmt, reason)] = rejections(store)
    assert (source, fmt) == (f"message-1.xml:{D[0]}", "ndjson")
    assert reason == f"no firmware distribution in progress for device {D[0]}"


def test_a_response_before_its_request_in_the_same_run_is_held_back(store: SqlStore) -> None:
    summary = ingest(store, m.update_firmware_response(5000, at(2, 10)), m.update_firmware_request(5000, D[:3]))
    assert (summary.accepted, summary.rejected) == (3, 0)
    assert {state(r)[0] for r in records(store, 5000).values()} == {"Accepted by DSP"}


def test_a_response_whose_request_was_never_seen_is_kept_whole(store: SqlStore) -> None:
    summary = ingest(store, m.update_firmware_response(5100, at(2, 10)))
    assert (summary.accepted, summary.rejected) == (0, 1)
    [(source, fmt, reason)] = rejections(store)
    assert (source, fmt) == ("message-1.xml", "duis")
    assert f"response to Service Request {m.request_id(5100)}" in reason
    assert "has not been received" in reason
    with store.engine.connect() as connection:
        raw = connection.execute(sa.text("SELECT raw FROM rejected_events")).scalar_one()
    assert raw == m.update_firmware_response(5100, at(2, 10))


def test_a_request_id_reused_for_another_device_list_is_refused(store: SqlStore) -> None:
    summary = ingest(store, m.update_firmware_request(5200, D[:2]), m.update_firmware_request(5200, D[:2]))
    assert summary.rejected == 0
    summary = ingest(store, m.update_firmware_request(5200, D[:3]))
    assert summary.rejected == 1
    assert "already names an Update Firmware request" in rejections(store)[0][2]


def test_hostile_messages_are_refused_while_the_valid_ones_around_them_are_kept(store: SqlStore) -> None:
    hostile = (m.SHARED_DUIS / "duis-xxe.xml").read_text()
    laughs = (m.FIXTURES / "hostile" / "billion-laughs.xml").read_text()
    summary = ingest(
        store, m.update_firmware_request(5300, D[:1]), hostile, laughs, m.update_firmware_response(5300, at(2, 10))
    )
    assert (summary.accepted, summary.rejected) == (1, 2)
    assert [fmt for _, fmt, _ in rejections(store)] == ["duis", "duis"]


def test_remembered_requests_are_forgotten_only_once_their_records_are_gone(store: SqlStore) -> None:
    ingest(store, m.update_firmware_request(6000, D[:1]), m.update_firmware_response(6000, at(2, 10)))
    ingest(store, m.update_firmware_request(6001, D[1:2]))  # never answered: no records
    registry = store.firmware_requests
    retention = RetentionPolicy()
    soon = datetime.now(UTC) + timedelta(days=1)
    later = datetime.now(UTC) + retention.period + timedelta(days=1)
    assert purge_service.purge(store, retention, soon, "test") == 0
    assert registry.recall(m_id(6000)) is not None
    assert registry.recall(m_id(6001)) is not None
    assert purge_service.purge(store, retention, later, "test") == 1
    assert registry.recall(m_id(6000)) is None
    assert registry.recall(m_id(6001)) is None


def test_a_registry_keeps_a_50000_device_request_whole(store: SqlStore) -> None:
    devices = tuple(f"00-DB-12-34-{n >> 16 & 0xFF:02X}-{n >> 8 & 0xFF:02X}-{n & 0xFF:02X}-00" for n in range(50_000))
    request = FirmwareRequest(m_id(7000), "11.1", "0123ABCD", devices)
    assert store.firmware_requests.remember(request, datetime.now(UTC))
    assert store.firmware_requests.recall(m_id(7000)) == request


def test_records_by_device_show_the_newest_distribution_first(store: SqlStore) -> None:
    ingest(store, m.update_firmware_request(8000, D[:1]), m.update_firmware_response(8000, at(2, 10), "E5"))
    ingest(store, m.update_firmware_request(8001, D[:1]), m.update_firmware_response(8001, at(3, 10)))
    found = records_by_device(store, Viewer.everyone("test"), D[0], RetentionPolicy())
    assert [record.service_request_id for record in found] == [m.request_id(8001), m.request_id(8000)]


def test_a_message_received_whole_as_a_body_is_ingested(store: SqlStore) -> None:
    decoder = DuisDecoder()
    request = m.update_firmware_request(8100, D[:2]).encode()
    assert ingest_duis_body(store, store.firmware_requests, decoder, request, "api").rejected == 0
    response = m.update_firmware_response(8100, at(2, 10)).encode()
    summary = ingest_duis_body(store, store.firmware_requests, decoder, response, "api")
    assert (summary.accepted, summary.rejected) == (2, 0)


# --- SPEC v2: retries, later failures, future-dated activation, and the messages that confirm activation ---


def delivered(counter: int, device: str) -> list[str]:
    """An 11.1 for one device, accepted, carried to its Comms Hub and verified by the device (8F72)."""
    return [
        m.update_firmware_request(counter, [device], "0123ABCD"),
        m.update_firmware_response(counter, at(2, 10)),
        m.csp_delivery_status(counter, device, at(2, 11)),
        m.device_alert(device, at(3, 9)),
    ]


def the_record(store: SqlStore, counter: int) -> DistributionRecordView:
    [record] = records(store, counter).values()
    return record


def test_an_activation_refused_by_command_failure_is_retried_and_succeeds(store: SqlStore) -> None:
    scheduled = ingest(
        store,
        *delivered(9000, D[0]),
        m.activate_firmware_request(9001, D[0], "2026-11-06T02:00:00Z"),
        m.activation_acknowledgement(9001, D[0], at(3, 10)),
    )
    assert (scheduled.rejected, scheduled.ignored) == (0, 0)
    record = the_record(store, 9000)
    assert state(record) == ("Successful HAN Transfer", "Activation scheduled for 2026-11-06T02:00:00Z", "In Progress")
    ingest(store, m.command_failure(9001, D[0], at(6, 2)))
    assert state(the_record(store, 9000)) == (
        "Activation Failed",
        f"CommandFailure (N24): the DCC Systems could not run the Activate Firmware command {m.request_id(9001, D[0])}",
        "Failed",
    )
    ingest(store, m.activate_firmware_request(9002, D[0]), m.activation_response(9002, D[0], at(6, 9), 0))
    record = the_record(store, 9000)
    assert state(record) == ("Firmware Activated", "", "Complete")
    assert history(record) == [
        "Accepted by DSP",
        "Successful CH Transfer",
        "Successful HAN Transfer",
        "Successful HAN Transfer",
        "Activation Failed",
        "Firmware Activated",
    ]


def test_8f67_then_a_successful_resend_of_the_future_dated_activation(store: SqlStore) -> None:
    ingest(
        store,
        *delivered(9010, D[1]),
        m.activate_firmware_request(9011, D[1], "2026-11-04T02:00:00Z"),
        m.activation_response(9011, D[1], at(3, 10), None),  # the device took it for later
        m.future_dated_alert(9011, D[1], at(4, 2), "8F67", 2),
    )
    assert state(the_record(store, 9010)) == (
        "Activation Failed",
        "8F67: activation not actioned: hash mismatch",
        "Failed",
    )
    summary = ingest(
        store,
        m.activate_firmware_request(9012, D[1], "2026-11-05T02:00:00Z"),
        m.activation_response(9012, D[1], at(4, 9), None),
        m.future_dated_alert(9012, D[1], at(5, 2), "8F66", 0),
    )
    assert (summary.accepted, summary.rejected) == (2, 0)
    record = the_record(store, 9010)
    assert state(record) == ("Firmware Activated", "8F66: future-dated activation actioned", "Complete")
    assert history(record)[-3:] == ["Activation Failed", "Successful HAN Transfer", "Firmware Activated"]


def test_a_comms_hub_transfer_reported_successful_then_failed_by_8f1c_is_not_delivered(store: SqlStore) -> None:
    ingest(
        store,
        m.update_firmware_request(9020, D[2:3]),
        m.update_firmware_response(9020, at(2, 10)),
        m.csp_delivery_status(9020, D[2], at(2, 11)),
        m.firmware_transfer_alert(D[2], at(3, 9), "FileTransferSuccess", counter=9020),  # CCS08
    )
    assert state(the_record(store, 9020))[0] == "Successful HAN Transfer"
    ingest(store, m.device_alert(D[2], at(3, 12), "8F1C"))
    assert state(the_record(store, 9020)) == (
        "Not Delivered at HAN",
        "8F1C: firmware verification failed at the device",
        "Failed",
    )


def test_a_future_dated_acknowledgement_shows_the_schedule_until_8f66_activates(store: SqlStore) -> None:
    ingest(store, *delivered(9030, D[3]), m.activate_firmware_request(9031, D[3], "2026-11-04T02:00:00Z"))
    assert state(the_record(store, 9030))[1] == "8F72: image received and verified"  # the request alone: no event
    ingest(store, m.activation_acknowledgement(9031, D[3], at(3, 10)))
    assert state(the_record(store, 9030))[1] == "Activation scheduled for 2026-11-04T02:00:00Z"
    ingest(store, m.future_dated_alert(9031, D[3], at(4, 2), "8F66", 0))
    assert state(the_record(store, 9030)) == (
        "Firmware Activated",
        "8F66: future-dated activation actioned",
        "Complete",
    )


def test_an_11_2_response_confirms_an_activation_whose_outcome_was_lost(store: SqlStore) -> None:
    ingest(store, *delivered(9040, D[4]), m.activation_response(9041, D[4], at(4, 9), None, code="E21"))
    assert state(the_record(store, 9040))[0] == "Activation Failed"
    other = ingest(store, m.read_firmware_version_response(9042, D[4], at(4, 12), "00000001"))
    assert (other.accepted, other.ignored) == (0, 1)
    assert other.notes == [
        (
            "message-1.xml",
            "SR 11.2 response I0: confirms nothing (the device runs 00000001, not the record's firmware "
            "version 0123ABCD)",
        )
    ]
    confirmed = ingest(store, m.read_firmware_version_response(9043, D[4], at(4, 13), "0123ABCD"))
    assert (confirmed.accepted, confirmed.ignored) == (1, 0)
    assert state(the_record(store, 9040)) == (
        "Firmware Activated",
        "running version 0123ABCD confirmed by 11.2",
        "Complete",
    )


def test_a_running_version_in_the_same_run_as_the_distribution_is_judged_once_the_run_is_stored(
    store: SqlStore,
) -> None:
    summary = ingest(store, *delivered(9050, D[5]), m.read_firmware_version_response(9051, D[5], at(4, 9), "0123ABCD"))
    assert (summary.accepted, summary.rejected, summary.ignored) == (4, 0, 0)
    assert state(the_record(store, 9050))[0] == "Firmware Activated"


def test_8f43_activates_a_delivered_image_and_is_ignored_before_delivery(store: SqlStore) -> None:
    early = ingest(
        store,
        m.update_firmware_request(9060, D[6:7]),
        m.update_firmware_response(9060, at(2, 10)),
        m.device_alert(D[6], at(2, 12), "8F43"),
    )
    assert early.ignored == 1
    assert "its status is Accepted by DSP" in early.notes[-1][1]
    ingest(store, m.device_alert(D[6], at(3, 9)), m.device_alert(D[6], at(4, 2), "8F43"))
    assert state(the_record(store, 9060)) == (
        "Firmware Activated",
        "8F43: the device now executes a new firmware version",
        "Complete",
    )


def test_a_firmware_version_mismatch_naming_the_new_version_confirms_activation(store: SqlStore) -> None:
    ingest(store, *delivered(9070, D[7]), m.firmware_version_mismatch(D[7], at(4, 9), "0123ABCD"))
    record = the_record(store, 9070)
    assert state(record)[0::2] == ("Firmware Activated", "Complete")
    assert record.device_type == "ESME"


def test_8f1b_fails_the_activation(store: SqlStore) -> None:
    ingest(store, *delivered(9080, P[0]), m.device_alert(P[0], at(4, 9), "8F1B"))
    assert state(the_record(store, 9080))[0::2] == ("Activation Failed", "Failed")


def test_messages_about_something_else_are_ignored_and_not_kept_as_rejections(store: SqlStore) -> None:
    summary = ingest(
        store,
        m.update_firmware_request(9090, D[:2]),
        m.other_response(9091, D[0], at(2, 10)),
        m.firmware_upgrade_requested(D[:2], at(2, 10)),
        m.command_failure(9092, D[0], at(2, 11)),  # not a remembered 11.3
        m.device_alert(D[0], at(2, 12), "8F35"),
    )
    assert (summary.accepted, summary.rejected, summary.ignored) == (0, 0, 4)
    assert rejections(store) == []
    assert summary.notes[0] == ("message-1.xml", f"registered request {m.request_id(9090)} for 2 devices")
    assert [source for source, _ in summary.notes[1:]] == [f"message-{n}.xml" for n in range(2, 6)]


def test_remembered_activation_requests_are_forgotten_after_the_retention_period(store: SqlStore) -> None:
    ingest(store, m.activate_firmware_request(9100, D[0], "2026-11-04T02:00:00Z"))
    rid = parse_service_request_id(m.request_id(9100, target=D[0]))
    registry = store.firmware_requests
    retention = RetentionPolicy()
    assert registry.recall_activation(rid) is not None
    purge_service.purge(store, retention, datetime.now(UTC) + timedelta(days=1), "test")
    assert registry.recall_activation(rid) is not None
    purge_service.purge(store, retention, datetime.now(UTC) + retention.period + timedelta(days=1), "test")
    assert registry.recall_activation(rid) is None
