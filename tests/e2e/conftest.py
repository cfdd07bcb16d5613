"""Browser fixtures: the web service under uvicorn on a free port, and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, sync_playwright

from e2e.seed import Login, cheap_settings, seed
from fdtrack.adapters.db.store import SqlStore
from fdtrack.web.app import create_app

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
CHROMIUM = os.environ.get("FDTRACK_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
AXE_PATH = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"


def chromium_problem() -> str | None:
    """None when the browser tests can run, else why not."""
    if not (Path(CHROMIUM).is_file() or shutil.which(CHROMIUM)):
        return f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
    return None


def require_chromium() -> None:
    """Skip with a visible reason outside CI; in CI a missing browser is a failure."""
    problem = chromium_problem()
    if problem is None:
        return
    if IN_CI:
        pytest.fail(f"browser tests are mandatory in CI: {problem}")
    pytest.skip(f"{problem}; the browser tests run in CI")


@dataclass(frozen=True)
class LiveServer:
    url: str
    store: SqlStore


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The real app on a seeded SQLite database, served by uvicorn in a background thread."""
    require_chromium()
    url = f"sqlite:///{tmp_path_factory.mktemp('web') / 'web.db'}"
    settings = cheap_settings(url)
    store = SqlStore.open(url)
    seed(store, settings)
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings, store=store), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the web service did not start")
        time.sleep(0.05)
    yield LiveServer(f"http://127.0.0.1:{port}", store)
    server.should_exit = True
    thread.join(timeout=10)
    store.dispose()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    require_chromium()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser, live_server: LiveServer) -> Iterator[Page]:
    """A fresh browser context (no cookies) for each test."""
    context = browser.new_context(base_url=live_server.url, accept_downloads=True)
    opened = context.new_page()
    yield opened
    context.close()


@pytest.fixture
def inspectable_page(browser: Browser, live_server: LiveServer) -> Iterator[Page]:
    """A page that lets a checker script in: the site's CSP rightly refuses injected inline script."""
    context = browser.new_context(base_url=live_server.url, bypass_csp=True)
    opened = context.new_page()
    yield opened
    context.close()


def sign_in(page: Page, login: Login) -> None:
    page.goto("/login")
    page.get_by_label("Username").fill(login.username)
    page.get_by_label("Password").fill(login.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/ssi/firmware-distribution-tracking")
