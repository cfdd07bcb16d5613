"""`fdtrack ingest --format duis` and re-submission as an operator uses them (SPEC §8.1, §8.5)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import duis_messages as m
from conftest import needs_shared_duis
from fdtrack.cli import main

D = [f"00-DB-12-34-56-78-90-{n:02X}" for n in range(0xB0, 0xB5)]
P0 = "00-DB-12-34-56-78-91-0A"
FIRMWARE, PPMID_FIRMWARE = "0123ABCD", "0A0B0C0D"


def fdtrack(database_url: str, *args: str, stdin: bytes | None = None) -> Result:
    return CliRunner().invoke(main, ["--database-url", database_url, *args], input=stdin)


def at(day: int, hour: int) -> str:
    return f"2026-11-{day:02d}T{hour:02d}:00:00Z"


def write_messages(folder: Path, messages: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for number, text in enumerate(messages, start=1):
        (folder / f"{number:02d}.xml").write_text(text, encoding="utf-8")
    return folder


CAMPAIGN = [
    m.update_firmware_request(9000, D, FIRMWARE),
    m.update_firmware_request(9001, [P0], PPMID_FIRMWARE, ppmid=True),
    m.update_firmware_response(9000, at(2, 10), "W110101", {"OtherRequestInProgressList": [D[4]]}),
    m.update_firmware_response(9001, at(2, 10), ppmid=True),
    m.csp_delivery_status(9000, D[0], at(2, 11)),
    m.csp_delivery_status(9000, D[1], at(2, 11)),
    m.csp_delivery_status(9000, D[2], at(2, 11), "Failure"),
    m.csp_delivery_status(9000, D[3], at(2, 11)),
    m.csp_delivery_status(9001, P0, at(2, 11), firmware_version=PPMID_FIRMWARE),
    m.device_alert(D[0], at(3, 9)),
    m.firmware_transfer_alert(D[1], at(3, 9), counter=9000),
    m.device_alert(D[3], at(3, 9), "8F1C"),
    m.firmware_transfer_alert(P0, at(3, 9), firmware_version=PPMID_FIRMWARE),
    m.device_alert(D[0], at(3, 9)),  # duplicated by the DCC
    m.activate_firmware_request(9100, D[0]),
    m.activation_response(9100, D[0], at(4, 9), 0),
    m.activation_response(9101, D[1], at(4, 9), None),
    m.future_dated_alert(9101, D[1], at(5, 9), "8F66", 0),
    m.ppmid_firmware_alert(P0, at(4, 12), "ActivationSuccess", PPMID_FIRMWARE),
    m.csp_delivery_status(9000, D[0], at(2, 12)),  # late: received after the activation
]


def event(
    status: str, device: str, occurred_at: str, reason: str = "", counter: int | None = None, **extra: str
) -> str:
    fields = {"device_id": device, "status": status, "occurred_at": occurred_at, "reason": reason, **extra}
    if counter is not None:
        fields["request_id"] = m.request_id(counter)
    return json.dumps(fields)


# The same campaign written as tracking events by hand (SPEC §5), to compare the records both produce.
CAMPAIGN_EVENTS = [
    *(event("Accepted by DSP", device, at(2, 10), counter=9000, firmware_version=FIRMWARE) for device in D[:4]),
    event("Rejected by DSP", D[4], at(2, 10), "Other firmware request in progress", 9000, firmware_version=FIRMWARE),
    event("Accepted by DSP", P0, at(2, 10), counter=9001, firmware_version=PPMID_FIRMWARE, device_type="PPMID"),
    *(event("Successful CH Transfer", d, at(2, 11), counter=9000, firmware_version=FIRMWARE) for d in (D[0], D[1])),
    event(
        "Failed CH Transfer", D[2], at(2, 11), "Transfer to the Comms Hub failed (N57)", 9000, firmware_version=FIRMWARE
    ),
    event("Successful CH Transfer", D[3], at(2, 11), counter=9000, firmware_version=FIRMWARE),
    event("Successful CH Transfer", P0, at(2, 11), counter=9001, firmware_version=PPMID_FIRMWARE),
    event("Successful HAN Transfer", D[0], at(3, 9), "8F72: image received and verified"),
    event("Successful HAN Transfer", D[1], at(3, 9), counter=9000, firmware_version=FIRMWARE),
    event("Not Delivered at HAN", D[3], at(3, 9), "8F1C: firmware verification failed at the device"),
    event("Successful HAN Transfer", P0, at(3, 9), firmware_version=PPMID_FIRMWARE),
    event("Successful HAN Transfer", D[0], at(3, 9), "8F72: image received and verified"),
    event("Firmware Activated", D[0], at(4, 9)),
    event("Firmware Activated", D[1], at(5, 9), "8F66: future-dated activation actioned"),
    event("Firmware Activated", P0, at(4, 12), firmware_version=PPMID_FIRMWARE, device_type="PPMID"),
    event("Successful CH Transfer", D[0], at(2, 12), counter=9000, firmware_version=FIRMWARE),
]


def looked_up(database_url: str, counter: int) -> list[dict[str, object]]:
    result = fdtrack(database_url, "lookup", "--request", m.request_id(counter), "--format", "json")
    assert result.exit_code == 0, result.output
    found: list[dict[str, object]] = json.loads(result.output)["records"]
    for record in found:
        record.pop("available_until")
        for entry in record["history"]:  # type: ignore[attr-defined]
            entry.pop("received_at")
    return found


def test_a_campaign_of_duis_messages_makes_the_same_records_as_its_events(database_url: str, tmp_path: Path) -> None:
    folder = write_messages(tmp_path / "campaign", CAMPAIGN)
    from_duis = fdtrack(database_url, "ingest", "--json", str(folder))
    assert from_duis.exit_code == 0, from_duis.output
    events_file = tmp_path / "campaign.ndjson"
    events_file.write_text("\n".join(CAMPAIGN_EVENTS) + "\n")
    other = f"sqlite:///{tmp_path / 'events.db'}"
    from_events = fdtrack(other, "ingest", "--json", str(events_file))
    assert from_events.exit_code == 0, from_events.output
    counts = {"accepted": 19, "duplicates": 1, "rejected": 0, "errors": []}
    # The acknowledgement of the future-dated 11.3 (whose request was not sent) changes nothing: ignored.
    assert json.loads(from_duis.output) == {**counts, "ignored": 1}
    assert json.loads(from_events.output) == {**counts, "ignored": 0}
    for counter in (9000, 9001):
        assert looked_up(database_url, counter) == looked_up(other, counter)
    statuses = {record["device_id"]: record["current_status"] for record in looked_up(database_url, 9000)}
    assert statuses == {
        D[0]: "Firmware Activated",
        D[1]: "Firmware Activated",
        D[2]: "Failed CH Transfer",
        D[3]: "Not Delivered at HAN",
        D[4]: "Rejected by DSP",
    }


def test_hostile_files_are_refused_and_the_valid_files_around_them_kept(database_url: str, tmp_path: Path) -> None:
    folder = write_messages(tmp_path / "in", [m.update_firmware_request(9200, D[:2])])
    hostile = m.FIXTURES / "hostile"
    for name in ("billion-laughs.xml", "truncated.xml", "latin-1.xml", "wrong-namespace.xml"):
        (folder / f"03-{name}").write_bytes((hostile / name).read_bytes())
    (folder / "03-xxe.xml").write_bytes((m.SHARED_DUIS / "duis-xxe.xml").read_bytes())
    (folder / "04.xml").write_text(m.update_firmware_response(9200, at(2, 10)))
    (folder / "notes.txt").write_text("not a message: ignored, it is not an .xml file")
    result = fdtrack(database_url, "ingest", "--json", str(folder))
    assert result.exit_code == 3
    summary = json.loads(result.output)
    assert (summary["accepted"], summary["rejected"]) == (2, 5)
    reasons = {Path(error["source"]).name: error["error"] for error in summary["errors"]}
    assert "document type declaration" in reasons["03-billion-laughs.xml"]
    assert "document type declaration" in reasons["03-xxe.xml"]
    assert "not well-formed XML" in reasons["03-truncated.xml"]
    assert "not valid UTF-8" in reasons["03-latin-1.xml"]
    assert "is not a DUIS message" in reasons["03-wrong-namespace.xml"]


def test_a_message_on_stdin_is_ingested(database_url: str) -> None:
    request = fdtrack(
        database_url, "ingest", "--format", "duis", "-", stdin=m.update_firmware_request(9300, D[:1]).encode()
    )
    assert request.exit_code == 0, request.output
    response = m.update_firmware_response(9300, at(2, 10)).encode()
    result = fdtrack(database_url, "ingest", "--format", "duis", "--json", "-", stdin=response)
    assert json.loads(result.output)["accepted"] == 1


def test_a_missing_path_is_a_usage_error_before_anything_is_ingested(database_url: str, tmp_path: Path) -> None:
    result = fdtrack(database_url, "ingest", "--format", "duis", str(tmp_path / "absent.xml"))
    assert result.exit_code == 2
    assert "absent.xml: no such file or directory" in " ".join(result.output.split())


def test_a_response_kept_for_its_missing_request_is_resolved_by_resubmission(database_url: str, tmp_path: Path) -> None:
    response = tmp_path / "response.xml"
    response.write_text(m.update_firmware_response(9400, at(2, 10)))
    first = fdtrack(database_url, "ingest", "--json", str(response))
    assert first.exit_code == 3
    assert "has not been received" in json.loads(first.output)["errors"][0]["error"]
    still = fdtrack(database_url, "rejects", "resubmit", "--all", "--json")
    assert (still.exit_code, json.loads(still.output)["resolved"]) == (3, 0)
    request = tmp_path / "request.xml"
    request.write_text(m.update_firmware_request(9400, D[:3]))
    assert fdtrack(database_url, "ingest", str(request)).exit_code == 0
    resubmitted = fdtrack(database_url, "rejects", "resubmit", "--all", "--json")
    assert resubmitted.exit_code == 0, resubmitted.output
    assert json.loads(resubmitted.output) | {"errors": []} == {
        "accepted": 3,
        "duplicates": 0,
        "rejected": 0,
        "errors": [],
        "ignored": 0,
        "resolved": 1,
    }


@pytest.mark.parametrize("backend", ["sqlite"])
@needs_shared_duis
def test_schema_validation_refuses_invalid_messages_with_the_schema_error(backend: str, tmp_path: Path) -> None:
    url = f"{backend}:///{tmp_path / 'schema.db'}"
    folder = write_messages(
        tmp_path / "in",
        [
            m.update_firmware_request(9500, D[:1]),
            m.update_firmware_response(9500, at(2, 10)).replace("<sr:ResponseCode>I0<", "<sr:ResponseCode>X1<"),
        ],
    )
    schema = m.SHARED_DUIS / "DUIS Schema V5.4.xsd"
    result = fdtrack(url, "ingest", "--json", "--schema", str(schema), str(folder))
    assert result.exit_code == 3
    [error] = json.loads(result.output)["errors"]
    assert "does not match the schema DUIS Schema V5.4.xsd at /sr:Response/sr:Header/sr:ResponseCode" in error["error"]


def test_schema_needs_duis_input(tmp_path: Path) -> None:
    events = tmp_path / "e.ndjson"
    events.write_text("")
    result = fdtrack(f"sqlite:///{tmp_path / 'x.db'}", "ingest", "--schema", str(events), str(events))
    assert result.exit_code == 2
    assert "--schema applies to DUIS messages only" in result.output


def test_messages_about_something_else_are_counted_as_ignored_and_listed_with_verbose(
    database_url: str, tmp_path: Path
) -> None:
    folder = write_messages(
        tmp_path / "mixed",
        [
            m.update_firmware_request(9600, D[:2]),
            m.other_response(9601, D[0], at(2, 10)),
            m.firmware_upgrade_requested(D[:2], at(2, 10)),
            m.update_firmware_response(9600, at(2, 11)),
        ],
    )
    quiet = fdtrack(database_url, "ingest", "--json", str(folder))
    assert quiet.exit_code == 0, quiet.output
    assert json.loads(quiet.output) == {"accepted": 2, "duplicates": 0, "rejected": 0, "errors": [], "ignored": 2}
    verbose = fdtrack(database_url, "ingest", "--verbose", str(folder))
    assert verbose.exit_code == 0, verbose.output
    lines = verbose.output.splitlines()
    assert lines[0] == "accepted 0, duplicates 2, rejected 0, ignored 2"
    assert lines[1:] == [
        f"  {folder / '01.xml'}: registered request {m.request_id(9600)} for 2 devices",
        f"  {folder / '02.xml'}: a response for Service Reference 4.1: ignored: not about firmware distribution",
        f"  {folder / '03.xml'}: DCC Alert N51 FirmwareUpgradeRequested: ignored: asks for an upgrade; names no "
        "Update Firmware request and no outcome (ESME 0123ABCD)",
    ]
    as_json = json.loads(fdtrack(database_url, "ingest", "--json", "--verbose", str(folder / "02.xml")).output)
    assert as_json["notes"] == [
        {
            "source": str(folder / "02.xml"),
            "note": "a response for Service Reference 4.1: ignored: not about firmware distribution",
        }
    ]
    assert fdtrack(database_url, "rejects", "list").output.strip() == "no rejected events"
