"""The Service Centre reset screen and the administrators' audit log page over HTTP (no browser)."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from e2e.seed import ALPHA, BETA_DEVICE, BETA_REQUEST, BETA_SHARED_REQUEST, CENTRE, SHARED_DEVICE, Login
from fdtrack.adapters.db.store import SqlStore
from fdtrack.web.app import create_app
from fdtrack.web.settings import WebSettings
from integration.conftest import ADMIN_USERNAME, Tokens
from integration.test_web_routes import sign_in

RESET = "/ssmi/device-reset"
ADMIN = Login(ADMIN_USERNAME, "admin-password-1")


@pytest.fixture
def browser_like(api_store: SqlStore, api_settings: WebSettings, tokens: Tokens) -> Iterator[TestClient]:
    with TestClient(create_app(api_settings, store=api_store)) as client:
        yield client


def hidden(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert found is not None, name
    return html.unescape(found.group(1))  # as a browser would submit it


def test_the_service_centre_resets_a_device_after_confirming(browser_like: TestClient, api_store: SqlStore) -> None:
    csrf = sign_in(browser_like, CENTRE)
    found = browser_like.get(RESET, params={"device_id": SHARED_DEVICE.replace("-", "")})
    assert found.status_code == 200
    assert found.text.count("Reset this record") == 2  # both In Progress records, of two parties
    assert "Reset by DCC" in found.text  # the older, already reset record is shown without a form
    form = {"csrf_token": csrf, "device_id": SHARED_DEVICE, "request_id": BETA_SHARED_REQUEST}
    empty = browser_like.post(f"{RESET}/check", data={**form, "reason": "  "})
    assert empty.status_code == 400
    assert "Is required: say why the device is being reset" in empty.text
    check = browser_like.post(f"{RESET}/check", data={**form, "reason": "Stuck at CSP <b>x</b>"})
    assert check.status_code == 200
    assert "Check before you reset" in check.text
    assert "Stuck at CSP &lt;b&gt;x&lt;/b&gt;" in check.text
    assert re.search(r'id="reset-party">Beta Power<', check.text)  # the record's owner
    assert 'id="reset-history"' in check.text
    assert "not-in-progress-warning" not in check.text  # an In Progress record needs no extra confirmation
    assert 'name="confirm_not_in_progress"' not in check.text
    with api_store.engine.connect() as connection:  # nothing has changed yet
        assert connection.execute(sa.text("SELECT count(*) FROM audit_log WHERE action = 'reset'")).scalar_one() == 0
    forged = browser_like.post(RESET, data={**form, "reason": "x", "csrf_token": "forged"})
    assert forged.status_code == 403
    done = browser_like.post(RESET, data={**form, "reason": hidden(check.text, "reason")})
    assert done.status_code == 200
    assert "Device reset" in done.text
    assert "Accepted by DSP" in done.text  # the status replaced
    again = browser_like.post(RESET, data={**form, "reason": "twice"})
    assert again.status_code == 409
    assert "is already Reset by DCC and cannot be reset again" in again.text
    with api_store.engine.connect() as connection:
        actor, detail = connection.execute(sa.text("SELECT actor, detail FROM audit_log WHERE action = 'reset'")).one()
    assert actor == CENTRE.username
    assert '"channel": "screen"' in detail
    assert '"reason": "Stuck at CSP <b>x</b>"' in detail


def test_a_complete_record_is_reset_only_after_the_extra_confirmation(
    browser_like: TestClient, api_store: SqlStore
) -> None:
    csrf = sign_in(browser_like, CENTRE)
    found = browser_like.get(RESET, params={"device_id": BETA_DEVICE})
    assert found.status_code == 200
    assert found.text.count("Reset this record") == 1  # the Complete record is offered too
    assert "you will be asked to confirm the reset on the next page" in found.text
    form = {"csrf_token": csrf, "device_id": BETA_DEVICE, "request_id": BETA_REQUEST}
    check = browser_like.post(f"{RESET}/check", data={**form, "reason": "User says it never activated"})
    assert check.status_code == 200
    assert 'id="not-in-progress-warning"' in check.text
    assert "This record is not In Progress: it is Complete (Firmware Activated)." in check.text
    assert re.search(r'id="reset-party">Beta Power<', check.text)
    history = check.text[check.text.index('id="reset-history"') :]
    statuses = re.findall(r'<p class="timeline__status">([^<]+)</p>', history)
    assert statuses == [
        "Accepted by DSP",
        "Approved for Distribution",
        "Successful CH Transfer",
        "Successful HAN Transfer",
        "Firmware Activated",
    ]
    assert "I confirm this record is not In Progress and I still want to reset it" in check.text

    reason = hidden(check.text, "reason")
    unticked = browser_like.post(RESET, data={**form, "reason": reason})
    assert unticked.status_code == 409
    assert "<title>Error: Check before you reset" in unticked.text
    assert 'href="#confirm_not_in_progress"' in unticked.text  # the error summary points at the checkbox
    assert re.search(
        r'id="confirm_not_in_progress-error" class="error-message"><span class="visually-hidden">Error:</span> '
        r"Tick the box to confirm you want to reset this record: "
        r"it is Complete \(Firmware Activated\), not In Progress",
        unticked.text,
    )
    with api_store.engine.connect() as connection:  # nothing has changed
        assert connection.execute(sa.text("SELECT count(*) FROM audit_log WHERE action = 'reset'")).scalar_one() == 0

    ticked = browser_like.post(RESET, data={**form, "reason": reason, "confirm_not_in_progress": "yes"})
    assert ticked.status_code == 200
    assert "Device reset" in ticked.text
    assert "Firmware Activated (not In Progress: reset after your extra confirmation)" in ticked.text
    with api_store.engine.connect() as connection:
        detail = connection.execute(sa.text("SELECT detail FROM audit_log WHERE action = 'reset'")).scalar_one()
    assert '"forced": true' in detail
    assert '"replaced_status": "Firmware Activated"' in detail
    after = browser_like.get(RESET, params={"device_id": BETA_DEVICE})
    assert "Reset this record" not in after.text  # a Reset by DCC record is never offered again


def test_the_reset_screen_explains_bad_device_ids_and_unknown_devices(browser_like: TestClient) -> None:
    sign_in(browser_like, CENTRE)
    bad = browser_like.get(RESET, params={"device_id": "nonsense"})
    assert bad.status_code == 400
    assert "Enter a Device ID in the form" in bad.text
    unknown = browser_like.get(RESET, params={"device_id": "00-00-00-00-00-00-00-01"})
    assert unknown.status_code == 404
    assert "No firmware distribution records found for Device ID 00-00-00-00-00-00-00-01" in unknown.text


@pytest.mark.parametrize("login", [ALPHA, ADMIN])
def test_only_the_service_centre_may_use_the_reset_screen(browser_like: TestClient, login: Login) -> None:
    csrf = sign_in(browser_like, login)
    assert browser_like.get(RESET).status_code == 403
    posted = browser_like.post(RESET, data={"csrf_token": csrf, "device_id": SHARED_DEVICE, "reason": "x"})
    assert posted.status_code == 403
    assert 'href="/ssmi/device-reset"' not in browser_like.get("/diagnostics").text


def test_the_audit_log_page_shows_and_filters_entries_for_administrators(browser_like: TestClient) -> None:
    failed = browser_like.post("/login", data={"username": "=cmd", "password": "wrong", "csrf_token": "x"})
    assert failed.status_code == 403  # no sign-in form token: refused before any attempt
    sign_in(browser_like, ADMIN)
    page = browser_like.get("/admin/audit-log")
    assert page.status_code == 200
    assert "token_created" in page.text
    assert 'aria-current="page">Audit log' in page.text
    logins = browser_like.get("/admin/audit-log", params={"action": "login", "actor": ADMIN_USERNAME})
    rows = re.findall(r"<tr>\s*<td>", logins.text)
    assert len(rows) == 1
    assert browser_like.get("/admin/audit-log", params={"action": "dance"}).status_code == 400
    assert browser_like.get("/admin/audit-log", params={"since": "soon"}).status_code == 400
    future = browser_like.get("/admin/audit-log", params={"since": "2999-01-01"})
    assert "No audit entries match these filters." in future.text


def test_only_administrators_may_read_the_audit_log(browser_like: TestClient) -> None:
    sign_in(browser_like, CENTRE)
    assert browser_like.get("/admin/audit-log").status_code == 403
