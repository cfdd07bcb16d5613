"""Automated accessibility checks (axe-core, WCAG 2.2 AA rules) on the sign-in, search and results pages."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page

from e2e.conftest import AXE_PATH, IN_CI, sign_in
from e2e.seed import ALPHA, LARGE_REQUEST, SHARED_DEVICE

pytestmark = pytest.mark.browser
SCREEN = "/ssi/firmware-distribution-tracking"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


def serious_violations(page: Page) -> list[str]:
    if not AXE_PATH.is_file():
        message = f"axe-core not found at {AXE_PATH}: run `npm ci` at the repository root"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    page.add_script_tag(path=str(AXE_PATH))
    result: dict[str, Any] = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG_TAGS
    )
    return [
        f"{violation['id']} ({violation['impact']}): {violation['help']} at "
        + ", ".join(str(node["target"]) for node in violation["nodes"][:3])
        for violation in result["violations"]
        if violation["impact"] in ("serious", "critical")
    ]


@pytest.mark.parametrize(
    "address",
    [
        pytest.param(None, id="sign-in"),
        pytest.param(SCREEN, id="search"),
        pytest.param(f"{SCREEN}?search_by=service_request_id&search_term=", id="search-with-errors"),
        pytest.param(f"{SCREEN}?search_by=service_request_id&search_term={LARGE_REQUEST}", id="results-by-request"),
        pytest.param(f"{SCREEN}?search_by=device_id&search_term={SHARED_DEVICE}", id="results-by-device"),
    ],
)
def test_no_serious_or_critical_accessibility_violations(inspectable_page: Page, address: str | None) -> None:
    page = inspectable_page
    if address is None:
        page.goto("/login")
    else:
        sign_in(page, ALPHA)
        page.goto(address)
    assert serious_violations(page) == []
