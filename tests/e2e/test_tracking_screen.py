"""The Firmware Distribution Tracking screen in a real browser: sign in, search, read, page, download, sign out."""

from __future__ import annotations

import csv
import io
import re

import pytest
from playwright.sync_api import Page, expect

from e2e.conftest import LiveServer, sign_in
from e2e.seed import (
    ALPHA,
    ALPHA_NEW_REQUEST,
    ALPHA_OLD_REQUEST,
    BETA,
    BETA_SHARED_REQUEST,
    CENTRE,
    FIRMWARE,
    HOSTILE_REASON,
    LARGE_REQUEST,
    LARGE_REQUEST_DEVICES,
    SHARED_DEVICE,
    large_request_device,
)
from fdtrack.adapters.csv_export import CSV_HEADER
from fdtrack.adapters.db.accounts import SqlAccountStore
from fdtrack.services.accounts import unlock_account

pytestmark = pytest.mark.browser
SCREEN = "/ssi/firmware-distribution-tracking"


def search(page: Page, by: str, term: str) -> None:
    page.goto(SCREEN)
    page.get_by_label(by, exact=True).check()
    page.get_by_label("Search Term").fill(term)
    page.get_by_role("button", name="Search").click()


def device_rows(page: Page) -> list[list[str]]:
    rows = page.locator("#devices tbody tr")
    return [[cell.strip() for cell in rows.nth(i).locator("td").all_inner_texts()] for i in range(rows.count())]


def download_csv(page: Page) -> tuple[str, list[list[str]]]:
    with page.expect_download() as info:
        page.get_by_role("link", name=re.compile("Download CSV")).click()
    download = info.value
    path = download.path()
    text = path.read_text(encoding="utf-8")
    return download.suggested_filename, list(csv.reader(io.StringIO(text)))


def test_the_screen_is_reached_through_the_diagnostics_menu(page: Page) -> None:
    sign_in(page, ALPHA)
    page.get_by_role("link", name="Diagnostics").first.click()
    page.get_by_role("link", name="Service Audit Trail").click()
    page.get_by_role("link", name="Firmware Distribution Tracking", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Firmware Distribution Tracking")
    crumbs = page.get_by_role("navigation", name="Breadcrumb")
    expect(crumbs).to_contain_text("Diagnostics")
    expect(crumbs).to_contain_text("Service Audit Trail")


def test_a_user_finds_a_request_reads_its_counts_and_pages_through_its_devices(page: Page) -> None:
    sign_in(page, ALPHA)
    search(page, "Service Request ID", LARGE_REQUEST.lower().replace("-", ""))
    expect(page.locator("#firmware-version")).to_have_text(FIRMWARE)
    expect(page.locator("#device-count")).to_have_text(f"{LARGE_REQUEST_DEVICES:,}")
    completion = page.locator("#completion-counts")
    expect(completion).to_contain_text("Failed")
    expect(completion).to_contain_text("Complete")
    expect(page.locator("#processing-counts")).to_contain_text("Rejected by DSP")
    expect(page.get_by_role("img", name=re.compile("Devices by Completion Status"))).to_be_visible()

    expect(page.locator("#table-position")).to_contain_text("Showing devices 1 to 50 of 1,200")
    first_page = device_rows(page)
    assert len(first_page) == 50
    assert first_page[0][0] == large_request_device(0)
    assert first_page[0][2] == "Rejected by DSP"
    assert first_page[0][3] == "Device not commissioned"
    assert first_page[0][5] == "Failed"
    assert first_page[0][4].endswith("UTC")

    page.get_by_role("link", name=re.compile("Next page")).click()
    expect(page.locator("#table-position")).to_contain_text("Showing devices 51 to 100 of 1,200")
    assert device_rows(page)[0][0] == large_request_device(50)
    page.get_by_role("link", name=re.compile("Next page")).click()
    expect(page.locator("#table-position")).to_contain_text("Showing devices 101 to 150")
    page.get_by_role("link", name="First page").click()
    expect(page.locator("#table-position")).to_contain_text("Showing devices 1 to 50")


def test_the_device_table_can_be_filtered_by_completion_status(page: Page) -> None:
    sign_in(page, ALPHA)
    search(page, "Service Request ID", LARGE_REQUEST)
    page.get_by_role("link", name=re.compile(r"^Failed \(")).click()
    expect(page.locator("#table-position")).to_contain_text("with Completion Status Failed")
    rows = device_rows(page)
    assert rows
    assert all(row[5] == "Failed" for row in rows)
    assert {row[2] for row in rows} <= {"Rejected by DSP", "Not Delivered at HAN"}


def test_a_device_shows_its_records_newest_first_with_history(page: Page) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: dialogs.append(dialog.message))
    sign_in(page, ALPHA)
    search(page, "Device ID", SHARED_DEVICE.replace("-", "").lower())
    records = page.locator("article.record")
    expect(records).to_have_count(2)
    expect(records.nth(0).get_by_role("heading", level=3)).to_contain_text(ALPHA_NEW_REQUEST)
    expect(records.nth(1).get_by_role("heading", level=3)).to_contain_text(ALPHA_OLD_REQUEST)
    expect(records.nth(0).locator(".record__completion")).to_contain_text("In Progress")
    expect(records.nth(1).locator(".record__completion")).to_contain_text("Failed")
    old = records.nth(1)
    expect(old).to_contain_text("Available until")
    history = old.locator("ol.timeline li")
    expect(history).to_have_count(4)
    expect(history.nth(0)).to_contain_text("Accepted by DSP")
    expect(history.nth(3)).to_contain_text("Reset by DCC")
    # The reason arrives from upstream systems: it is shown as text, never run as markup.
    expect(history.nth(3)).to_contain_text(HOSTILE_REASON)
    assert dialogs == []


def test_the_csv_of_a_request_has_the_exact_header_and_every_row(page: Page) -> None:
    sign_in(page, ALPHA)
    search(page, "Service Request ID", LARGE_REQUEST)
    name, rows = download_csv(page)
    assert re.fullmatch(r"fdt-request-90B3D51F30010000_90B3D51F30000002_1000-\d{8}T\d{6}Z\.csv", name)
    assert rows[0] == list(CSV_HEADER)
    assert len(rows) == 1 + LARGE_REQUEST_DEVICES
    assert rows[1][:4] == [LARGE_REQUEST, FIRMWARE, large_request_device(0), "Rejected by DSP"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", rows[1][5])
    assert [row[2] for row in rows[1:]] == sorted(row[2] for row in rows[1:])


def test_each_search_error_is_explained_next_to_the_field_and_in_the_summary(page: Page) -> None:
    sign_in(page, ALPHA)
    page.get_by_role("button", name="Search").click()
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("There is a problem")
    expect(summary).to_contain_text("Select whether to search by Service Request ID or Device ID")
    expect(page.locator("#search_by-error")).to_contain_text("Select whether to search")
    expect(page.locator("#search_term-error")).to_contain_text("Enter a Service Request ID or a Device ID")
    expect(page).to_have_title(re.compile("^Error: "))

    search(page, "Device ID", "not-a-device")
    expect(page.locator("#search_term-error")).to_contain_text("Enter a Device ID in the form 16 hex digits")
    page.get_by_role("alert").get_by_role("link").click()
    expect(page.get_by_label("Search Term")).to_be_focused()

    search(page, "Service Request ID", SHARED_DEVICE)
    expect(page.locator("#search_term-error")).to_contain_text("Enter a Service Request ID in the form")

    search(page, "Service Request ID", "")
    expect(page.locator("#search_term-error")).to_contain_text("Enter a Service Request ID")

    search(page, "Device ID", "FF-FF-FF-FF-FF-FF-FF-FF")
    expect(page.get_by_role("status")).to_contain_text(
        "No firmware distribution records found for Device ID FF-FF-FF-FF-FF-FF-FF-FF"
    )


def test_sign_in_errors_are_uniform_and_sign_out_ends_the_session(page: Page, live_server: LiveServer) -> None:
    page.goto(SCREEN)
    expect(page).to_have_url(re.compile(r"/login\?next="))
    messages = []
    # Beta's name, not Alpha's: after a failure, this address waits a moment before its next try for that name.
    for username, password in (("nobody", "whatever-password"), (BETA.username, "wrong-password-1")):
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        messages.append(page.locator("#username-error").inner_text())
    # The server lives for the whole session: lift the wait Beta's name now has from this address.
    unlock_account(SqlAccountStore(live_server.store.engine), BETA.username, "test")
    assert messages[0] == messages[1]
    assert "not correct" in messages[0]

    page.get_by_label("Username").fill("")
    page.get_by_label("Password").fill("")
    page.get_by_role("button", name="Sign in").click()  # both fields empty: each is named
    expect(page.locator("#username-error")).to_contain_text("Enter your username")
    expect(page.locator("#password-error")).to_contain_text("Enter your password")

    page.get_by_label("Username").fill(ALPHA.username)
    page.get_by_label("Password").fill(ALPHA.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(SCREEN + "$"))
    expect(page.locator("header")).to_contain_text("Signed in as alpha")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("status")).to_contain_text("You have signed out")
    page.goto(SCREEN)
    expect(page).to_have_url(re.compile("/login"))


def test_each_party_sees_only_its_own_records_on_screen_and_in_csv(page: Page, live_server: LiveServer) -> None:
    sign_in(page, BETA)
    search(page, "Service Request ID", LARGE_REQUEST)
    hidden = page.get_by_role("status").inner_text()
    search(page, "Service Request ID", LARGE_REQUEST.replace(":1000", ":1999"))
    absent = page.get_by_role("status").inner_text()
    assert hidden.replace(":1000", ":1999") == absent  # not permitted looks exactly like not found
    assert page.locator("#devices").count() == 0

    search(page, "Device ID", SHARED_DEVICE)
    records = page.locator("article.record")
    expect(records).to_have_count(1)
    expect(records.first).to_contain_text(BETA_SHARED_REQUEST)
    _, rows = download_csv(page)
    assert [row[0] for row in rows[1:]] == [BETA_SHARED_REQUEST]

    response = page.request.get(f"{SCREEN}.csv?search_by=service_request_id&search_term={LARGE_REQUEST}")
    assert response.status == 404
    assert "No firmware distribution records found" in response.text()
    assert "text/csv" not in response.headers["content-type"]


def test_the_other_party_and_the_service_centre_see_what_they_may(page: Page) -> None:
    sign_in(page, ALPHA)
    search(page, "Device ID", SHARED_DEVICE)
    _, rows = download_csv(page)
    assert sorted(row[0] for row in rows[1:]) == sorted([ALPHA_OLD_REQUEST, ALPHA_NEW_REQUEST])
    page.get_by_role("button", name="Sign out").click()

    sign_in(page, CENTRE)
    search(page, "Device ID", SHARED_DEVICE)
    expect(page.locator("article.record")).to_have_count(3)
    expect(page.locator("article.record").first).to_contain_text(BETA_SHARED_REQUEST)
