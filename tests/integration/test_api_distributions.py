"""GET /api/v1/distributions and its CSV: record shape, paging, access rules of §7 and every error case."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from e2e.seed import (
    ALPHA_NEW_REQUEST,
    ALPHA_OLD_REQUEST,
    BETA_DEVICE,
    BETA_REQUEST,
    BETA_SHARED_REQUEST,
    HOSTILE_REASON,
    LARGE_REQUEST,
    SHARED_DEVICE,
    large_request_device,
)
from fdtrack.adapters.csv_export import CSV_HEADER
from fdtrack.adapters.db.store import SqlStore
from integration.conftest import API_DEVICES, Tokens

API = "/api/v1/distributions"
RECORD_KEYS = {
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
UNKNOWN_REQUEST = "90-B3-D5-1F-30-01-00-00:90-B3-D5-1F-30-00-00-02:999999"
UNKNOWN_DEVICE = "00-DB-12-34-56-78-FF-FF"


def get(api: TestClient, token: str, path: str = API, **params: Any) -> tuple[int, Any]:
    response = api.get(path, params=params, headers=Tokens.header(token))
    return response.status_code, response.json()


def test_a_device_look_up_answers_records_of_section_8_2_newest_first(api: TestClient, tokens: Tokens) -> None:
    status, body = get(api, tokens.alpha, device_id=SHARED_DEVICE.replace("-", "").lower())
    assert status == 200
    assert body["next_cursor"] is None
    records = body["records"]
    assert isinstance(records, list)
    assert [r["service_request_id"] for r in records] == [ALPHA_NEW_REQUEST, ALPHA_OLD_REQUEST]
    newest, reset = records
    assert set(newest) == RECORD_KEYS
    assert newest["completion_status"] == "In Progress"
    assert newest["current_status"] == "Approved for Distribution"
    assert newest["firmware_version"] == "55667788"
    assert reset["current_status"] == "Reset by DCC"
    assert reset["current_status_reason"] == HOSTILE_REASON
    assert reset["completion_status"] == "Failed"
    for moment in (newest["current_status_updated_at"], newest["available_until"]):
        assert moment.endswith("Z")
    history = reset["history"]
    assert [entry["status"] for entry in history][-1] == "Reset by DCC"
    assert set(history[0]) == {"status", "reason", "occurred_at", "received_at"}
    assert all(entry["received_at"].endswith("Z") for entry in history)


def test_each_party_sees_only_its_own_records_of_a_shared_device(api: TestClient, tokens: Tokens) -> None:
    seen = {
        name: [r["service_request_id"] for r in get(api, token, device_id=SHARED_DEVICE)[1]["records"]]
        for name, token in (("alpha", tokens.alpha), ("beta", tokens.beta), ("centre", tokens.centre))
    }
    assert seen["alpha"] == [ALPHA_NEW_REQUEST, ALPHA_OLD_REQUEST]
    assert seen["beta"] == [BETA_SHARED_REQUEST]
    assert set(seen["centre"]) == {ALPHA_NEW_REQUEST, ALPHA_OLD_REQUEST, BETA_SHARED_REQUEST}


@pytest.mark.parametrize(
    ("visible", "hidden"),
    [
        ({"request_id": UNKNOWN_REQUEST}, {"request_id": LARGE_REQUEST}),
        ({"device_id": UNKNOWN_DEVICE}, {"device_id": large_request_device(1)}),
    ],
)
def test_another_partys_record_answers_exactly_like_one_that_does_not_exist(
    api: TestClient, tokens: Tokens, visible: dict[str, str], hidden: dict[str, str]
) -> None:
    """Beta asks for Alpha's request and device, and for ones nobody has: the answers differ only by the term."""
    for path in (API, f"{API}.csv"):
        absent = api.get(path, params=visible, headers=Tokens.header(tokens.beta))
        forbidden = api.get(path, params=hidden, headers=Tokens.header(tokens.beta))
        assert absent.status_code == forbidden.status_code == 404
        assert absent.headers["content-type"] == forbidden.headers["content-type"]
        term_absent, term_hidden = next(iter(visible.values())), next(iter(hidden.values()))
        assert absent.json() == json.loads(forbidden.text.replace(term_hidden, term_absent))
        assert absent.json()["error"]["code"] == "not_found"
        assert absent.json()["error"]["message"].startswith("No firmware distribution records found for")
    assert api.get(API, params=hidden, headers=Tokens.header(tokens.alpha)).status_code == 200


def test_a_request_pages_through_its_devices_by_cursor_in_device_id_order(api: TestClient, tokens: Tokens) -> None:
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"request_id": LARGE_REQUEST, "limit": 50}
        if cursor:
            params["cursor"] = cursor
        status, body = get(api, tokens.alpha, **params)
        assert status == 200
        records = body["records"]
        assert isinstance(records, list)
        seen.extend(r["device_id"] for r in records)
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert seen == sorted(seen)
    assert len(seen) == len(set(seen)) == API_DEVICES
    _, default = get(api, tokens.alpha, request_id=LARGE_REQUEST)
    assert len(default["records"]) == 100


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "request_id"),
        ({"request_id": LARGE_REQUEST, "device_id": SHARED_DEVICE}, "request_id"),
        ({"device_id": "not-a-device"}, "device_id"),
        ({"device_id": "00-DB-12-34-56-78-90"}, "device_id"),
        ({"request_id": "90-B3-D5-1F-30-01-00-00:1000"}, "request_id"),
        ({"request_id": LARGE_REQUEST, "limit": 0}, "limit"),
        ({"request_id": LARGE_REQUEST, "limit": 1001}, "limit"),
        ({"request_id": LARGE_REQUEST, "limit": "many"}, "limit"),
        ({"request_id": LARGE_REQUEST, "cursor": "bm90LWEtZGV2aWNl"}, "cursor"),
        ({"request_id": LARGE_REQUEST, "cursor": "%%%"}, "cursor"),
        ({"request_id": "x" * 201}, "request_id"),
    ],
)
def test_malformed_look_ups_get_400_naming_the_field(
    api: TestClient, tokens: Tokens, params: dict[str, Any], field: str
) -> None:
    status, body = get(api, tokens.alpha, **params)
    assert status == 400
    error = body["error"]
    assert isinstance(error, dict)
    assert error["code"] == "invalid_input"
    assert error["message"].startswith(field)


def test_the_csv_holds_every_record_of_the_look_up_and_is_audited(
    api: TestClient, tokens: Tokens, api_store: SqlStore
) -> None:
    response = api.get(f"{API}.csv", params={"request_id": LARGE_REQUEST}, headers=Tokens.header(tokens.alpha))
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    disposition = response.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="fdt-request-90B3D51F30010000_90B3D51F30000002_1000-')
    rows = list(csv.reader(io.StringIO(response.text)))
    assert tuple(rows[0]) == CSV_HEADER
    assert len(rows) == API_DEVICES + 1
    device = api.get(f"{API}.csv", params={"device_id": SHARED_DEVICE}, headers=Tokens.header(tokens.alpha))
    device_rows = list(csv.reader(io.StringIO(device.text)))
    assert [row[0] for row in device_rows[1:]] == [ALPHA_NEW_REQUEST, ALPHA_OLD_REQUEST]
    assert device_rows[2][4] == HOSTILE_REASON
    with api_store.engine.connect() as connection:
        audited = connection.execute(
            sa.text("SELECT actor, subject FROM audit_log WHERE action = 'csv_download' ORDER BY id")
        ).all()
    assert [tuple(row) for row in audited] == [("alpha", LARGE_REQUEST), ("alpha", SHARED_DEVICE)]


def test_the_service_centre_sees_every_party_and_a_user_only_its_own(api: TestClient, tokens: Tokens) -> None:
    assert get(api, tokens.centre, request_id=BETA_REQUEST)[0] == 200
    assert get(api, tokens.centre, device_id=BETA_DEVICE)[0] == 200
    assert get(api, tokens.beta, request_id=BETA_REQUEST)[0] == 200
    assert get(api, tokens.alpha, request_id=BETA_REQUEST)[0] == 404
    assert get(api, tokens.alpha, device_id=BETA_DEVICE)[0] == 404
