"""POST /api/v1/events and /api/v1/duis: NDJSON and JSON bodies, per-event errors, size and type limits."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from duis_messages import other_response, request_id, update_firmware_request, update_firmware_response
from fdtrack.adapters.db.store import SqlStore
from fdtrack.domain.timestamps import format_rfc3339
from fdtrack.web.app import create_app
from fdtrack.web.settings import WebSettings
from integration.conftest import Tokens

EVENTS = "/api/v1/events"
REQUEST = "90-B3-D5-1F-30-01-00-00:90-B3-D5-1F-30-00-00-02:7000"
NDJSON = "application/x-ndjson"
AT = format_rfc3339(datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1))


def event(device: str, status: str = "Accepted by DSP", **extra: object) -> dict[str, object]:
    return {"request_id": REQUEST, "device_id": device, "status": status, "occurred_at": AT, **extra}


def post(api: TestClient, token: str, body: bytes, content_type: str = NDJSON, path: str = EVENTS) -> tuple[int, dict]:  # type: ignore[type-arg]
    response = api.post(path, content=body, headers={**Tokens.header(token), "content-type": content_type})
    return response.status_code, response.json()


def ndjson(*events: object) -> bytes:
    return "\n".join(json.dumps(e) for e in events).encode() + b"\n"


def test_ndjson_events_are_stored_and_bad_lines_listed_without_stopping_the_rest(
    api: TestClient, tokens: Tokens, api_store: SqlStore
) -> None:
    body = ndjson(event("00-00-00-00-00-00-70-01"), event("00-00-00-00-00-00-70-02"))
    body += b"this is not json\n\n" + ndjson(event("not-a-device"), event("00-00-00-00-00-00-70-03", status="Dancing"))
    status, summary = post(api, tokens.admin_ingest, body)
    assert status == 200
    assert (summary["accepted"], summary["duplicates"], summary["rejected"]) == (2, 0, 3)
    sources = [error["source"] for error in summary["errors"]]
    assert sources == ["api:ops-admin:3", "api:ops-admin:5", "api:ops-admin:6"]
    messages = [error["error"] for error in summary["errors"]]
    assert "not valid JSON" in messages[0]
    assert messages[1].startswith("device_id")
    assert messages[2].startswith("status")
    found = api.get("/api/v1/distributions", params={"request_id": REQUEST}, headers=Tokens.header(tokens.alpha))
    assert [r["device_id"] for r in found.json()["records"]] == ["00-00-00-00-00-00-70-01", "00-00-00-00-00-00-70-02"]
    with api_store.engine.connect() as connection:
        kept = connection.execute(sa.text("SELECT count(*) FROM rejected_events")).scalar_one()
    assert kept == 3  # every rejection is kept for re-submission
    status, again = post(api, tokens.admin_ingest, ndjson(event("00-00-00-00-00-00-70-01")))
    assert (again["accepted"], again["duplicates"]) == (0, 1)


def test_a_json_array_body_is_a_list_of_events(api: TestClient, tokens: Tokens) -> None:
    body = json.dumps([event("00-00-00-00-00-00-71-01"), "not an object", event("00-00-00-00-00-00-71-02")])
    status, summary = post(api, tokens.centre_ingest, body.encode(), "application/json; charset=utf-8")
    assert status == 200
    assert (summary["accepted"], summary["rejected"]) == (2, 1)
    assert summary["errors"] == [{"source": "api:centre:2", "error": "event: element is not a JSON object"}]


@pytest.mark.parametrize(
    "body",
    [b"{not json", b'{"device_id": "00-00-00-00-00-00-71-01"}', b'"events"', b"\xff\xfe", b"[" * 100_000],
)
def test_a_json_body_that_is_not_an_array_is_unusable_as_a_whole(api: TestClient, tokens: Tokens, body: bytes) -> None:
    status, answer = post(api, tokens.admin_ingest, body, "application/json")
    assert status == 400
    assert answer["error"]["code"] == "invalid_body"


def test_an_empty_body_ingests_nothing(api: TestClient, tokens: Tokens) -> None:
    assert post(api, tokens.admin_ingest, b"") == (
        200,
        {"accepted": 0, "duplicates": 0, "rejected": 0, "errors": [], "ignored": 0},
    )
    assert post(api, tokens.admin_ingest, b"[]", "application/json")[0] == 200


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", "multipart/form-data", ""])
def test_other_media_types_get_415(api: TestClient, tokens: Tokens, content_type: str) -> None:
    status, answer = post(api, tokens.admin_ingest, ndjson(event("00-00-00-00-00-00-72-01")), content_type)
    assert status == 415
    assert answer["error"]["code"] == "unsupported_media_type"
    assert "application/x-ndjson" in answer["error"]["message"]


@pytest.fixture
def small_limit_api(api_store: SqlStore, api_settings: WebSettings, tokens: Tokens) -> Iterator[TestClient]:
    settings = api_settings.model_copy(update={"max_body_bytes": 2_048})
    with TestClient(create_app(settings, store=api_store)) as client:
        yield client


def test_a_body_over_the_configured_limit_gets_413_and_nothing_is_stored(
    small_limit_api: TestClient, tokens: Tokens
) -> None:
    many = ndjson(*(event(f"00-00-00-00-00-00-73-{n:02X}") for n in range(40)))
    assert len(many) > 2_048
    status, answer = post(small_limit_api, tokens.admin_ingest, many)
    assert status == 413
    assert answer["error"]["code"] == "body_too_large"

    def chunked() -> Iterator[bytes]:  # no Content-Length: the limit is counted as the body arrives
        yield from (many[i : i + 500] for i in range(0, len(many), 500))

    response = small_limit_api.post(
        EVENTS, content=chunked(), headers={**Tokens.header(tokens.admin_ingest), "content-type": NDJSON}
    )
    assert response.status_code == 413
    found = small_limit_api.get(
        "/api/v1/distributions", params={"request_id": REQUEST}, headers=Tokens.header(tokens.centre)
    )
    assert found.status_code == 404
    assert post(small_limit_api, tokens.admin_ingest, ndjson(event("00-00-00-00-00-00-73-01")))[0] == 200


def test_a_duis_request_and_its_response_become_tracking_events(api: TestClient, tokens: Tokens) -> None:
    devices = ["00-DB-12-34-56-78-91-01", "00-DB-12-34-56-78-91-02"]
    at = format_rfc3339(datetime.now(UTC) - timedelta(minutes=5))
    status, remembered = post(
        api, tokens.admin_ingest, update_firmware_request(8100, devices).encode(), "application/xml", "/api/v1/duis"
    )
    assert status == 200
    assert remembered["rejected"] == 0
    response = update_firmware_response(8100, at, warnings={"NotCommissionedDeviceIDList": [devices[1]]}).encode()
    status, summary = post(api, tokens.admin_ingest, response, "text/xml", "/api/v1/duis")
    assert status == 200
    assert (summary["accepted"], summary["rejected"]) == (2, 0)
    found = api.get(
        "/api/v1/distributions", params={"request_id": request_id(8100)}, headers=Tokens.header(tokens.alpha)
    )
    statuses = {r["device_id"]: r["current_status"] for r in found.json()["records"]}
    assert statuses == {devices[0]: "Accepted by DSP", devices[1]: "Rejected by DSP"}


def test_an_unusable_duis_message_is_kept_and_reported_not_refused(api: TestClient, tokens: Tokens) -> None:
    status, summary = post(api, tokens.admin_ingest, b"<not-duis/>", "application/xml", "/api/v1/duis")
    assert status == 200
    assert summary["rejected"] == 1
    assert summary["errors"][0]["error"].startswith("event: DUIS message refused")
    assert post(api, tokens.admin_ingest, b"<x/>", NDJSON, "/api/v1/duis")[0] == 415


def test_ingestion_is_counted_in_the_metrics(api: TestClient, tokens: Tokens) -> None:
    post(api, tokens.admin_ingest, ndjson(event("00-00-00-00-00-00-74-01"), {"device_id": "x"}))
    text = api.get("/metrics").text
    assert 'fdtrack_events_total{outcome="accepted"} 1.0' in text
    assert 'fdtrack_events_total{outcome="rejected"} 1.0' in text
    assert 'fdtrack_events_total{outcome="duplicate"} 0.0' in text


def test_a_duis_message_about_something_else_is_counted_as_ignored(api: TestClient, tokens: Tokens) -> None:
    message = other_response(8200, "00-DB-12-34-56-78-91-03", AT).encode()
    status, summary = post(api, tokens.admin_ingest, message, "application/xml", "/api/v1/duis")
    assert (status, summary) == (200, {"accepted": 0, "duplicates": 0, "rejected": 0, "errors": [], "ignored": 1})
    schema = api.get("/openapi.json").json()["components"]["schemas"]["IngestSummary"]
    assert "ignored" in schema["required"]
