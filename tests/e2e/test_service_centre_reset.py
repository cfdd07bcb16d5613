"""The reset flow in a real browser: the Service Centre resets a device; the supplier and the audit log show it."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect

from e2e.conftest import LiveServer, sign_in
from e2e.seed import ALPHA, ALPHA_USER_ID, BETA, BETA_DEVICE, CENTRE, DCC, Login, cheap_settings
from e2e.test_accessibility import serious_violations
from fdtrack.adapters.db.accounts import SqlAccountStore
from fdtrack.adapters.passwords import Argon2Hasher
from fdtrack.domain.accounts import AlreadyExists, Role
from fdtrack.domain.timestamps import format_rfc3339
from fdtrack.services.accounts import create_account
from fdtrack.services.ingest import RawEvent, ingest

pytestmark = pytest.mark.browser
AUDITOR = Login("auditor", "auditor-password-1")
STUCK_REQUEST = f"{ALPHA_USER_ID}:{DCC}:4000"
ACTIVATED_REQUEST = f"{ALPHA_USER_ID}:{DCC}:4001"
STUCK = ("Accepted by DSP", "Approved for Distribution", "Successful CH Transfer")
ACTIVATED = (*STUCK, "Successful HAN Transfer", "Firmware Activated")


def stuck_device(
    live_server: LiveServer, device: str, request_id: str = STUCK_REQUEST, journey: tuple[str, ...] = STUCK
) -> None:
    """A device of Alpha's stuck at the CH stage (or at the end of `journey`), of its own so other browser
    tests see nothing change."""
    start = datetime.now(UTC) - timedelta(days=1)
    events = [
        RawEvent(
            "e2e:1",
            "ndjson",
            "",
            fields={
                "request_id": request_id,
                "device_id": device,
                "status": status,
                "occurred_at": format_rfc3339(start + timedelta(hours=n)),
            },
        )
        for n, status in enumerate(journey)
    ]
    assert ingest(live_server.store, events).accepted == len(journey)


def auditor(live_server: LiveServer) -> Login:
    settings = cheap_settings(str(live_server.store.engine.url))
    hasher = Argon2Hasher(settings.password_time_cost, settings.password_memory_kib)
    with contextlib.suppress(AlreadyExists):  # the server lives for the whole session
        create_account(
            SqlAccountStore(live_server.store.engine), hasher, AUDITOR.username, Role.ADMIN, AUDITOR.password, "test"
        )
    return AUDITOR


def sign_out(page: Page) -> None:
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/login?signed_out=1")


def test_the_service_centre_resets_a_device_and_the_supplier_and_audit_log_show_it(
    page: Page, live_server: LiveServer
) -> None:
    device = "00-DB-12-34-56-78-90-D0"
    stuck_device(live_server, device)

    sign_in(page, CENTRE)
    page.get_by_role("link", name="Reset a device").click()
    page.get_by_label("Device ID").fill(device.replace("-", "").lower())
    page.get_by_role("button", name="Find records").click()
    expect(page.locator(".record")).to_have_count(1)
    page.get_by_role("button", name="Reset this record").click()
    expect(page.get_by_text("Is required: say why the device is being reset").first).to_be_visible()
    page.get_by_label("Reason for the reset").fill("CH transfer stuck for 20 hours; User asked to re-send")
    page.get_by_role("button", name="Reset this record").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check before you reset")
    expect(page.locator("#reset-summary")).to_contain_text("Successful CH Transfer")
    page.get_by_role("button", name="Confirm reset").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Device reset")
    expect(page.locator("#reset-outcome")).to_contain_text("Successful CH Transfer")
    sign_out(page)

    sign_in(page, ALPHA)
    page.goto(f"/ssi/firmware-distribution-tracking?search_by=device_id&search_term={device}")
    record = page.locator(".record").first
    expect(record).to_contain_text("Reset by DCC")
    expect(record).to_contain_text("CH transfer stuck for 20 hours; User asked to re-send")
    expect(record.locator(".tag--large")).to_have_text("Failed")
    sign_out(page)

    sign_in(page, auditor(live_server))
    page.get_by_role("link", name="Audit log").click()
    page.get_by_label("Action").select_option("reset")
    page.get_by_role("button", name="Filter").click()
    row = page.locator("#audit-entries tbody tr").filter(has_text=device)
    expect(row).to_have_count(1)
    expect(row).to_contain_text(CENTRE.username)
    expect(row).to_contain_text("Replaced status: Successful CH Transfer")
    expect(row).to_contain_text("Reason: CH transfer stuck for 20 hours")


def test_a_complete_record_is_reset_only_once_the_operator_ticks_the_extra_confirmation(
    page: Page, live_server: LiveServer
) -> None:
    device = "00-DB-12-34-56-78-90-D1"
    stuck_device(live_server, device, ACTIVATED_REQUEST, ACTIVATED)

    sign_in(page, CENTRE)
    page.goto(f"/ssmi/device-reset?device_id={device}")
    expect(page.locator(".record")).to_have_count(1)
    page.get_by_label("Reason for the reset").fill("User says the device still runs the old image")
    page.get_by_role("button", name="Reset this record").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check before you reset")
    expect(page.locator("#not-in-progress-warning")).to_contain_text("Complete (Firmware Activated)")
    expect(page.locator("#reset-party")).to_have_text("Alpha Energy")
    expect(page.locator("#reset-history .timeline__status")).to_have_text(list(ACTIVATED))

    page.get_by_role("button", name="Confirm reset").click()  # not ticked: refused, nothing changes
    expect(page.locator("#confirm_not_in_progress-error")).to_contain_text("Tick the box to confirm")
    page.locator(".error-summary a").click()
    expect(page.get_by_label("I confirm this record is not In Progress and I still want to reset it")).to_be_focused()

    page.get_by_label("I confirm this record is not In Progress and I still want to reset it").check()
    page.get_by_role("button", name="Confirm reset").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Device reset")
    expect(page.locator("#reset-outcome")).to_contain_text("Firmware Activated (not In Progress")
    page.get_by_role("link", name="Look at the device's records again").click()
    expect(page.locator(".record")).to_contain_text("Reset by DCC")
    expect(page.get_by_role("button", name="Reset this record")).to_have_count(0)


def test_the_reset_and_audit_pages_have_no_serious_accessibility_violations(
    inspectable_page: Page, live_server: LiveServer
) -> None:
    page = inspectable_page
    sign_in(page, CENTRE)
    page.goto("/ssmi/device-reset?device_id=00-DB-12-34-56-78-90-A0")
    assert serious_violations(page) == []
    page.get_by_role("button", name="Reset this record").first.click()  # no reason: the error state
    assert serious_violations(page) == []
    page.goto(f"/ssmi/device-reset?device_id={BETA_DEVICE}")  # a Complete record: the extra confirmation
    page.get_by_label("Reason for the reset").fill("User disputes the activation")
    page.get_by_role("button", name="Reset this record").click()
    expect(page.locator("#not-in-progress-warning")).to_be_visible()
    assert serious_violations(page) == []
    page.get_by_role("button", name="Confirm reset").click()  # not ticked: the error state, nothing changes
    expect(page.locator("#confirm_not_in_progress-error")).to_be_visible()
    assert serious_violations(page) == []
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, auditor(live_server))
    page.goto("/admin/audit-log")
    assert serious_violations(page) == []


def test_the_account_pages_explain_refusals_and_have_no_serious_accessibility_violations(
    inspectable_page: Page, live_server: LiveServer
) -> None:
    page = inspectable_page
    sign_in(page, auditor(live_server))
    page.get_by_role("link", name="Accounts").click()
    assert serious_violations(page) == []
    page.get_by_role("link", name=BETA.username, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Account {BETA.username}")
    page.get_by_label("New password").fill("password1234")  # a common one: refused next to the field
    page.get_by_role("button", name="Set the password").click()
    expect(page.locator(".error-summary")).to_contain_text("common or breached passwords")
    assert serious_violations(page) == []
    page.get_by_role("button", name="Lift sign-in throttles").click()
    expect(page.get_by_role("status")).to_contain_text("sign-in throttles on the account have been lifted")
    page.goto("/account/password")
    page.get_by_role("button", name="Change password").click()  # nothing filled in: the error state
    expect(page.locator(".error-summary")).to_contain_text("Enter your current password")
    assert serious_violations(page) == []
