"""Sessions: sign-in always starts a fresh one, sign-out ends it on the server, and old cookies stay dead."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from e2e.seed import ALPHA, BETA, BETA_SHARED_REQUEST, CENTRE, SHARED_DEVICE
from fdtrack.adapters.db.schema import metadata
from fdtrack.adapters.db.store import SqlStore
from fdtrack.web.app import create_app
from fdtrack.web.settings import WebSettings
from integration.access import MovableClock, database_state, visitor
from integration.conftest import Tokens
from integration.test_web_routes import sign_in

HOME = "/ssi/firmware-distribution-tracking"
SESSION = "fdtrack_session"
PLANTED = "planted-by-an-attacker-0123456789-abcdefghijklmnop"


def plant(client: TestClient, value: str) -> None:
    """Put a session cookie into a browser as if the service had set it (same host and path)."""
    client.cookies.set(SESSION, value, domain="testserver.local", path="/")


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture
def app(api_store: SqlStore, api_settings: WebSettings, tokens: Tokens, clock: MovableClock) -> FastAPI:
    return create_app(api_settings, store=api_store, clock=clock)


def stored_session(store: SqlStore, cookie: str) -> bool:
    digest = hashlib.sha256(cookie.encode()).digest()
    sessions = metadata.tables["web_sessions"]
    with store.engine.connect() as connection:
        found = connection.execute(sa.select(sa.func.count()).where(sessions.c.session_digest == digest))
        return bool(found.scalar_one())


def who_is_signed_in(client: TestClient) -> str | None:
    page = client.get(HOME, follow_redirects=False)
    if page.status_code != 200:
        return None
    found = re.search(r"Signed in as <strong>([^<]+)</strong>", page.text)
    assert found is not None
    return found.group(1)


def test_a_session_id_planted_before_sign_in_is_not_the_one_used_after(app: FastAPI, api_store: SqlStore) -> None:
    with TestClient(app) as victim:
        plant(victim, PLANTED)
        sign_in(victim, ALPHA)
        issued = victim.cookies[SESSION]
        assert issued != PLANTED
        assert stored_session(api_store, issued)
        assert not stored_session(api_store, PLANTED)
    with TestClient(app) as attacker:
        plant(attacker, PLANTED)
        assert who_is_signed_in(attacker) is None


def test_a_live_session_planted_in_a_browser_does_not_become_the_victims(app: FastAPI) -> None:
    with visitor(app, "beta") as attacker, TestClient(app) as victim:
        victim.get("/login")  # the sign-in form is open in the victim's browser ...
        planted = attacker.client.cookies[SESSION]
        plant(victim, planted)  # ... when the attacker's own live session is slipped in
        assert who_is_signed_in(victim) == BETA.username  # the plant took: the victim now browses as Beta
        form = {"username": ALPHA.username, "password": ALPHA.password, "csrf_token": victim.cookies["fdtrack_login"]}
        assert victim.post("/login", data=form, follow_redirects=False).status_code == 303
        assert victim.cookies[SESSION] != planted
        assert who_is_signed_in(victim) == ALPHA.username
        assert who_is_signed_in(attacker.client) == BETA.username  # the planted cookie still means the attacker


def test_each_sign_in_gets_a_new_session_and_a_new_csrf_token(app: FastAPI) -> None:
    with visitor(app, "alpha") as first, visitor(app, "alpha") as second:
        assert first.client.cookies[SESSION] != second.client.cookies[SESSION]
        assert first.csrf != second.csrf


def test_sign_out_ends_the_session_on_the_server_and_the_old_cookie_cannot_be_replayed(
    app: FastAPI, api_store: SqlStore
) -> None:
    with visitor(app, "centre") as centre:
        cookie, csrf = centre.client.cookies[SESSION], centre.csrf
        assert centre.client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False).status_code == 303
        assert not stored_session(api_store, cookie)
    with TestClient(app) as replay:
        plant(replay, cookie)
        page = replay.get(HOME, follow_redirects=False)
        assert page.status_code == 303
        assert page.headers["location"].endswith("&ended=1")  # the old cookie was sent, and is dead
        before = database_state(api_store)
        reset = {"device_id": SHARED_DEVICE, "request_id": BETA_SHARED_REQUEST, "reason": "x", "csrf_token": csrf}
        for path in ("/ssmi/device-reset", "/ssmi/device-reset/check", "/logout"):
            replayed = replay.post(path, data=reset, follow_redirects=False)
            assert replayed.status_code == 303
            assert replayed.headers["location"].startswith("/login?next=")
        assert database_state(api_store) == before


def test_an_old_csrf_token_is_refused_by_the_next_session_of_the_same_account(app: FastAPI) -> None:
    with TestClient(app) as browser:
        old_csrf = sign_in(browser, CENTRE)
        browser.post("/logout", data={"csrf_token": old_csrf})
        sign_in(browser, CENTRE)
        assert browser.post("/logout", data={"csrf_token": old_csrf}, follow_redirects=False).status_code == 403
        assert who_is_signed_in(browser) == CENTRE.username


def test_a_session_ends_after_its_idle_timeout_by_the_apps_clock(
    app: FastAPI, api_store: SqlStore, clock: MovableClock
) -> None:
    with visitor(app, "alpha") as alpha:
        cookie = alpha.client.cookies[SESSION]
        for _ in range(3):
            clock.advance(timedelta(minutes=29))
            assert who_is_signed_in(alpha.client) == ALPHA.username  # each visit keeps it alive
        clock.advance(timedelta(minutes=30))
        ended = alpha.client.get(HOME, follow_redirects=False)
        assert ended.status_code == 303
        assert ended.headers["location"].endswith("&ended=1")
        assert not stored_session(api_store, cookie)
        clock.advance(timedelta(minutes=-30))  # an ended session does not come back
        assert who_is_signed_in(alpha.client) is None


def test_a_session_ends_after_its_longest_lifetime_however_busy(
    app: FastAPI, api_store: SqlStore, clock: MovableClock
) -> None:
    with visitor(app, "alpha") as alpha:
        cookie = alpha.client.cookies[SESSION]
        visits = 12 * 3  # one every 20 minutes for 12 hours
        for _ in range(visits - 1):
            clock.advance(timedelta(minutes=20))
            assert who_is_signed_in(alpha.client) == ALPHA.username
        clock.advance(timedelta(minutes=20))
        assert who_is_signed_in(alpha.client) is None
        assert not stored_session(api_store, cookie)
