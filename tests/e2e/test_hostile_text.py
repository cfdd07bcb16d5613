"""Markup in stored reasons and in typed search terms is shown as text in a real browser: no script runs, even
with the Content Security Policy switched off, so escaping alone is what stops it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest
from playwright.sync_api import Page, expect

from e2e.conftest import LiveServer, sign_in
from e2e.seed import ALPHA, ALPHA_USER_ID, DCC
from fdtrack.domain.timestamps import format_rfc3339
from fdtrack.services.ingest import RawEvent, ingest

pytestmark = pytest.mark.browser
SCREEN = "/ssi/firmware-distribution-tracking"
REQUEST = f"{ALPHA_USER_ID}:{DCC}:9200"
# Each would set window.pwned if the page ran it as markup instead of showing it as text.
PAYLOADS = [
    "<script>window.pwned = 'script'</script>",
    '<img src="x" onerror="window.pwned = \'img\'">',
    "<svg onload=\"window.pwned = 'svg'\"></svg>",
    '"><iframe srcdoc="<script>parent.pwned = \'iframe\'</script>"></iframe>',
    "</td></tr></table><details open ontoggle=\"window.pwned = 'details'\">",
]
DEVICES = [f"00-00-00-00-00-00-92-{n:02X}" for n in range(len(PAYLOADS))]


@pytest.fixture(scope="module")
def hostile_records(live_server: LiveServer) -> None:
    at = format_rfc3339(datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1))
    raw = [
        RawEvent(
            f"hostile:{n}",
            "ndjson",
            "",
            fields={
                "request_id": REQUEST,
                "device_id": device,
                "status": "Accepted by DSP",
                "occurred_at": at,
                "reason": payload,
            },
        )
        for n, (device, payload) in enumerate(zip(DEVICES, PAYLOADS, strict=True))
    ]
    assert ingest(live_server.store, raw).accepted == len(PAYLOADS)


def assert_nothing_ran(page: Page, dialogs: list[str]) -> None:
    assert page.evaluate("() => window.pwned === undefined")
    assert dialogs == []


@pytest.mark.usefixtures("hostile_records")
def test_markup_in_stored_reasons_is_shown_as_text_and_never_runs(inspectable_page: Page) -> None:
    page = inspectable_page
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: dialogs.append(dialog.message))
    sign_in(page, ALPHA)
    page.goto(f"{SCREEN}?{urlencode({'search_by': 'service_request_id', 'search_term': REQUEST})}")
    table = page.locator("#devices tbody")
    for payload in PAYLOADS:
        expect(table).to_contain_text(payload)
    assert_nothing_ran(page, dialogs)
    for device, payload in zip(DEVICES, PAYLOADS, strict=True):
        page.goto(f"{SCREEN}?{urlencode({'search_by': 'device_id', 'search_term': device})}")
        expect(page.locator("article.record")).to_contain_text(payload)
        assert_nothing_ran(page, dialogs)


def test_markup_typed_as_a_search_term_is_shown_back_as_text_and_never_runs(inspectable_page: Page) -> None:
    page = inspectable_page
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: dialogs.append(dialog.message))
    sign_in(page, ALPHA)
    for payload in PAYLOADS:
        page.goto(f"{SCREEN}?{urlencode({'search_by': 'device_id', 'search_term': payload})}")
        expect(page.get_by_label("Search Term")).to_have_value(payload)
        assert_nothing_ran(page, dialogs)
