"""The `fdtrack` command as an operator uses it: exit codes, summaries and output formats (SPEC §8.1)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from fdtrack.cli import main

REQUEST = "90-B3-D5-1F-30-01-00-00:90-B3-D5-1F-30-00-00-02:1000"
DEVICE = "00-DB-12-34-56-78-90-A0"


def fdtrack(database_url: str, *args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(main, ["--database-url", database_url, *args], input=stdin)


def line(status: str, occurred_at: str, **fields: str) -> str:
    return json.dumps(
        {"request_id": REQUEST, "device_id": DEVICE, "status": status, "occurred_at": occurred_at, **fields}
    )


@pytest.fixture
def events_file(tmp_path: Path) -> Path:
    path = tmp_path / "events.ndjson"
    path.write_text(
        "\n".join(
            [
                line("Accepted by DSP", "2026-11-20T10:00:00Z", firmware_version="1A2B3C4D", device_type="ESME"),
                "",
                line("Successful CH Transfer", "2026-11-20T12:00:00+01:00", reason="=cmd|' /C calc'!A0"),
            ]
        )
        + "\n"
    )
    return path


def test_ingest_prints_the_json_summary_and_exits_0(database_url: str, events_file: Path) -> None:
    result = fdtrack(database_url, "ingest", "--json", str(events_file))
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"accepted": 2, "duplicates": 0, "rejected": 0, "errors": [], "ignored": 0}


def test_ingest_exits_3_when_some_events_are_rejected_and_keeps_the_rest(database_url: str, tmp_path: Path) -> None:
    path = tmp_path / "mixed.ndjson"
    path.write_text(line("Accepted by DSP", "2026-11-20T10:00:00Z") + "\n{not json\n")
    result = fdtrack(database_url, "ingest", "--json", str(path))
    assert result.exit_code == 3
    summary = json.loads(result.output)
    assert (summary["accepted"], summary["rejected"]) == (1, 1)
    assert summary["errors"][0]["source"] == f"{path}:2"
    assert summary["errors"][0]["error"].startswith("event: line is not valid JSON")


def test_ingest_reads_csv_from_stdin(database_url: str) -> None:
    document = (
        f"request_id,device_id,status,occurred_at\n{REQUEST},00db1234567890a0,accepted by dsp,2026-11-20T10:00:00Z\n"
    )
    result = fdtrack(database_url, "ingest", "--format", "csv", "--json", "-", stdin=document)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["accepted"] == 1


def test_ingest_exits_2_for_an_unreadable_input(database_url: str, tmp_path: Path) -> None:
    result = fdtrack(database_url, "ingest", str(tmp_path / "missing.ndjson"))
    assert result.exit_code == 2
    assert "missing.ndjson" in result.output


def test_ingest_exits_2_when_the_format_cannot_be_guessed(database_url: str, tmp_path: Path) -> None:
    path = tmp_path / "events.txt"
    path.write_text("")
    result = fdtrack(database_url, "ingest", str(path))
    assert result.exit_code == 2
    assert "--format" in result.output


def test_lookup_by_request_as_csv_follows_the_download_format(database_url: str, events_file: Path) -> None:
    fdtrack(database_url, "ingest", str(events_file))
    result = fdtrack(database_url, "lookup", "--request", REQUEST.lower(), "--format", "csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.output)))
    assert rows == [
        [
            "Service Request ID",
            "Firmware Version",
            "Device ID",
            "Current Status",
            "Current Status Reason",
            "Current Status Update Time and Date",
            "Completion Status",
        ],
        [
            REQUEST,
            "1A2B3C4D",
            DEVICE,
            "Successful CH Transfer",
            "'=cmd|' /C calc'!A0",
            "2026-11-20T11:00:00Z",
            "In Progress",
        ],
    ]


def test_lookup_by_device_as_json_has_the_api_record_shape(database_url: str, events_file: Path) -> None:
    fdtrack(database_url, "ingest", str(events_file))
    result = fdtrack(database_url, "lookup", "--device", "00db1234567890a0", "--format", "json")
    assert result.exit_code == 0, result.output
    [record] = json.loads(result.output)["records"]
    assert record["current_status_updated_at"] == "2026-11-20T11:00:00Z"
    assert record["device_type"] == "ESME"
    assert [entry["status"] for entry in record["history"]] == ["Accepted by DSP", "Successful CH Transfer"]


def test_lookup_table_shows_the_record(database_url: str, events_file: Path) -> None:
    fdtrack(database_url, "ingest", str(events_file))
    result = fdtrack(database_url, "lookup", "--device", DEVICE)
    assert result.exit_code == 0
    assert "Successful CH Transfer" in result.output


def test_lookup_of_an_invalid_id_names_the_field_and_the_form(database_url: str) -> None:
    result = fdtrack(database_url, "lookup", "--device", "00-DB")
    assert result.exit_code == 2
    assert "device_id: '00-DB' is not a Device ID, expected 16 hex digits" in result.output


def test_lookup_of_nothing_says_so(database_url: str) -> None:
    result = fdtrack(database_url, "lookup", "--device", DEVICE)
    assert result.exit_code == 1
    assert f"No firmware distribution records found for Device ID {DEVICE}" in result.output


def test_reset_replaces_an_in_progress_status_and_refuses_twice(database_url: str, events_file: Path) -> None:
    fdtrack(database_url, "ingest", str(events_file))
    reset = fdtrack(database_url, "reset", DEVICE, "--reason", "Stuck at CH for 5 days", "--operator", "sc-jo")
    assert reset.exit_code == 0, reset.output
    assert "was Successful CH Transfer" in reset.output
    shown = json.loads(fdtrack(database_url, "lookup", "--device", DEVICE, "--format", "json").output)
    assert shown["records"][0]["current_status"] == "Reset by DCC"
    assert shown["records"][0]["current_status_reason"] == "Stuck at CH for 5 days"
    again = fdtrack(database_url, "reset", DEVICE, "--reason", "again", "--operator", "sc-jo")
    assert again.exit_code == 1
    assert f"no firmware distribution in progress for device {DEVICE}" in again.output


def test_reset_of_a_named_complete_record_needs_force_and_says_how(database_url: str, tmp_path: Path) -> None:
    path = tmp_path / "activated.ndjson"
    path.write_text(
        "\n".join(
            line(status, f"2026-11-20T1{n}:00:00Z")
            for n, status in enumerate(("Accepted by DSP", "Firmware Activated"))
        )
    )
    fdtrack(database_url, "ingest", str(path))
    named = ("reset", DEVICE, "--reason", "User disputes it", "--operator", "sc-jo", "--request", REQUEST)
    refused = fdtrack(database_url, *named)
    assert refused.exit_code == 1
    assert " ".join(refused.output.split()) == (
        f"the record for device {DEVICE} in request {REQUEST} is Complete (Firmware Activated); "
        "add --force to reset a record that is not In Progress"
    )
    shown = json.loads(fdtrack(database_url, "lookup", "--device", DEVICE, "--format", "json").output)
    assert shown["records"][0]["current_status"] == "Firmware Activated"  # nothing changed

    forced = fdtrack(database_url, *named, "--force")
    assert forced.exit_code == 0, forced.output
    assert "(was Firmware Activated, forced: it was not In Progress)" in forced.output
    shown = json.loads(fdtrack(database_url, "lookup", "--device", DEVICE, "--format", "json").output)
    assert shown["records"][0]["current_status"] == "Reset by DCC"

    twice = fdtrack(database_url, *named, "--force")
    assert twice.exit_code == 1
    assert "is already Reset by DCC and cannot be reset again" in " ".join(twice.output.split())


def test_purge_as_of_deletes_records_past_retention(database_url: str, events_file: Path) -> None:
    fdtrack(database_url, "ingest", str(events_file))
    kept = fdtrack(database_url, "purge", "--as-of", "2000-01-01T00:00:00Z")
    assert kept.output.strip() == "deleted 0 records"
    gone = fdtrack(database_url, "purge", "--as-of", "2100-01-01T00:00:00Z", "--force", "--json")
    assert json.loads(gone.output) == {"deleted": 1}
    assert fdtrack(database_url, "lookup", "--device", DEVICE).exit_code == 1


def test_rejects_are_listed_and_resubmitted_once_they_can_be_attached(database_url: str, tmp_path: Path) -> None:
    alert = tmp_path / "alert.ndjson"
    alert.write_text(
        json.dumps({"device_id": DEVICE, "status": "Successful HAN Transfer", "occurred_at": "2026-11-20T15:00:00Z"})
    )
    assert fdtrack(database_url, "ingest", str(alert)).exit_code == 3
    listed = json.loads(fdtrack(database_url, "rejects", "list", "--json").output)
    assert listed[0]["reason"] == f"no firmware distribution in progress for device {DEVICE}"

    request = tmp_path / "request.ndjson"
    request.write_text(line("Accepted by DSP", "2026-11-20T10:00:00Z") + "\n")
    fdtrack(database_url, "ingest", str(request))
    resubmitted = fdtrack(database_url, "rejects", "resubmit", "--all", "--json")
    assert resubmitted.exit_code == 0, resubmitted.output
    assert json.loads(resubmitted.output)["resolved"] == 1
    assert json.loads(fdtrack(database_url, "rejects", "list", "--json").output) == []
    shown = json.loads(fdtrack(database_url, "lookup", "--device", DEVICE, "--format", "json").output)
    assert shown["records"][0]["current_status"] == "Successful HAN Transfer"


def test_simulate_writes_a_stream_that_ingests(database_url: str, tmp_path: Path) -> None:
    path = tmp_path / "sim.ndjson"
    simulated = CliRunner().invoke(
        main, ["simulate", "--requests", "5", "--max-devices", "20", "-o", str(path), "--json"]
    )
    assert simulated.exit_code == 0, simulated.output
    result = fdtrack(database_url, "ingest", "--json", str(path))
    assert json.loads(result.output)["accepted"] > 0
