"""POST /api/v1/devices, and the inventory's device types on the API and the screens, on both databases."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from e2e.seed import ALPHA, ALPHA_USER_ID
from fdtrack.adapters.db.lean_reads import LeanLookupStore
from fdtrack.adapters.db.store import SqlStore
from fdtrack.domain.timestamps import format_rfc3339
from fdtrack.web.app import create_app
from fdtrack.web.settings import WebSettings
from integration.conftest import Tokens
from integration.test_web_routes import sign_in
from inventory_messages import CSV_HEADER, Device, inventory_csv, read_inventory_response

DEVICES = "/api/v1/devices"
CSV = "text/csv"
ESME, HCALCS, UNKNOWN = "00-DB-12-34-56-78-93-A0", "00-DB-12-34-56-78-93-A1", "00-DB-12-34-56-78-93-A2"
REQUEST = f"{ALPHA_USER_ID}:90-B3-D5-1F-30-00-00-02:7100"
AT = format_rfc3339(datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1))


def post(api: TestClient, token: str, body: str | bytes, content_type: str = CSV) -> tuple[int, dict]:  # type: ignore[type-arg]
    response = api.post(DEVICES, content=body, headers={**Tokens.header(token), "content-type": content_type})
    return response.status_code, response.json()


def test_a_csv_inventory_is_imported_with_its_bad_rows_listed(
    api: TestClient, tokens: Tokens, api_store: SqlStore
) -> None:
    body = inventory_csv([Device(ESME, "ESME"), Device(HCALCS, "HCALCS")]) + f"{UNKNOWN},KETTLE,,\n"
    status, summary = post(api, tokens.admin_ingest, body)
    assert status == 200
    assert summary == {
        "imported": 2,
        "rejected": 1,
        "errors": [
            {
                "source": "api:ops-admin:4",
                "error": "Device Type: 'KETTLE' is not a DUIS device type, "
                "expected one of: ESME, GSME, GPF, CHF, HCALCS, PPMID, IHD, CAD",
            }
        ],
    }
    with api_store.read() as tx:
        assert set(tx.inventory_devices([ESME, HCALCS, UNKNOWN])) == {ESME, HCALCS}


def test_an_8_2_response_is_imported(api: TestClient, tokens: Tokens) -> None:
    body = read_inventory_response(5, [Device(ESME, "ESME"), Device(HCALCS, "HCALCS")])
    status, summary = post(api, tokens.centre_ingest, body, "application/xml")
    assert (status, summary["imported"], summary["rejected"]) == (200, 2, 0)


def test_importing_needs_the_ingest_scope(api: TestClient, tokens: Tokens) -> None:
    status, answer = post(api, tokens.centre, inventory_csv([Device(ESME, "ESME")]))
    assert status == 403
    assert answer["error"]["code"] == "forbidden"
    assert api.post(DEVICES, content=inventory_csv([]), headers={"content-type": CSV}).status_code == 401


def test_a_body_of_another_type_gets_415_and_a_csv_without_the_device_columns_400(
    api: TestClient, tokens: Tokens
) -> None:
    status, answer = post(api, tokens.admin_ingest, "{}", "application/json")
    assert status == 415
    assert "text/csv" in answer["error"]["message"]
    status, answer = post(api, tokens.admin_ingest, "serial,kind\n1,ESME\n")
    assert status == 400
    assert "must name the columns Device ID and Device Type" in answer["error"]["message"]


@pytest.fixture
def small_limit_api(api_store: SqlStore, api_settings: WebSettings, tokens: Tokens) -> Iterator[TestClient]:
    settings = api_settings.model_copy(update={"max_body_bytes": 1_024})
    with TestClient(create_app(settings, store=api_store)) as client:
        yield client


def test_a_body_over_the_configured_limit_gets_413_and_nothing_is_imported(
    small_limit_api: TestClient, tokens: Tokens, api_store: SqlStore
) -> None:
    many = inventory_csv([Device(f"00-DB-12-34-56-78-94-{n:02X}", "ESME") for n in range(40)])
    assert len(many) > 1_024
    status, answer = post(small_limit_api, tokens.admin_ingest, many)
    assert (status, answer["error"]["code"]) == (413, "body_too_large")
    with api_store.read() as tx:
        assert tx.inventory_devices(["00-DB-12-34-56-78-94-00"]) == {}


def _untyped_events(api: TestClient, tokens: Tokens) -> None:
    lines = [
        {"request_id": REQUEST, "device_id": device, "status": "Accepted by DSP", "occurred_at": AT}
        for device in (ESME, HCALCS, UNKNOWN)
    ]
    body = "".join(json.dumps(line) + "\n" for line in lines)
    response = api.post(
        "/api/v1/events",
        content=body,
        headers={**Tokens.header(tokens.admin_ingest), "content-type": "application/x-ndjson"},
    )
    assert response.json()["accepted"] == 3


def test_the_api_shows_the_inventory_type_of_records_whose_events_named_none(
    api: TestClient, tokens: Tokens, api_store: SqlStore
) -> None:
    post(api, tokens.admin_ingest, inventory_csv([Device(ESME, "ESME"), Device(HCALCS, "HCALCS")]))
    _untyped_events(api, tokens)
    by_request = api.get("/api/v1/distributions", params={"request_id": REQUEST}, headers=Tokens.header(tokens.alpha))
    assert [(r["device_id"], r["device_type"]) for r in by_request.json()["records"]] == [
        (ESME, "ESME"),
        (HCALCS, "HCALCS"),
        (UNKNOWN, None),
    ]
    by_device = api.get("/api/v1/distributions", params={"device_id": HCALCS}, headers=Tokens.header(tokens.alpha))
    assert by_device.json()["records"][0]["device_type"] == "HCALCS"
    # The lean device look-up reads the inventory as the general read transaction does.
    with LeanLookupStore(api_store.engine).read() as lean, api_store.read() as general:
        wanted = [ESME, HCALCS, UNKNOWN]
        assert lean.inventory_devices(wanted) == general.inventory_devices(wanted)
        assert set(lean.inventory_devices(wanted)) == {ESME, HCALCS}


def test_the_screens_say_where_a_device_type_comes_from_or_that_it_is_not_known(
    api: TestClient, tokens: Tokens
) -> None:
    post(api, tokens.admin_ingest, CSV_HEADER + f"\n{HCALCS},HCALCS,SMETS2,Aurora HC\n")
    _untyped_events(api, tokens)
    sign_in(api, ALPHA)
    screen = "/ssi/firmware-distribution-tracking"
    known = api.get(screen, params={"search_by": "device_id", "search_term": HCALCS}).text
    assert re.search(r'HCALCS <span class="hint">\(device inventory\)</span>', known)
    unknown = api.get(screen, params={"search_by": "device_id", "search_term": UNKNOWN}).text
    assert 'Not known <span class="hint">— device not in the inventory</span>' in unknown
    table = api.get(screen, params={"search_by": "service_request_id", "search_term": REQUEST}).text
    assert table.count("— device not in the inventory") == 2  # ESME and UNKNOWN: this inventory names HCALCS alone
