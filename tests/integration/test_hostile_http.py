"""Hostile input over HTTP on both databases: accepted, or refused with a reason naming the field, never a 500;
the valid data around it is kept; stored text is formula-safe in every CSV and escaped on every screen."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from fastapi.testclient import TestClient

from e2e.seed import ALPHA, ALPHA_USER_ID, CENTRE, DCC, SHARED_DEVICE, Login
from fdtrack.adapters.db.store import SqlStore
from fdtrack.cli import main
from fdtrack.domain.timestamps import format_rfc3339
from fdtrack.web.app import create_app
from fdtrack.web.settings import WebSettings
from integration.conftest import ADMIN_USERNAME, Tokens
from integration.test_web_routes import sign_in

SCREEN = "/ssi/firmware-distribution-tracking"
EVENTS, DUIS, LOOK_UP = "/api/v1/events", "/api/v1/duis", "/api/v1/distributions"
NDJSON = {"content-type": "application/x-ndjson"}
AT = format_rfc3339(datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1))
REQUEST = f"{ALPHA_USER_ID}:{DCC}:9100"
ADMIN = Login(ADMIN_USERNAME, "admin-password-1")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def event(device: str, **extra: object) -> dict[str, object]:
    return {"request_id": REQUEST, "device_id": device, "status": "Accepted by DSP", "occurred_at": AT, **extra}


def ndjson(*lines: object) -> bytes:
    return b"".join((line if isinstance(line, bytes) else json.dumps(line).encode()) + b"\n" for line in lines)


def ingest(api: TestClient, tokens: Tokens, body: bytes, headers: dict[str, str] = NDJSON) -> dict[str, object]:
    response = api.post(EVENTS, content=body, headers={**Tokens.header(tokens.admin_ingest), **headers})
    assert response.status_code == 200, response.text
    summary: dict[str, object] = response.json()
    return summary


def stored_devices(api: TestClient, tokens: Tokens, request_id: str = REQUEST) -> list[str]:
    found = api.get(LOOK_UP, params={"request_id": request_id}, headers=Tokens.header(tokens.centre))
    return [record["device_id"] for record in found.json()["records"]] if found.status_code == 200 else []


def assert_refused(response: object, *fields: str) -> None:
    """A 4xx whose message names one of the fields; never a server error."""
    status = response.status_code  # type: ignore[attr-defined]
    text = response.text  # type: ignore[attr-defined]
    assert 400 <= status < 500, (status, text[:300])
    assert "Traceback" not in text
    assert any(field.lower() in text.lower() for field in fields), text[:600]


# --- Text no database can hold, inside otherwise good input ---------------------------------------------------


def test_nul_characters_and_lone_surrogates_are_refused_by_field_and_the_events_around_them_kept(
    api: TestClient, tokens: Tokens, api_store: SqlStore
) -> None:
    body = ndjson(
        event("00-00-00-00-00-00-80-01"),
        event("00-00-00-00-00-00-80-02", reason="stuck\u0000"),
        event("00-00-00-00-00-00-80-03", firmware_version="\u0000"),
        b'{"device_id": "00-00-00-00-00-00-80-04", "raw nul": \x00}',
        json.dumps(event("00-00-00-00-00-00-80-05")).replace("}", ', "reason": "\\ud800"}').encode(),
        b'{"device_id": "\xff\xfe"}',
        event("00-00-00-00-00-00-80-06"),
    )
    summary = ingest(api, tokens, body)
    assert (summary["accepted"], summary["rejected"]) == (2, 5)
    errors = [error["error"] for error in summary["errors"]]  # type: ignore[attr-defined]
    assert errors[0].startswith("reason: contains a NUL character")
    assert errors[1].startswith("firmware_version: contains a NUL character")
    assert errors[2].startswith("event: line is not valid JSON")
    assert errors[3].startswith("reason: is not valid Unicode text")
    assert errors[4].startswith("event: line is not valid UTF-8")
    assert stored_devices(api, tokens) == ["00-00-00-00-00-00-80-01", "00-00-00-00-00-00-80-06"]
    with api_store.engine.connect() as connection:
        kept = connection.execute(sa.text("SELECT raw FROM rejected_events ORDER BY id")).scalars().all()
    assert len(kept) == 5  # every rejection is kept, what no database holds shown as U+FFFD
    assert any("\ufffd" in raw for raw in kept)


def test_lone_surrogates_in_a_json_array_are_refused_by_field_and_the_rest_kept(
    api: TestClient, tokens: Tokens
) -> None:
    body = b'[{"device_id": "\\ud800"}, {"\\udc80": 1}, ' + json.dumps(event("00-00-00-00-00-00-81-01")).encode() + b"]"
    summary = ingest(api, tokens, body, {"content-type": "application/json"})
    assert (summary["accepted"], summary["rejected"]) == (1, 2)
    assert stored_devices(api, tokens) == ["00-00-00-00-00-00-81-01"]


def test_a_reset_reason_with_a_nul_is_refused_naming_the_reason(api: TestClient, tokens: Tokens) -> None:
    response = api.post(
        f"/api/v1/devices/{SHARED_DEVICE}/reset", json={"reason": "stuck\u0000"}, headers=Tokens.header(tokens.centre)
    )
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith("reason: contains a NUL character")


@pytest.mark.parametrize(
    "body",
    [b"username=a%00b&password=x", b"username=%FF%FE&password=%C0%AF", b"username=\xff\xfe&password=\xc0", b"\x00\xff"],
)
def test_hostile_sign_in_fields_are_refused_like_a_wrong_password(api: TestClient, body: bytes) -> None:
    page = api.get("/login")
    token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    response = api.post(
        "/login",
        content=body + f"&csrf_token={token}".encode(),
        headers={"content-type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )
    assert response.status_code in (400, 401), response.text[:300]
    assert "username" in response.text


def test_hostile_reset_form_fields_are_refused_naming_the_field(api: TestClient, tokens: Tokens) -> None:
    csrf_token = sign_in(api, CENTRE)
    for reason, message in (("stuck\x00", "contains a NUL character"), ("", "is required")):
        response = api.post(
            "/ssmi/device-reset/check",
            data={"device_id": SHARED_DEVICE, "reason": reason, "csrf_token": csrf_token},
        )
        assert_refused(response, message)
    raw = f"device_id=%FF%FE&reason=%C0%AF&csrf_token={csrf_token}".encode()
    response = api.post(
        "/ssmi/device-reset/check", content=raw, headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert_refused(response, "Device ID")


# --- Query strings and path parameters ---------------------------------------------------------------------------

HOSTILE_TERMS = [
    "%FF%FE",
    "%C0%AF",
    "%ED%A0%80",
    "%00",
    "00-DB-12-34-56-78-90-A0%00",
    "..%2F..%2Fetc%2Fpasswd",
    "../../etc/passwd",
    "..%5C..%5Cwindows%5Cwin.ini",
    "%252e%252e%252f",
    "x" * 10_000,
    "%3Cscript%3Ealert(1)%3C/script%3E",
]


@pytest.mark.parametrize("term", HOSTILE_TERMS, ids=lambda term: term[:24])
def test_hostile_search_terms_are_refused_naming_the_field_everywhere(
    api: TestClient, tokens: Tokens, term: str
) -> None:
    for by, field in (("request_id", "request_id"), ("device_id", "device_id")):
        assert_refused(api.get(f"{LOOK_UP}?{by}={term}", headers=Tokens.header(tokens.centre)), field)
        assert_refused(api.get(f"{LOOK_UP}.csv?{by}={term}", headers=Tokens.header(tokens.centre)), field)
    sign_in(api, CENTRE)
    for by in ("service_request_id", "device_id"):
        assert_refused(api.get(f"{SCREEN}?search_by={by}&search_term={term}"), "search_term")
        assert_refused(api.get(f"{SCREEN}.csv?search_by={by}&search_term={term}"), "search_term")
    assert_refused(api.get(f"{SCREEN}?search_by={term}&search_term=x"), "search_by")
    assert_refused(api.get(f"/ssmi/device-reset?device_id={term}"), "device_id")


@pytest.mark.parametrize("parameter", ["page", "cursor", "completion"])
@pytest.mark.parametrize("value", ["²", "9" * 5_000, "%FF", "%00", "-1", "..%2F"])
def test_hostile_paging_values_on_the_screen_are_refused_naming_them(
    api: TestClient, parameter: str, value: str
) -> None:
    sign_in(api, ALPHA)
    first = api.get(SCREEN, params={"search_by": "service_request_id", "search_term": f"{ALPHA_USER_ID}:{DCC}:1000"})
    cursor = first.text.split("cursor=", 1)[1].split("&", 1)[0].split('"', 1)[0]
    query = {"page": "2", "cursor": cursor, parameter: "VALUE"}
    address = f"{SCREEN}?search_by=service_request_id&search_term={ALPHA_USER_ID}:{DCC}:1000&" + "&".join(
        f"{name}={given}" for name, given in query.items()
    )
    assert_refused(api.get(address.replace("VALUE", value)), parameter)


@pytest.mark.parametrize("value", ["²", "9" * 5_000, "%FF", "%00", "0", "-1"])
def test_hostile_limits_and_cursors_in_the_api_are_refused_naming_them(
    api: TestClient, tokens: Tokens, value: str
) -> None:
    for parameter in ("limit", "cursor"):
        address = f"{LOOK_UP}?request_id={ALPHA_USER_ID}:{DCC}:1000&{parameter}={value}"
        assert_refused(api.get(address, headers=Tokens.header(tokens.centre)), parameter)


@pytest.mark.parametrize("value", ["²", "9" * 5_000, "%FF", "%00", "../x"])
def test_hostile_audit_log_filters_are_refused_naming_them(api: TestClient, value: str) -> None:
    sign_in(api, ADMIN)
    for parameter in ("before", "since", "until", "action"):
        assert_refused(api.get(f"/admin/audit-log?{parameter}={value}"), parameter)
    response = api.get(f"/admin/audit-log?actor={value}")
    assert response.status_code in (200, 400), response.text[:300]


@pytest.mark.parametrize(
    "device", ["..%2F..%2Fetc%2Fpasswd", "%2E%2E", "%00", "a%5Cb", "%FF", "x" * 5_000, "00-DB-12-34-56-78-90-A0%00"]
)
def test_hostile_device_ids_in_the_reset_address_never_reach_a_record(
    api: TestClient, tokens: Tokens, device: str
) -> None:
    response = api.post(f"/api/v1/devices/{device}/reset", json={"reason": "x"}, headers=Tokens.header(tokens.centre))
    assert response.status_code in (400, 404, 405), response.text[:300]
    assert response.json()["error"]["message"]


@pytest.mark.parametrize("path", ["/static/..%2F..%2Fsettings.py", "/static/%2e%2e/app.py", "/static/..%5Capp.py"])
def test_static_files_never_leave_their_folder(api: TestClient, path: str) -> None:
    response = api.get(path)
    assert response.status_code == 404
    assert "WebSettings" not in response.text


# --- Oversized bodies -------------------------------------------------------------------------------------------


@pytest.fixture
def limited_api(api_store: SqlStore, api_settings: WebSettings, tokens: Tokens) -> Iterator[TestClient]:
    settings = api_settings.model_copy(update={"max_body_bytes": 2_048})
    with TestClient(create_app(settings, store=api_store)) as client:
        yield client


@pytest.mark.parametrize(("path", "content_type"), [(EVENTS, "application/x-ndjson"), (DUIS, "application/xml")])
def test_an_oversized_body_gets_413_declared_or_streamed(
    limited_api: TestClient, tokens: Tokens, path: str, content_type: str
) -> None:
    headers = {**Tokens.header(tokens.admin_ingest), "content-type": content_type}
    big = (
        b"<x>" + b"A" * 5_000 + b"</x>"
        if path == DUIS
        else ndjson(*[event(f"00-00-00-00-00-00-82-{n:02X}") for n in range(40)])
    )
    declared = limited_api.post(path, content=big, headers=headers)

    def streamed() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        yield from (big[i : i + 300] for i in range(0, len(big), 300))

    for response in (declared, limited_api.post(path, content=streamed(), headers=headers)):
        assert response.status_code == 413
        assert response.json()["error"] == {
            "code": "body_too_large",
            "message": "the request body is larger than the limit of 2,048 bytes",
        }
    assert stored_devices(limited_api, tokens) == []


# --- Stored text: formula-safe in every CSV, escaped on every screen --------------------------------------------

FORMULAS = ['=HYPERLINK("http://evil.example","x")', "+1+1", "-2+3", "@SUM(A1:A9)", "\t=1+1", "\r=1+1"]
FIRMWARE_FORMULAS = ["=1+2", "+A1", "-A1", "@A1", "\t1", "\r1"]


@pytest.fixture
def formula_events(api: TestClient, tokens: Tokens) -> list[tuple[str, str, str]]:
    """(device, reason, firmware version) of stored events whose text a spreadsheet would run."""
    rows = [
        (f"00-00-00-00-00-00-90-{n:02X}", reason, firmware)
        for n, (reason, firmware) in enumerate(zip(FORMULAS, FIRMWARE_FORMULAS, strict=True))
    ]
    body = ndjson(*(event(device, reason=reason, firmware_version=firmware) for device, reason, firmware in rows))
    assert ingest(api, tokens, body)["accepted"] == len(rows)
    return rows


def assert_formula_safe(text: str, rows: list[tuple[str, str, str]]) -> None:
    table = list(csv.reader(io.StringIO(text, newline="")))
    assert len(table) == 1 + len(rows)
    for row in table:
        assert not any(cell.startswith(FORMULA_STARTS) for cell in row), row
    by_device = {row[2]: row for row in table[1:]}
    for device, reason, firmware in rows:
        assert by_device[device][4] == "'" + reason  # the quote is all that changes
        assert by_device[device][1] == "'" + firmware


def test_every_csv_export_neutralises_formulas_in_stored_text(
    api: TestClient, tokens: Tokens, formula_events: list[tuple[str, str, str]], database_url: str
) -> None:
    from_api = api.get(f"{LOOK_UP}.csv", params={"request_id": REQUEST}, headers=Tokens.header(tokens.alpha))
    assert from_api.status_code == 200
    assert_formula_safe(from_api.text, formula_events)
    sign_in(api, ALPHA)
    from_screen = api.get(f"{SCREEN}.csv", params={"search_by": "service_request_id", "search_term": REQUEST})
    assert from_screen.status_code == 200
    assert_formula_safe(from_screen.text, formula_events)
    device, reason, firmware = formula_events[0]
    by_device = api.get(f"{SCREEN}.csv", params={"search_by": "device_id", "search_term": device})
    assert_formula_safe(by_device.text, [(device, reason, firmware)])
    result = CliRunner().invoke(
        main, ["--database-url", database_url, "lookup", "--request", REQUEST, "--format", "csv"]
    )
    assert result.exit_code == 0, result.output
    assert_formula_safe(result.output, formula_events)
    # The JSON API is not a spreadsheet: it gives the text exactly as it was sent.
    records = api.get(LOOK_UP, params={"request_id": REQUEST}, headers=Tokens.header(tokens.alpha)).json()["records"]
    assert {r["current_status_reason"] for r in records} == set(FORMULAS)


def test_a_formula_typed_as_a_username_never_reaches_the_audit_export(api: TestClient, database_url: str) -> None:
    page = api.get("/login")
    token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    api.post("/login", data={"username": "=cmd|' /C calc'!A0", "password": "x", "csrf_token": token})
    result = CliRunner().invoke(main, ["--database-url", database_url, "audit", "--format", "csv"])
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.output, newline="")))
    # A name no account has is refused before it is written anywhere (counted per source and hour instead).
    assert not any("cmd|" in cell for row in rows for cell in row)
    assert not any(cell.startswith(FORMULA_STARTS) for row in rows for cell in row)


MARKUP = ['"><img src=x onerror=alert(1)>', "<script>alert('pwned')</script>", "</textarea><svg onload=alert(1)>"]


def test_markup_in_stored_and_echoed_text_is_shown_escaped_on_every_screen(api: TestClient, tokens: Tokens) -> None:
    devices = [f"00-00-00-00-00-00-91-{n:02X}" for n in range(len(MARKUP))]
    body = ndjson(*(event(d, reason=m, firmware_version="<b>x</b>") for d, m in zip(devices, MARKUP, strict=True)))
    assert ingest(api, tokens, body)["accepted"] == len(MARKUP)
    pages = [api.get("/login", params={"next": MARKUP[0]})]
    page = api.get("/login")
    token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    pages.append(api.post("/login", data={"username": MARKUP[0], "password": "x", "csrf_token": token}))
    csrf_token = sign_in(api, CENTRE)
    pages += [
        api.get(SCREEN, params={"search_by": "service_request_id", "search_term": REQUEST}),
        api.get(SCREEN, params={"search_by": "device_id", "search_term": devices[0]}),
        api.get(SCREEN, params={"search_by": "device_id", "search_term": MARKUP[1]}),
        api.get(SCREEN, params={"search_by": MARKUP[2], "search_term": MARKUP[1]}),
        api.get("/ssmi/device-reset", params={"device_id": devices[1]}),
        api.get("/ssmi/device-reset", params={"device_id": MARKUP[0]}),
        api.post(
            "/ssmi/device-reset/check",
            data={"device_id": devices[2], "reason": MARKUP[2], "csrf_token": csrf_token},
        ),
        api.post("/ssmi/device-reset", data={"device_id": devices[2], "reason": MARKUP[1], "csrf_token": csrf_token}),
        api.get(SCREEN, params={"search_by": "device_id", "search_term": devices[2]}),
    ]
    admin = TestClient(api.app)
    sign_in(admin, ADMIN)
    pages.append(admin.get("/admin/audit-log", params={"actor": MARKUP[1]}))
    pages.append(admin.get("/admin/audit-log"))
    for response in pages:
        assert response.status_code < 500
        for markup in (*MARKUP, "<b>x</b>"):
            assert markup not in response.text, (response.url, markup)
        assert "<script>alert" not in response.text
    assert "&lt;script&gt;alert(&#39;pwned&#39;)&lt;/script&gt;" in pages[-3].text  # the reset reason, as text
    assert "&lt;script&gt;alert(&#39;pwned&#39;)&lt;/script&gt;" in pages[-1].text  # and in the audit log


def test_a_request_id_as_a_path_is_quoted_in_download_names(api: TestClient, tokens: Tokens) -> None:
    response = api.get(f"{LOOK_UP}.csv", params={"device_id": SHARED_DEVICE}, headers=Tokens.header(tokens.centre))
    disposition = response.headers["content-disposition"]
    assert "/" not in disposition.split("filename=", 1)[1]
    assert "\\" not in disposition
    assert quote("fdt-device-00DB1234567890A0") in disposition
