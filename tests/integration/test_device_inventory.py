"""The device inventory on SQLite and PostgreSQL: importing it, and the scope rules it lets fdtrack apply (SPEC §3)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result

import duis_messages as m
from fdtrack import demo
from fdtrack.adapters.db.store import SqlStore
from fdtrack.adapters.duis.decoder import DuisDecoder
from fdtrack.cli import main
from fdtrack.domain.device_types import DeviceType
from fdtrack.domain.inventory import InventoryDevice, scope_refusal
from fdtrack.domain.retention import RetentionPolicy
from fdtrack.services.duis_ingest import DuisDocument, ingest_duis
from fdtrack.services.ingest import IngestOptions, ingest
from fdtrack.services.lookup import DeviceTypeOrigin, Viewer, iter_records_by_request, records_by_device
from inventory_messages import CSV_HEADER, Device, inventory_csv, read_inventory_response
from raw_events import ndjson_events

ESME, HCALCS, SMETS1_GSME, HUB, UNKNOWN = (f"00-DB-12-34-56-78-92-{n:02X}" for n in range(0xA0, 0xA5))
INVENTORY = [
    Device(ESME, "ESME", model="Aurora E2"),
    Device(HCALCS, "HCALCS", model="Aurora HC"),
    Device(SMETS1_GSME, "GSME", "SMETS1", "Legacy G1"),
    Device(HUB, "CHF", "CHTS V1.2", "Aurora Hub"),
]
FIRST_RELEASE = IngestOptions(tracked=frozenset({DeviceType.ESME, DeviceType.GSME}))
ESME_AND_GSME = {"FDTRACK_TRACKED_DEVICE_TYPES": "ESME,GSME"}
REQUEST = m.request_id(4200)
AT = "2026-11-20T10:00:00Z"


def fdtrack(database_url: str, *args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, ["--database-url", database_url, *args], env=env)


def inventory_of(store: SqlStore, *device_ids: str) -> dict[str, InventoryDevice]:
    with store.read() as tx:
        return tx.inventory_devices(device_ids)


def kept_rejections(store: SqlStore) -> list[tuple[str, str, str]]:
    with store.engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT source, format, reason FROM rejected_events ORDER BY id"))
        return [(row.source, row.format, row.reason) for row in rows]


def untyped(device_id: str, status: str = "Accepted by DSP", **extra: str) -> dict[str, str]:
    return {"request_id": REQUEST, "device_id": device_id, "status": status, "occurred_at": AT, **extra}


@pytest.fixture
def loaded(store: SqlStore, tmp_path: Path, database_url: str) -> SqlStore:
    path = tmp_path / "inventory.csv"
    path.write_text(inventory_csv(INVENTORY))
    result = fdtrack(database_url, "devices", "import", str(path))
    assert result.exit_code == 0, result.output
    assert result.output == "imported 4 devices, rejected 0\n"
    return store


# --- importing ------------------------------------------------------------------------------------


def test_a_csv_inventory_is_imported_and_its_bad_rows_are_kept_naming_the_field(
    database_url: str, store: SqlStore, tmp_path: Path
) -> None:
    path = tmp_path / "inventory.csv"
    path.write_text(
        "DEVICE MODEL,device type,Device Id\n"
        f"Aurora E2,esme,{ESME.replace('-', '').lower()}\n"
        "Aurora E2,ESME,00-DB-12\n"
        f"Toaster 3000,TOASTER,{HCALCS}\n"
        f"Aurora Hub,CHF,{HUB}\n"
    )
    result = fdtrack(database_url, "devices", "import", "--json", str(path))
    assert result.exit_code == 3, result.output
    summary = json.loads(result.output)
    assert (summary["imported"], summary["rejected"]) == (2, 2)
    assert summary["errors"] == [
        {
            "source": f"{path}:3",
            "error": "Device ID: '00-DB-12' is not a Device ID, expected 16 hex digits, as 8 pairs joined by '-' "
            "or without separators, e.g. 00-DB-12-34-56-78-90-A0",
        },
        {
            "source": f"{path}:4",
            "error": "Device Type: 'TOASTER' is not a DUIS device type, "
            "expected one of: ESME, GSME, GPF, CHF, HCALCS, PPMID, IHD, CAD",
        },
    ]
    assert inventory_of(store, ESME, HCALCS, HUB) == {
        ESME: InventoryDevice(ESME, "ESME", None, "Aurora E2"),
        HUB: InventoryDevice(HUB, "CHF", None, "Aurora Hub"),
    }
    listed = json.loads(fdtrack(database_url, "rejects", "list", "--json").output)
    assert [(r["source"], r["format"]) for r in listed] == [(f"{path}:3", "inv-csv"), (f"{path}:4", "inv-csv")]
    assert listed[1]["raw"] == f"{CSV_HEADER}\n{HCALCS},TOASTER,,Toaster 3000\n"


def test_a_csv_without_the_device_columns_is_refused_as_a_whole(database_url: str, tmp_path: Path) -> None:
    path = tmp_path / "inventory.csv"
    path.write_text("serial,kind\n1,ESME\n")
    result = fdtrack(database_url, "devices", "import", str(path))
    assert result.exit_code == 2
    assert "must name the columns Device ID and Device Type" in result.output


def test_8_2_read_inventory_responses_are_imported_from_files_and_directories(
    database_url: str, store: SqlStore, tmp_path: Path
) -> None:
    folder = tmp_path / "responses"
    folder.mkdir()
    (folder / "01.xml").write_text(read_inventory_response(1, INVENTORY[:2]))
    (folder / "02.xml").write_text(read_inventory_response(2, INVENTORY[2:]))
    (folder / "03.xml").write_text(m.device_alert(ESME, AT))  # not an 8.2 response: kept, not imported
    result = fdtrack(
        database_url, "devices", "import", "--json", str(folder), str(m.FIXTURES / "sr8.2-read-inventory-response.xml")
    )
    assert result.exit_code == 3, result.output
    summary = json.loads(result.output)
    assert (summary["imported"], summary["rejected"]) == (9, 1)
    assert summary["errors"][0]["source"] == str(folder / "03.xml")
    assert summary["errors"][0]["error"].startswith("entry: not a DUIS 8.2 Read Inventory response: ")
    assert inventory_of(store, SMETS1_GSME)[SMETS1_GSME] == InventoryDevice(SMETS1_GSME, "GSME", "SMETS1", "Legacy G1")
    listed = json.loads(fdtrack(database_url, "rejects", "list", "--json").output)
    assert [r["format"] for r in listed] == ["inv-duis"]


def test_the_last_import_of_a_device_wins(database_url: str, loaded: SqlStore, tmp_path: Path) -> None:
    response = tmp_path / "later.xml"
    response.write_text(read_inventory_response(3, [Device(SMETS1_GSME, "GSME", "SMETS2", "Aurora G2")]))
    assert fdtrack(database_url, "devices", "import", str(response)).exit_code == 0
    again = tmp_path / "again.csv"
    again.write_text(f"{CSV_HEADER}\n{HCALCS},ESME,SMETS2,first\n{HCALCS},ESME,SMETS2+,second\n")
    assert fdtrack(database_url, "devices", "import", str(again)).exit_code == 0
    assert inventory_of(loaded, SMETS1_GSME, HCALCS) == {
        SMETS1_GSME: InventoryDevice(SMETS1_GSME, "GSME", "SMETS2", "Aurora G2"),
        HCALCS: InventoryDevice(HCALCS, "ESME", "SMETS2+", "second"),
    }
    with loaded.engine.connect() as connection:
        source = connection.execute(
            sa.text("SELECT source FROM device_inventory WHERE device_id = :d"), {"d": HCALCS}
        ).scalar_one()
    assert source == f"{again}:3"


def test_a_refused_entry_is_imported_when_resubmitted_after_the_inventory_was_fixed_upstream(
    database_url: str, store: SqlStore, tmp_path: Path
) -> None:
    path = tmp_path / "inventory.csv"
    path.write_text(f"{CSV_HEADER}\n{ESME},ESME,SMETS2,{'M' * 31}\n")
    assert fdtrack(database_url, "devices", "import", str(path)).exit_code == 3
    # Still refused for the same reason: it stays open.
    kept = fdtrack(database_url, "rejects", "resubmit", "--all", "--json")
    assert kept.exit_code == 3
    assert json.loads(kept.output)["devices"] == {"imported": 0, "rejected": 1}
    assert len(json.loads(fdtrack(database_url, "rejects", "list", "--json").output)) == 1


# --- the scope rules through the inventory: the story of SPEC §3 for DUIS traffic -----------------


def test_untyped_duis_events_of_hcalcs_smets1_and_comms_hub_devices_are_rejected_and_kept(loaded: SqlStore) -> None:
    devices = [ESME, HCALCS, SMETS1_GSME, HUB, UNKNOWN]
    documents = [
        DuisDocument("request.xml", m.update_firmware_request(4200, devices).encode()),
        DuisDocument("response.xml", m.update_firmware_response(4200, AT).encode()),
    ]
    summary = ingest_duis(loaded, loaded.firmware_requests, DuisDecoder(), documents, FIRST_RELEASE)
    assert (summary.accepted, summary.rejected) == (2, 3)
    assert sorted(summary.errors) == [
        (
            f"response.xml:{HCALCS}",
            f"device {HCALCS} is HCALCS in the device inventory, which is not tracked "
            "(FDTRACK_TRACKED_DEVICE_TYPES=ESME,GSME)",
        ),
        (
            f"response.xml:{SMETS1_GSME}",
            f"device {SMETS1_GSME} is a SMETS1 device in the device inventory (SMETS1); "
            "only SMETS2 and later are tracked",
        ),
        (
            f"response.xml:{HUB}",
            f"device {HUB} is CHF in the device inventory (a Communications Hub); Comms Hubs are never tracked",
        ),
    ]
    assert [(source, fmt) for source, fmt, _ in kept_rejections(loaded)] == [
        (f"response.xml:{device}", "ndjson") for device in (HCALCS, SMETS1_GSME, HUB)
    ]
    shown = {r.device_id: r for r in iter_records_by_request(loaded, Viewer.everyone("t"), REQUEST, RetentionPolicy())}
    assert set(shown) == {ESME, UNKNOWN}  # a device the inventory does not know is tracked, never dropped
    assert (shown[ESME].device_type, shown[ESME].device_type_origin) == ("ESME", DeviceTypeOrigin.INVENTORY)
    assert (shown[UNKNOWN].device_type, shown[UNKNOWN].device_type_origin) == (None, DeviceTypeOrigin.NOT_KNOWN)


def test_untyped_ndjson_events_are_refused_through_the_cli_and_resubmitted_once_the_inventory_says_otherwise(
    database_url: str, loaded: SqlStore, tmp_path: Path
) -> None:
    events = tmp_path / "events.ndjson"
    events.write_text("".join(json.dumps(untyped(d)) + "\n" for d in (ESME, HCALCS, SMETS1_GSME, HUB, UNKNOWN)))
    result = fdtrack(database_url, "ingest", "--json", str(events), env=ESME_AND_GSME)
    assert result.exit_code == 3
    summary = json.loads(result.output)
    assert (summary["accepted"], summary["rejected"]) == (2, 3)
    assert [e["source"] for e in summary["errors"]] == [f"{events}:2", f"{events}:3", f"{events}:4"]
    assert (
        "HCALCS in the device inventory, which is not tracked (FDTRACK_TRACKED_DEVICE_TYPES=ESME,GSME)"
        in (summary["errors"][0]["error"])
    )
    # The supplier's inventory was wrong about the gas meter: re-imported, its event now goes through.
    fixed = tmp_path / "fixed.csv"
    fixed.write_text(inventory_csv([Device(SMETS1_GSME, "GSME", "SMETS2", "Aurora G2")]))
    assert fdtrack(database_url, "devices", "import", str(fixed)).exit_code == 0
    resubmitted = fdtrack(database_url, "rejects", "resubmit", "--all", "--json", env=ESME_AND_GSME)
    assert resubmitted.exit_code == 3
    outcome = json.loads(resubmitted.output)
    assert (outcome["accepted"], outcome["rejected"], outcome["resolved"]) == (1, 2, 1)
    still_open = json.loads(fdtrack(database_url, "rejects", "list", "--json").output)
    assert [r["source"] for r in still_open] == [f"{events}:2", f"{events}:4"]
    shown = json.loads(fdtrack(database_url, "lookup", "--device", SMETS1_GSME, "--format", "json").output)
    assert shown["records"][0]["device_type"] == "GSME"


def test_events_that_carry_a_device_type_keep_todays_rules(loaded: SqlStore) -> None:
    # Its own device type decides: the inventory's HCALCS does not refuse an event saying ESME.
    summary = ingest(loaded, ndjson_events([untyped(HCALCS, device_type="ESME")]), FIRST_RELEASE)
    assert (summary.accepted, summary.rejected) == (1, 0)
    refused = ingest(loaded, ndjson_events([untyped(ESME, device_type="HCALCS")]), FIRST_RELEASE)
    assert refused.errors == [("test:1", "device_type: HCALCS devices are not tracked by this service")]


def test_with_every_type_tracked_hcalcs_devices_are_tracked_but_smets1_and_hubs_are_not(loaded: SqlStore) -> None:
    summary = ingest(loaded, ndjson_events([untyped(d) for d in (HCALCS, SMETS1_GSME, HUB)]))
    assert (summary.accepted, summary.rejected) == (1, 2)


def test_device_alerts_without_a_request_are_refused_by_the_inventory_before_correlation(loaded: SqlStore) -> None:
    alert = {"device_id": HUB, "status": "Successful HAN Transfer", "occurred_at": AT}
    summary = ingest(loaded, ndjson_events([alert]))
    assert summary.errors == [
        ("test:1", f"device {HUB} is CHF in the device inventory (a Communications Hub); Comms Hubs are never tracked")
    ]


def test_the_inventory_is_read_once_per_batch_whatever_its_events(loaded: SqlStore) -> None:
    devices = [f"00-DB-12-34-56-{n >> 8:02X}-{n & 0xFF:02X}-00" for n in range(3_000)]
    statements: list[str] = []

    def remember(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if "device_inventory" in statement:
            statements.append(statement)

    sa.event.listen(loaded.engine, "before_cursor_execute", remember)
    try:
        summary = ingest(loaded, ndjson_events([untyped(d) for d in devices]), IngestOptions(batch_size=1_500))
        assert len(statements) == 2  # two batches
        statements.clear()
        alerts = [{"device_id": d, "status": "Successful HAN Transfer", "occurred_at": AT} for d in devices]
        summary.add(ingest(loaded, ndjson_events(alerts, "alerts"), IngestOptions(batch_size=3_000)))
    finally:
        sa.event.remove(loaded.engine, "before_cursor_execute", remember)
    assert summary.accepted == 6_000
    assert len(statements) == 1  # one batch of 3,000 devices: one statement


def test_records_show_the_inventory_type_where_no_event_gave_one(loaded: SqlStore) -> None:
    ingest(loaded, ndjson_events([untyped(ESME), untyped(UNKNOWN), untyped(HCALCS, device_type="ESME")]))
    viewer = Viewer.everyone("t")
    [esme] = records_by_device(loaded, viewer, ESME, RetentionPolicy())
    assert (esme.device_type, esme.device_type_origin) == ("ESME", DeviceTypeOrigin.INVENTORY)
    [typed] = records_by_device(loaded, viewer, HCALCS, RetentionPolicy())
    assert (typed.device_type, typed.device_type_origin) == ("ESME", DeviceTypeOrigin.EVENTS)
    page = list(iter_records_by_request(loaded, viewer, REQUEST, RetentionPolicy(), with_history=False))
    assert [(r.device_id, r.device_type) for r in page] == [(ESME, "ESME"), (HCALCS, "ESME"), (UNKNOWN, None)]


def test_the_demo_loads_an_inventory_first_and_sends_one_device_type_per_request(store: SqlStore) -> None:
    summary = demo.build_tracking_data(store, IngestOptions(), demo.DemoSize(requests=40, large_request_devices=60))
    assert not [error for _, error in summary.errors if "device inventory" in error]
    with store.engine.connect() as connection:
        typed_by_events = connection.execute(
            sa.text("SELECT count(*) FROM distribution_records WHERE device_type IS NOT NULL")
        ).scalar_one()
        types_per_request = connection.execute(
            sa.text(
                "SELECT r.service_request_id, count(DISTINCT i.device_type), count(*) - count(i.device_id) "
                "FROM distribution_records r LEFT JOIN device_inventory i ON i.device_id = r.device_id "
                "GROUP BY r.service_request_id"
            )
        ).all()
    assert typed_by_events == 0  # as in DUIS traffic, the events name no device type: the inventory does
    assert len(types_per_request) > 40
    assert {(types, missing) for _, types, missing in types_per_request} == {(1, 0)}


VERSIONS = ["SMETS1", "smets 1", "SMETS-1.2", "s_m_e_t_s_1", "SMETS1 (enrolled)", "SMETS10", "SMETS2", "SMETS2+"]


def test_storage_returns_every_entry_that_may_be_out_of_scope_and_the_domain_decides(store: SqlStore) -> None:
    devices = [InventoryDevice(f"00-DB-12-34-56-78-95-{n:02X}", "ESME", version) for n, version in enumerate(VERSIONS)]
    devices += [InventoryDevice("00-DB-12-34-56-78-95-F0", "HCALCS", None), InventoryDevice(HUB, "CHF", None)]
    with store.write() as tx:
        tx.import_devices([(device, "test") for device in devices], datetime.now(UTC))
    wanted = [device.device_id for device in devices]
    suspects = store.inventory_out_of_scope(wanted, ["ESME", "GSME"])
    refused = {device.device_id for device in devices if scope_refusal(device, FIRST_RELEASE.tracked)}
    assert refused <= set(suspects)
    assert {suspects[d].smets_chts_version for d in refused if suspects[d].device_type == "ESME"} == set(VERSIONS[:5])
    assert {d.device_type for d in suspects.values()} == {"ESME", "HCALCS", "CHF"}


def test_a_database_in_memory_applies_the_inventory_too() -> None:
    """SQLite in memory is one database per thread, so its batches are validated on the writer's."""
    store = SqlStore.open("sqlite://")
    try:
        with store.write() as tx:
            tx.import_devices([(InventoryDevice(HCALCS, "HCALCS"), "test")], datetime.now(UTC))
        summary = ingest(store, ndjson_events([untyped(HCALCS), untyped(ESME)]), FIRST_RELEASE)
    finally:
        store.dispose()
    assert (summary.accepted, summary.rejected) == (1, 1)
