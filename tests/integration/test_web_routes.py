"""The web service over HTTP (no browser): sign-in, CSRF, cookies, headers, access rules, errors and CSV."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from e2e.seed import (
    ALPHA,
    ALPHA_OLD_REQUEST,
    BETA,
    BETA_REQUEST,
    HOSTILE_REASON,
    LARGE_REQUEST,
    SHARED_DEVICE,
    Login,
    cheap_settings,
    seed,
)
from fdtrack.adapters.csv_export import CSV_HEADER
from fdtrack.adapters.db.store import SqlStore
from fdtrack.web.app import create_app
from fdtrack.web.security import CONTENT_SECURITY_POLICY

SCREEN = "/ssi/firmware-distribution-tracking"
DEVICES = 120


@pytest.fixture
def app_store(database_url: str) -> Iterator[SqlStore]:
    store = SqlStore.open(database_url)
    seed(store, cheap_settings(database_url), large_request_devices=DEVICES)
    yield store
    store.dispose()


@pytest.fixture
def client(app_store: SqlStore) -> Iterator[TestClient]:
    url = app_store.engine.url.render_as_string(hide_password=False)
    with TestClient(create_app(cheap_settings(url), store=app_store)) as test_client:
        yield test_client


def credentials(login: Login) -> dict[str, str]:
    return {"username": login.username, "password": login.password}


def login_token(client: TestClient) -> str:
    page = client.get("/login")
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found is not None
    return found.group(1)


def sign_in(client: TestClient, login: Login) -> str:
    response = client.post(
        "/login",
        data={"username": login.username, "password": login.password, "csrf_token": login_token(client)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    page = client.get(SCREEN)
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found is not None
    return found.group(1)


def audit(store: SqlStore, action: str) -> list[tuple[str, str, dict[str, object]]]:
    with store.engine.connect() as connection:
        rows = connection.execute(
            sa.text("SELECT actor, subject, detail FROM audit_log WHERE action = :action ORDER BY id"),
            {"action": action},
        ).all()
    return [(row.actor, row.subject, json.loads(row.detail)) for row in rows]


@pytest.mark.parametrize("path", [SCREEN, f"{SCREEN}.csv?search_by=device_id&search_term=x", "/", "/diagnostics"])
def test_every_page_but_sign_in_needs_an_account(client: TestClient, path: str) -> None:
    response = client.get(path, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=%2F")


def test_every_response_carries_the_security_headers(client: TestClient) -> None:
    for response in (client.get("/login"), client.get("/static/fdtrack.css"), client.get("/nowhere"), client.get("/")):
        assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY
        assert "unsafe-inline" not in CONTENT_SECURITY_POLICY
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "same-origin"


def test_sign_in_sets_an_http_only_lax_cookie_and_honours_only_local_next(client: TestClient) -> None:
    token = login_token(client)
    response = client.post(
        "/login",
        data={**credentials(ALPHA), "csrf_token": token, "next": "//evil.example/phish"},
        follow_redirects=False,
    )
    assert response.headers["location"] == SCREEN
    cookie = response.headers["set-cookie"]
    assert "fdtrack_session=" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie


def test_behind_https_the_cookies_are_secure_and_host_bound(app_store: SqlStore) -> None:
    url = app_store.engine.url.render_as_string(hide_password=False)
    with TestClient(create_app(cheap_settings(url), store=app_store), base_url="https://testserver") as secure:
        assert "__Host-fdtrack_login=" in secure.get("/login").headers["set-cookie"]
        response = secure.post(
            "/login", data={**credentials(ALPHA), "csrf_token": login_token(secure)}, follow_redirects=False
        )
        cookie = response.headers["set-cookie"]
        assert "__Host-fdtrack_session=" in cookie
        assert "Secure" in cookie
        assert response.headers["strict-transport-security"].startswith("max-age=")


def test_forms_without_their_anti_csrf_token_are_refused(client: TestClient) -> None:
    client.get("/login")
    refused = client.post("/login", data={**credentials(ALPHA), "csrf_token": "forged"})
    assert refused.status_code == 403
    sign_in(client, ALPHA)
    assert client.post("/logout", data={"csrf_token": "forged"}).status_code == 403
    assert client.get(SCREEN, follow_redirects=False).status_code == 200  # still signed in


def test_sign_out_ends_the_session(client: TestClient, app_store: SqlStore) -> None:
    token = sign_in(client, ALPHA)
    response = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert response.headers["location"] == "/login?signed_out=1"
    assert client.get(SCREEN, follow_redirects=False).status_code == 303
    assert [actor for actor, _, _ in audit(app_store, "logout")] == [ALPHA.username]


def test_an_idle_session_is_ended_and_the_user_told_why(client: TestClient, app_store: SqlStore) -> None:
    sign_in(client, ALPHA)
    with app_store.engine.begin() as connection:
        connection.execute(
            sa.text("UPDATE web_sessions SET last_seen_at = :old"), {"old": datetime.now(UTC) - timedelta(hours=1)}
        )
    response = client.get(SCREEN, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].endswith("&ended=1")
    assert "Your session has ended" in client.get(response.headers["location"]).text


def test_right_after_a_failure_even_the_right_password_waits_with_429_and_retry_after(
    client: TestClient, app_store: SqlStore
) -> None:
    statuses = []
    for password in ["wrong-password-1", ALPHA.password]:
        response = client.post(
            "/login", data={"username": ALPHA.username, "password": password, "csrf_token": login_token(client)}
        )
        statuses.append(response.status_code)
    assert statuses == [401, 429]
    assert response.headers["retry-after"] == "1"
    assert "fdtrack_session" not in response.headers.get("set-cookie", "")
    assert len(audit(app_store, "login_failed")) == 1  # the throttled attempt is counted, not audited


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("search_by=device_id&search_term=12345", "Enter a Device ID in the form"),
        ("search_by=bogus&search_term=12345", "Select whether to search by"),
        (f"search_by=device_id&search_term={'x' * 5000}", "Device ID must be at most 200 characters"),
        (f"search_by=service_request_id&search_term={LARGE_REQUEST}&cursor=%%%", "cursor: is not a cursor"),
        (f"search_by=service_request_id&search_term={LARGE_REQUEST}&completion=done", "completion: Choose"),
        (f"search_by=service_request_id&search_term={LARGE_REQUEST}&cursor=MDA&page=0", "page: must be"),
    ],
)
def test_bad_input_gets_a_400_page_naming_the_field(client: TestClient, query: str, message: str) -> None:
    sign_in(client, ALPHA)
    response = client.get(f"{SCREEN}?{query}")
    assert response.status_code == 400
    assert message in response.text
    assert "There is a problem" in response.text


def test_another_partys_request_looks_exactly_like_a_missing_one(client: TestClient) -> None:
    sign_in(client, BETA)
    hidden = client.get(SCREEN, params={"search_by": "service_request_id", "search_term": LARGE_REQUEST})
    missing_id = LARGE_REQUEST.replace(":1000", ":1999")
    missing = client.get(SCREEN, params={"search_by": "service_request_id", "search_term": missing_id})
    assert hidden.status_code == missing.status_code == 404
    assert hidden.text.replace(LARGE_REQUEST, "ID") == missing.text.replace(LARGE_REQUEST, "ID").replace(
        missing_id, "ID"
    )
    assert f"No firmware distribution records found for Service Request ID {LARGE_REQUEST}" in hidden.text
    csv_response = client.get(f"{SCREEN}.csv", params={"search_by": "service_request_id", "search_term": LARGE_REQUEST})
    assert csv_response.status_code == 404
    assert "text/html" in csv_response.headers["content-type"]


def test_reasons_from_events_are_escaped(client: TestClient) -> None:
    sign_in(client, ALPHA)
    page = client.get(SCREEN, params={"search_by": "device_id", "search_term": SHARED_DEVICE})
    assert page.status_code == 200
    assert HOSTILE_REASON not in page.text
    assert "&lt;script&gt;alert(&#34;pwned&#34;)&lt;/script&gt;" in page.text
    assert "<script" not in page.text


def test_the_csv_download_is_exact_streamed_and_audited(client: TestClient, app_store: SqlStore) -> None:
    sign_in(client, ALPHA)
    response = client.get(f"{SCREEN}.csv", params={"search_by": "service_request_id", "search_term": LARGE_REQUEST})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    disposition = response.headers["content-disposition"]
    assert re.search(r'filename="fdt-request-90B3D51F30010000_90B3D51F30000002_1000-\d{8}T\d{6}Z\.csv"', disposition)
    assert response.text.startswith(",".join(CSV_HEADER) + "\r\n")
    rows = list(csv.reader(io.StringIO(response.text)))
    assert len(rows) == 1 + DEVICES
    assert audit(app_store, "csv_download") == [(ALPHA.username, LARGE_REQUEST, {"search_by": "service_request_id"})]


def test_a_device_csv_quotes_formula_like_reasons(client: TestClient) -> None:
    sign_in(client, ALPHA)
    response = client.get(f"{SCREEN}.csv", params={"search_by": "device_id", "search_term": SHARED_DEVICE.lower()})
    rows = list(csv.reader(io.StringIO(response.text)))
    assert [row[0] for row in rows[1:]] == [LARGE_REQUEST.replace(":1000", ":2001"), ALPHA_OLD_REQUEST]
    assert rows[2][4] == HOSTILE_REASON  # starts with '<', so it needs no quote prefix
    assert "fdt-device-00DB1234567890A0-" in response.headers["content-disposition"]


def test_results_by_request_show_counts_and_a_page_of_devices(client: TestClient) -> None:
    sign_in(client, BETA)
    page = client.get(SCREEN, params={"search_by": "service_request_id", "search_term": BETA_REQUEST})
    assert page.status_code == 200
    assert 'id="device-count">1<' in page.text
    assert "Firmware Activated" in page.text
    assert "BEEF0001" in page.text
    assert "Showing devices 1 to 1 of 1" in page.text


def test_the_not_found_and_forbidden_pages_keep_the_signed_in_header_and_menu(client: TestClient) -> None:
    sign_in(client, ALPHA)
    for path, status in (("/no/such/page", 404), ("/admin/audit-log", 403)):
        page = client.get(path)
        assert page.status_code == status
        assert "Signed in as <strong>alpha</strong>" in page.text
        assert 'aria-label="Service menu"' in page.text
        assert "Sign out" in page.text


def test_the_not_found_page_of_an_anonymous_visitor_has_no_menu(client: TestClient) -> None:
    page = client.get("/no/such/page")
    assert page.status_code == 404
    assert "Signed in as" not in page.text
    assert 'aria-label="Service menu"' not in page.text
