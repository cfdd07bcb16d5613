"""Lock-out: failures lock an account even against the right password, one message for every refusal, audited,
and the lock lifts when its window has passed on the app's clock."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from httpx2 import Response

from e2e.seed import ALPHA, BETA
from fdtrack.adapters.db.store import SqlStore
from fdtrack.domain.accounts import SignInRefused
from fdtrack.domain.lockout import LOCK_DURATION, MAX_FAILED_ATTEMPTS
from fdtrack.web.app import create_app
from fdtrack.web.settings import WebSettings
from integration.access import MovableClock
from integration.conftest import Tokens

WRONG = "not-the-password-1"


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture
def browser(
    api_store: SqlStore, api_settings: WebSettings, tokens: Tokens, clock: MovableClock
) -> Iterator[TestClient]:
    with TestClient(create_app(api_settings, store=api_store, clock=clock)) as client:
        yield client


def attempt(browser: TestClient, username: str, password: str) -> Response:
    browser.cookies.clear()
    browser.get("/login")
    form = {"username": username, "password": password, "csrf_token": browser.cookies["fdtrack_login"]}
    return browser.post("/login", data=form, follow_redirects=False)


def refusal(response: Response) -> str:
    """The page without what the visitor typed or the form's fresh token: what the refusal says."""
    assert response.status_code == 401, response.text
    assert SignInRefused.MESSAGE in response.text
    assert "fdtrack_session" not in response.headers.get("set-cookie", "")
    return re.sub(r'value="[^"]*"', 'value=""', response.text)


def audit(store: SqlStore, username: str) -> list[tuple[str, dict[str, object]]]:
    """The account's sign-in entries in the audit log, oldest first."""
    query = sa.text(
        "SELECT action, detail FROM audit_log WHERE subject = :name AND action IN "
        "('login', 'login_failed', 'account_locked', 'logout') ORDER BY id"
    )
    with store.engine.connect() as connection:
        rows = connection.execute(query, {"name": username}).all()
    return [(row.action, json.loads(row.detail)) for row in rows]


def lock(browser: TestClient, username: str) -> list[str]:
    return [refusal(attempt(browser, username, WRONG)) for _ in range(MAX_FAILED_ATTEMPTS)]


def test_the_account_locks_after_the_set_number_of_failures_even_against_the_right_password(
    browser: TestClient, api_store: SqlStore
) -> None:
    for _ in range(MAX_FAILED_ATTEMPTS - 1):
        refusal(attempt(browser, ALPHA.username, WRONG))
    assert audit(api_store, ALPHA.username)[-1][0] == "login_failed"
    assert "account_locked" not in [action for action, _ in audit(api_store, ALPHA.username)]
    refusal(attempt(browser, ALPHA.username, WRONG))  # the last failure allowed: now locked
    refusal(attempt(browser, ALPHA.username, ALPHA.password))
    entries = audit(api_store, ALPHA.username)
    assert [action for action, _ in entries] == [
        *["login_failed"] * MAX_FAILED_ATTEMPTS,
        "account_locked",
        "login_failed",
    ]
    assert [detail["why"] for action, detail in entries if action == "login_failed"] == [
        *["wrong password"] * MAX_FAILED_ATTEMPTS,
        "locked",
    ]
    assert attempt(browser, BETA.username, BETA.password).status_code == 303  # other accounts are not affected


def test_every_refusal_reads_the_same_unknown_user_wrong_password_locked(browser: TestClient) -> None:
    pages = {
        "unknown user": refusal(attempt(browser, "nobody-here", WRONG)),
        "malformed username": refusal(attempt(browser, "no such user!", WRONG)),
        "wrong password": refusal(attempt(browser, BETA.username, WRONG)),
    }
    lock(browser, ALPHA.username)
    pages["locked, right password"] = refusal(attempt(browser, ALPHA.username, ALPHA.password))
    pages["locked, wrong password"] = refusal(attempt(browser, ALPHA.username, WRONG))
    assert len(set(pages.values())) == 1, list(pages)


def test_the_lock_lifts_when_its_window_has_passed_and_not_before(
    browser: TestClient, api_store: SqlStore, clock: MovableClock
) -> None:
    lock(browser, ALPHA.username)
    clock.advance(LOCK_DURATION - timedelta(seconds=1))
    refusal(attempt(browser, ALPHA.username, WRONG))  # tried during the lock: refused, and not counted
    refusal(attempt(browser, ALPHA.username, ALPHA.password))
    clock.advance(timedelta(seconds=1))
    assert attempt(browser, ALPHA.username, ALPHA.password).status_code == 303
    assert audit(api_store, ALPHA.username)[-1][0] == "login"


def test_after_the_lock_lifts_it_takes_the_full_number_of_failures_to_lock_again(
    browser: TestClient, clock: MovableClock
) -> None:
    lock(browser, ALPHA.username)
    clock.advance(LOCK_DURATION)
    for _ in range(MAX_FAILED_ATTEMPTS - 1):
        refusal(attempt(browser, ALPHA.username, WRONG))
    assert attempt(browser, ALPHA.username, ALPHA.password).status_code == 303


def test_a_successful_sign_in_clears_the_count_of_failures(browser: TestClient) -> None:
    for _ in range(MAX_FAILED_ATTEMPTS - 1):
        refusal(attempt(browser, ALPHA.username, WRONG))
    assert attempt(browser, ALPHA.username, ALPHA.password).status_code == 303
    for _ in range(MAX_FAILED_ATTEMPTS - 1):
        refusal(attempt(browser, ALPHA.username, WRONG))
    assert attempt(browser, ALPHA.username, ALPHA.password).status_code == 303
