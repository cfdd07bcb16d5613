"""Reset by DCC through the API (audited), health, metrics, unknown addresses and the OpenAPI document."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from e2e.seed import (
    ALPHA_NEW_REQUEST,
    BETA_DEVICE,
    BETA_REQUEST,
    BETA_SHARED_REQUEST,
    CENTRE,
    SHARED_DEVICE,
    cheap_settings,
)
from fdtrack.adapters.db.engine import make_engine
from fdtrack.adapters.db.store import SqlStore
from fdtrack.web.app import create_app
from integration.conftest import Tokens


def reset(api: TestClient, token: str, device: str, body: object) -> tuple[int, dict]:  # type: ignore[type-arg]
    response = api.post(f"/api/v1/devices/{device}/reset", json=body, headers=Tokens.header(token))
    return response.status_code, response.json()


def test_the_service_centre_resets_a_device_and_the_reset_is_audited(
    api: TestClient, tokens: Tokens, api_store: SqlStore
) -> None:
    status, outcome = reset(api, tokens.centre, SHARED_DEVICE.lower(), {"reason": "  stuck at the CSP  "})
    assert status == 200
    assert outcome["service_request_id"] == BETA_SHARED_REQUEST  # the latest In Progress record
    assert outcome["replaced_status"] == "Accepted by DSP"
    assert outcome["current_status"] == "Reset by DCC"
    assert outcome["reset_at"].endswith("Z")
    beta = api.get("/api/v1/distributions", params={"device_id": SHARED_DEVICE}, headers=Tokens.header(tokens.beta))
    record = beta.json()["records"][0]
    assert (record["current_status"], record["current_status_reason"]) == ("Reset by DCC", "stuck at the CSP")
    with api_store.engine.connect() as connection:
        row = connection.execute(sa.text("SELECT actor, subject, detail FROM audit_log WHERE action = 'reset'")).one()
    assert row.actor == CENTRE.username
    assert row.subject == f"{BETA_SHARED_REQUEST} {SHARED_DEVICE}"
    assert json.loads(row.detail) == {
        "reason": "stuck at the CSP",
        "replaced_status": "Accepted by DSP",
        "replaced_completion": "In Progress",
        "forced": False,
        "channel": "api",
    }
    status, named = reset(api, tokens.centre, SHARED_DEVICE, {"reason": "also", "request_id": ALPHA_NEW_REQUEST})
    assert (status, named["service_request_id"]) == (200, ALPHA_NEW_REQUEST)
    status, nothing = reset(api, tokens.centre, SHARED_DEVICE, {"reason": "again"})
    assert status == 409
    assert nothing["error"] == {
        "code": "nothing_to_reset",
        "message": f"no firmware distribution in progress for device {SHARED_DEVICE}; "
        "name a record's Service Request ID to reset a record that is not In Progress",
    }


def test_a_record_that_is_not_in_progress_is_reset_only_with_force_true(
    api: TestClient, tokens: Tokens, api_store: SqlStore
) -> None:
    body = {"reason": "User disputes the activation", "request_id": BETA_REQUEST}
    status, refused = reset(api, tokens.centre, BETA_DEVICE, body)
    assert status == 409
    assert refused["error"] == {
        "code": "nothing_to_reset",
        "message": f"the record for device {BETA_DEVICE} in request {BETA_REQUEST} is Complete (Firmware Activated); "
        'send "force": true to reset a record that is not In Progress',
    }
    status, unforced = reset(api, tokens.centre, BETA_DEVICE, {**body, "force": False})
    assert (status, unforced) == (409, refused)
    with api_store.engine.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM audit_log WHERE action = 'reset'")).scalar_one() == 0

    status, outcome = reset(api, tokens.centre, BETA_DEVICE, {**body, "force": True})
    assert status == 200
    assert (outcome["replaced_status"], outcome["current_status"], outcome["forced"]) == (
        "Firmware Activated",
        "Reset by DCC",
        True,
    )
    shown = api.get("/api/v1/distributions", params={"device_id": BETA_DEVICE}, headers=Tokens.header(tokens.beta))
    record = shown.json()["records"][0]
    assert (record["current_status"], record["completion_status"]) == ("Reset by DCC", "Failed")
    with api_store.engine.connect() as connection:
        detail = connection.execute(sa.text("SELECT detail FROM audit_log WHERE action = 'reset'")).scalar_one()
    assert json.loads(detail) == {
        "reason": "User disputes the activation",
        "replaced_status": "Firmware Activated",
        "replaced_completion": "Complete",
        "forced": True,
        "channel": "api",
    }

    status, again = reset(api, tokens.centre, BETA_DEVICE, {**body, "force": True})
    assert status == 409
    assert again["error"]["message"] == (
        f"the record for device {BETA_DEVICE} in request {BETA_REQUEST} is already Reset by DCC "
        "and cannot be reset again"
    )


@pytest.mark.parametrize(
    ("device", "body", "field"),
    [
        (SHARED_DEVICE, {}, "reason"),
        (SHARED_DEVICE, {"reason": ""}, "reason"),
        (SHARED_DEVICE, {"reason": "   "}, "reason"),
        (SHARED_DEVICE, {"reason": "x" * 513}, "reason"),
        (SHARED_DEVICE, {"reason": "ok", "request_id": "nonsense"}, "request_id"),
        (SHARED_DEVICE, {"reason": "ok", "surprise": 1}, "surprise"),
        (SHARED_DEVICE, {"reason": "ok", "force": "perhaps"}, "force"),
        (SHARED_DEVICE, ["reason"], "body"),
        ("00-DB-12", {"reason": "ok"}, "device_id"),
    ],
)
def test_malformed_resets_get_400_naming_the_field(
    api: TestClient, tokens: Tokens, device: str, body: object, field: str
) -> None:
    status, answer = reset(api, tokens.centre, device, body)
    assert status == 400
    assert answer["error"]["code"] == "invalid_input"
    assert answer["error"]["message"].startswith(field)


def test_a_reset_body_that_is_not_json_gets_400(api: TestClient, tokens: Tokens) -> None:
    response = api.post(
        f"/api/v1/devices/{SHARED_DEVICE}/reset",
        content=b"reason=stuck",
        headers={**Tokens.header(tokens.centre), "content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_input"


def test_unknown_api_addresses_and_methods_answer_with_the_error_body(api: TestClient, tokens: Tokens) -> None:
    missing = api.get("/api/v1/nowhere", headers=Tokens.header(tokens.alpha))
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "not_found")
    wrong = api.delete("/api/v1/distributions", headers=Tokens.header(tokens.alpha))
    assert (wrong.status_code, wrong.json()["error"]["code"]) == (405, "method_not_allowed")


def test_health_says_ok_while_the_database_answers(api: TestClient) -> None:
    response = api.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok", "database": "reachable"})


@pytest.fixture
def unreachable_database_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The service on a database that has gone away (its file's folder removed after start)."""
    folder = tmp_path_factory.mktemp("gone")
    url = f"sqlite:///{folder / 'gone.db'}"
    store = SqlStore.open(url)
    store.dispose()
    (folder / "gone.db").unlink()
    folder.rmdir()
    # mode=rw: SQLite must not quietly create a fresh database where the old one was.
    broken = SqlStore(make_engine(f"sqlite:///file:{folder / 'gone.db'}?mode=rw&uri=true"))
    with TestClient(create_app(cheap_settings(url), store=broken)) as client:
        yield client
    broken.dispose()


def test_health_answers_503_when_the_database_is_unreachable(unreachable_database_api: TestClient) -> None:
    response = unreachable_database_api.get("/healthz")
    assert (response.status_code, response.json()) == (503, {"status": "unavailable", "database": "unreachable"})
    metrics = unreachable_database_api.get("/metrics")
    assert metrics.status_code == 200
    assert "fdtrack_events_total" in metrics.text


def test_metrics_are_prometheus_text_with_records_and_latency(api: TestClient, tokens: Tokens) -> None:
    api.get("/api/v1/distributions", params={"device_id": SHARED_DEVICE}, headers=Tokens.header(tokens.alpha))
    response = api.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = response.text
    for status in ("In Progress", "Failed", "Complete"):
        assert f'fdtrack_distribution_records{{completion_status="{status}"}}' in text
    assert (
        'fdtrack_http_request_duration_seconds_count{method="GET",route="/api/v1/distributions",status="200"} 1.0'
        in text
    )
    assert "fdtrack_events_total" in text


def test_the_openapi_document_describes_every_api_operation_and_its_errors(api: TestClient) -> None:
    document = api.get("/openapi.json").json()
    paths = document["paths"]
    assert set(paths) == {
        "/api/v1/distributions",
        "/api/v1/distributions.csv",
        "/api/v1/events",
        "/api/v1/duis",
        "/api/v1/devices",
        "/api/v1/devices/{device_id}/reset",
        "/healthz",
        "/metrics",
    }
    assert "422" not in json.dumps(paths)
    assert set(paths["/api/v1/distributions"]["get"]["responses"]) == {"200", "400", "401", "403", "404", "429"}
    assert "bearer" in json.dumps(document["components"]["securitySchemes"]).lower()
    force = document["components"]["schemas"]["ResetRequest"]["properties"]["force"]
    assert (force["type"], force["default"]) == ("boolean", False)
    assert "not In Progress" in force["description"]
