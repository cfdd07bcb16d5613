"""Throttling and rate limits over HTTP: 429 with Retry-After, one message for every refusal, growing waits per
source that lift on the app's clock, a rate per address on sign-in and per token on the API, shared by every
server process (the database, or Redis)."""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa
from fastapi.testclient import TestClient
from httpx2 import Response

from conftest import sqlite_url
from e2e.seed import ALPHA, BETA, SHARED_DEVICE
from fdtrack.adapters.db.engine import WRITE, make_engine
from fdtrack.adapters.db.rate_limit_storage import SqlRateLimitStorage
from fdtrack.adapters.db.store import SqlStore
from fdtrack.adapters.rate_limits import LimitsRateLimiter, rate_limiter_for
from fdtrack.domain.accounts import SignInRefused
from fdtrack.domain.rate_limits import RateRule
from fdtrack.services.signin import THROTTLED
from fdtrack.web.app import create_app
from fdtrack.web.settings import WebSettings
from integration.access import MovableClock
from integration.conftest import Tokens

WRONG = "not-the-password-1"
REDIS_URL = os.environ.get("FDTRACK_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


def client_for(store: SqlStore, settings: WebSettings, clock: MovableClock, address: str = "203.0.113.7") -> TestClient:
    return TestClient(create_app(settings, store=store, clock=clock), client=(address, 50_000))


@pytest.fixture
def browser(
    api_store: SqlStore, api_settings: WebSettings, tokens: Tokens, clock: MovableClock
) -> Iterator[TestClient]:
    with client_for(api_store, api_settings, clock) as client:
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


def throttled(response: Response) -> int:
    assert response.status_code == 429, response.text
    assert THROTTLED in response.text
    assert "fdtrack_session" not in response.headers.get("set-cookie", "")
    return int(response.headers["retry-after"])


def audit(store: SqlStore, username: str) -> list[tuple[str, dict[str, object]]]:
    query = sa.text(
        "SELECT action, detail FROM audit_log WHERE subject = :name AND action IN ('login', 'login_failed') ORDER BY id"
    )
    with store.engine.connect() as connection:
        rows = connection.execute(query, {"name": username}).all()
    return [(row.action, json.loads(row.detail)) for row in rows]


def test_after_a_failure_the_source_waits_twice_as_long_each_time_even_with_the_right_password(
    browser: TestClient, api_store: SqlStore, clock: MovableClock
) -> None:
    waits = []
    for _ in range(4):
        refusal(attempt(browser, ALPHA.username, WRONG))
        waits.append(throttled(attempt(browser, ALPHA.username, ALPHA.password)))
        clock.advance(timedelta(seconds=waits[-1] - 1))
        throttled(attempt(browser, ALPHA.username, ALPHA.password))  # not yet
        clock.advance(timedelta(seconds=1))
    assert waits == [1, 2, 4, 8]
    assert attempt(browser, ALPHA.username, ALPHA.password).status_code == 303
    assert [action for action, _ in audit(api_store, ALPHA.username)] == [*["login_failed"] * 4, "login"]


def test_nobody_can_keep_the_owner_out_from_another_address(
    api_store: SqlStore, api_settings: WebSettings, tokens: Tokens, clock: MovableClock, browser: TestClient
) -> None:
    for _ in range(6):
        refusal(attempt(browser, ALPHA.username, WRONG))
        clock.advance(timedelta(seconds=throttled(attempt(browser, ALPHA.username, WRONG))))
    with client_for(api_store, api_settings, clock, "198.51.100.20") as owner:
        assert attempt(owner, ALPHA.username, ALPHA.password).status_code == 303


def test_every_refusal_reads_the_same_whatever_the_name(browser: TestClient, clock: MovableClock) -> None:
    pages = {
        "unknown user": refusal(attempt(browser, "nobody-here", WRONG)),
        "malformed username": refusal(attempt(browser, "no such user!", WRONG)),
        "wrong password": refusal(attempt(browser, BETA.username, WRONG)),
    }
    assert len(set(pages.values())) == 1, list(pages)
    waits = {name: throttled(attempt(browser, name, WRONG)) for name in ("nobody-here", BETA.username)}
    assert len(set(waits.values())) == 1


def test_sign_in_is_rate_limited_per_address(
    api_store: SqlStore, api_settings: WebSettings, tokens: Tokens, clock: MovableClock
) -> None:
    settings = api_settings.model_copy(update={"signin_rate_per_source": "3/hour"})
    with client_for(api_store, settings, clock) as client:
        for number in range(3):
            refusal(attempt(client, f"someone-{number}", WRONG))
        assert 1 <= throttled(attempt(client, ALPHA.username, ALPHA.password)) <= 3_600
    with client_for(api_store, settings, clock, "198.51.100.21") as elsewhere:
        assert attempt(elsewhere, ALPHA.username, ALPHA.password).status_code == 303


def test_the_api_is_rate_limited_per_token(
    api_store: SqlStore, api_settings: WebSettings, tokens: Tokens, clock: MovableClock
) -> None:
    settings = api_settings.model_copy(update={"api_rate_per_token": "3/hour"})
    look_up = {"device_id": SHARED_DEVICE}
    with client_for(api_store, settings, clock) as api:
        for _ in range(3):
            assert api.get("/api/v1/distributions", params=look_up, headers=Tokens.header(tokens.alpha)).is_success
        refused = api.get("/api/v1/distributions", params=look_up, headers=Tokens.header(tokens.alpha))
        assert refused.status_code == 429
        assert refused.json()["error"]["code"] == "rate_limited"
        assert 1 <= int(refused.headers["retry-after"]) <= 3_600
        other = api.get("/api/v1/distributions", params=look_up, headers=Tokens.header(tokens.beta))
        assert other.status_code == 200


def test_counts_in_the_database_are_shared_by_every_process(api_store: SqlStore) -> None:
    rule = RateRule("shared", 2, 60)
    one, two = (LimitsRateLimiter(SqlRateLimitStorage(api_store.engine)) for _ in range(2))
    assert one.hit(rule, "k") is None
    assert two.hit(rule, "k") is None
    assert one.exhausted(rule, "k") is not None
    assert two.hit(rule, "k") is not None
    one.clear(rule, "k")
    assert two.hit(rule, "k") is None


def test_database_counters_restart_when_their_window_ends_and_expired_ones_are_dropped(api_store: SqlStore) -> None:
    now = [1_000_000.0]
    limiter = LimitsRateLimiter(SqlRateLimitStorage(api_store.engine, lambda: now[0]), lambda: now[0])
    rule = RateRule("window", 1, 60)
    assert limiter.hit(rule, "k") is None
    assert limiter.hit(rule, "k") == 60.0
    now[0] += 60
    assert limiter.hit(rule, "k") is None
    now[0] += 60
    assert limiter.forget_expired() == 1


def redis_or_skip() -> None:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError as error:
        if IN_CI:
            pytest.fail(f"Redis is mandatory in CI and does not answer at {REDIS_URL}: {error}")
        pytest.skip(f"Redis does not answer at {REDIS_URL} ({error}); these tests run in CI")


def test_with_redis_configured_the_counts_live_in_redis_and_are_shared(api_store: SqlStore) -> None:
    redis_or_skip()
    rule = RateRule(f"redis-{uuid.uuid4().hex}", 2, 60)
    one, two = rate_limiter_for(api_store.engine, REDIS_URL), rate_limiter_for(api_store.engine, REDIS_URL)
    assert not isinstance(one.storage, SqlRateLimitStorage)
    assert one.hit(rule, "k") is None
    assert two.hit(rule, "k") is None
    wait = one.hit(rule, "k")
    assert wait is not None
    assert 1 <= wait <= 60
    with api_store.engine.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM rate_limit_counters")).scalar_one() == 0
    two.clear(rule, "k")
    assert one.hit(rule, "k") is None


def test_with_redis_configured_the_api_limit_is_kept_in_redis(
    api_store: SqlStore, api_settings: WebSettings, tokens: Tokens, clock: MovableClock
) -> None:
    redis_or_skip()
    redis.Redis.from_url(REDIS_URL).flushdb()
    settings = api_settings.model_copy(update={"api_rate_per_token": "2/hour", "redis_url": REDIS_URL})
    look_up = {"device_id": SHARED_DEVICE}
    with client_for(api_store, settings, clock) as api:
        statuses = [
            api.get("/api/v1/distributions", params=look_up, headers=Tokens.header(tokens.alpha)).status_code
            for _ in range(3)
        ]
    assert statuses == [200, 200, 429]


def test_a_redis_that_does_not_answer_gets_503_with_retry_after_not_an_error_page(
    api_store: SqlStore, api_settings: WebSettings, tokens: Tokens, clock: MovableClock
) -> None:
    settings = api_settings.model_copy(update={"redis_url": "redis://127.0.0.1:9/0"})  # nothing listens there
    with client_for(api_store, settings, clock) as client:
        response = attempt(client, ALPHA.username, ALPHA.password)
        assert response.status_code == 503
        assert response.headers["retry-after"]
        api = client.get(
            "/api/v1/distributions", params={"device_id": SHARED_DEVICE}, headers=Tokens.header(tokens.alpha)
        )
        assert api.status_code == 503
        assert api.json()["error"]["code"] == "database_unavailable"


def test_on_sqlite_a_count_that_would_wait_for_the_write_lock_is_skipped_not_waited_for(
    tmp_path: Path, sqlite_template: Path
) -> None:
    engine = make_engine(sqlite_url(tmp_path, sqlite_template))
    limiter = LimitsRateLimiter(SqlRateLimitStorage(engine))
    rule = RateRule("busy", 1, 60)
    try:
        with engine.execution_options(**WRITE).begin():  # another writer (a large ingest) holds the lock
            assert limiter.hit(rule, "k") is None
            assert limiter.hit(rule, "k") is None  # not counted: let through rather than held
        assert limiter.hit(rule, "k") is None
        assert limiter.hit(rule, "k") is not None  # counted again once the lock is free
    finally:
        engine.dispose()
