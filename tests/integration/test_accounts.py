"""Parties, accounts and sign-in on both databases: uniqueness, roles, throttling, sessions and their audit."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from fdtrack.adapters.db.accounts import SqlAccountStore
from fdtrack.adapters.db.rate_limit_storage import SqlRateLimitStorage
from fdtrack.adapters.db.store import SqlStore
from fdtrack.adapters.passwords import Argon2Hasher
from fdtrack.adapters.rate_limits import LimitsRateLimiter
from fdtrack.domain.accounts import AlreadyExists, Role, SignInRefused, UnknownParty
from fdtrack.domain.errors import InvalidInput
from fdtrack.domain.rate_limits import RateLimited
from fdtrack.domain.sessions import SessionPolicy
from fdtrack.services.accounts import create_account, create_party, set_password
from fdtrack.services.signin import resume_session, sign_in, sign_out

ALPHA_ID = "90-B3-D5-1F-30-01-00-00"
PASSWORD = "a-long-enough-password"
START = datetime(2026, 11, 5, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def accounts(store: SqlStore) -> SqlAccountStore:
    return SqlAccountStore(store.engine)


@pytest.fixture
def limiter(store: SqlStore) -> LimitsRateLimiter:
    return LimitsRateLimiter(SqlRateLimitStorage(store.engine))


@pytest.fixture
def hasher() -> Argon2Hasher:
    return Argon2Hasher(time_cost=1, memory_cost=64)


@pytest.fixture
def alice(accounts: SqlAccountStore, hasher: Argon2Hasher) -> str:
    create_party(accounts, "Alpha Energy", [ALPHA_ID.lower().replace("-", ""), "90-B3-D5-1F-30-03-00-00"], "test")
    create_account(accounts, hasher, "Alice", Role.USER, PASSWORD, "test", "Alpha Energy")
    return "alice"


def audit(store: SqlStore, action: str) -> list[dict[str, object]]:
    with store.engine.connect() as connection:
        rows = connection.execute(
            sa.text("SELECT actor, subject, detail FROM audit_log WHERE action = :action ORDER BY id"),
            {"action": action},
        ).all()
    return [{"actor": row.actor, "subject": row.subject, **json.loads(row.detail)} for row in rows]


def test_a_user_signs_in_and_sees_only_its_partys_user_ids(
    store: SqlStore, accounts: SqlAccountStore, hasher: Argon2Hasher, limiter: LimitsRateLimiter, alice: str
) -> None:
    signed_in = sign_in(accounts, hasher, limiter, "ALICE ", PASSWORD, "127.0.0.1")
    assert signed_in.account.role is Role.USER
    assert signed_in.viewer.originators == frozenset({ALPHA_ID, "90-B3-D5-1F-30-03-00-00"})
    assert audit(store, "login") == [{"actor": alice, "subject": alice, "client": "127.0.0.1"}]


def test_dcc_staff_see_every_party(accounts: SqlAccountStore, hasher: Argon2Hasher, limiter: LimitsRateLimiter) -> None:
    create_account(accounts, hasher, "centre", Role.SERVICE_CENTRE, PASSWORD, "test")
    assert sign_in(accounts, hasher, limiter, "centre", PASSWORD, "t").viewer.originators is None


def test_names_and_user_ids_are_unique(accounts: SqlAccountStore, hasher: Argon2Hasher, alice: str) -> None:
    with pytest.raises(AlreadyExists, match="account 'alice' already exists"):
        create_account(accounts, hasher, alice, Role.USER, PASSWORD, "test", "Alpha Energy")
    with pytest.raises(AlreadyExists, match="party 'Alpha Energy'"):
        create_party(accounts, "Alpha Energy", ["90-B3-D5-1F-30-09-00-00"], "test")
    with pytest.raises(AlreadyExists, match=f"User ID {ALPHA_ID} already belongs to party 'Alpha Energy'"):
        create_party(accounts, "Beta Power", [ALPHA_ID], "test")
    with accounts.read() as tx:
        assert tx.party_by_name("Beta Power") is None  # nothing of the refused party was kept


@pytest.mark.parametrize(
    ("attempt", "error"),
    [
        (lambda a, h: create_account(a, h, "bob", Role.USER, PASSWORD, "t"), "party: is required"),
        (lambda a, h: create_account(a, h, "bob", Role.ADMIN, PASSWORD, "t", "Alpha Energy"), "party: is only for"),
        (lambda a, h: create_account(a, h, "bob", Role.ADMIN, "short", "t"), "password: must be at least 12"),
        (lambda a, h: create_account(a, h, "b", Role.ADMIN, PASSWORD, "t"), "username: must be 3-64"),
        (lambda a, h: create_party(a, "Gamma", [], "t"), "user_id: give at least one"),
        (lambda a, h: create_party(a, "Gamma", ["not-an-eui"], "t"), "user_id: 'not-an-eui' is not"),
    ],
)
def test_bad_account_input_names_the_field(
    accounts: SqlAccountStore,
    hasher: Argon2Hasher,
    alice: str,
    attempt: Callable[[SqlAccountStore, Argon2Hasher], object],
    error: str,
) -> None:
    with pytest.raises(InvalidInput, match=error):
        attempt(accounts, hasher)


def test_a_user_account_needs_an_existing_party(accounts: SqlAccountStore, hasher: Argon2Hasher) -> None:
    with pytest.raises(UnknownParty, match="no party is called 'Nowhere'"):
        create_account(accounts, hasher, "bob", Role.USER, PASSWORD, "t", "Nowhere")


def test_unknown_user_and_wrong_password_fail_alike_only_known_accounts_audited_one_by_one(
    store: SqlStore, accounts: SqlAccountStore, hasher: Argon2Hasher, limiter: LimitsRateLimiter, alice: str
) -> None:
    messages, clock = [], Clock()
    for username, password in (("nobody", PASSWORD), (alice, "wrong-password-x"), ("", ""), ("x" * 500, "p")):
        with pytest.raises(SignInRefused) as refused:
            sign_in(accounts, hasher, limiter, username, password, "10.0.0.1", clock)
        messages.append(str(refused.value))
        clock.now += timedelta(seconds=1)  # the wait after each failure (malformed names share one throttle)
    assert len(set(messages)) == 1
    assert [entry["why"] for entry in audit(store, "login_failed")] == ["wrong password"]
    assert failure_counts(store) == {("10.0.0.1", "malformed name"): 2, ("10.0.0.1", "unknown account"): 1}


def failure_counts(store: SqlStore) -> dict[tuple[str, str], int]:
    with store.engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT source, kind, attempts FROM signin_failures")).all()
    return {(row.source, row.kind): row.attempts for row in rows}


def test_failed_sign_ins_under_made_up_names_are_counted_per_source_and_hour_not_audited(
    store: SqlStore, accounts: SqlAccountStore, hasher: Argon2Hasher, limiter: LimitsRateLimiter
) -> None:
    clock = Clock()
    for number in range(25):
        with pytest.raises(SignInRefused):
            sign_in(accounts, hasher, limiter, f"made-up-{number}", PASSWORD, "10.0.0.9", clock)
    assert audit(store, "login_failed") == []
    assert failure_counts(store) == {("10.0.0.9", "unknown account"): 25}
    clock.now += timedelta(hours=1)
    with pytest.raises(SignInRefused):
        sign_in(accounts, hasher, limiter, "made-up-next-hour", PASSWORD, "10.0.0.9", clock)
    with store.engine.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM signin_failures")).scalar_one() == 2


def test_each_failure_doubles_the_wait_of_that_source_alone_up_to_the_cap(
    store: SqlStore, accounts: SqlAccountStore, hasher: Argon2Hasher, limiter: LimitsRateLimiter, alice: str
) -> None:
    clock = Clock()
    waits = []
    for _ in range(12):
        with pytest.raises(SignInRefused):
            sign_in(accounts, hasher, limiter, alice, "wrong-password-x", "10.0.0.66", clock)
        with pytest.raises(RateLimited) as throttled:
            sign_in(accounts, hasher, limiter, alice, PASSWORD, "10.0.0.66", clock)  # even the right password
        waits.append(throttled.value.retry_after)
        clock.now += timedelta(seconds=throttled.value.retry_after)
    assert waits == [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900]
    # Someone else's failures never stop the owner signing in from elsewhere.
    assert sign_in(accounts, hasher, limiter, alice, PASSWORD, "10.0.0.1", clock).account.username == alice
    # Refusals while throttled are counted, not audited one by one.
    assert len(audit(store, "login_failed")) == 12
    assert failure_counts(store)[("10.0.0.66", "throttled")] == 12


def test_unknown_names_are_throttled_exactly_like_known_ones(
    accounts: SqlAccountStore, hasher: Argon2Hasher, limiter: LimitsRateLimiter, alice: str
) -> None:
    clock = Clock()
    waits = {}
    for name in (alice, "nobody-here"):
        with pytest.raises(SignInRefused):
            sign_in(accounts, hasher, limiter, name, "wrong-password-x", "10.0.0.5", clock)
        with pytest.raises(RateLimited) as throttled:
            sign_in(accounts, hasher, limiter, name, "wrong-password-x", "10.0.0.5", clock)
        waits[name] = (str(throttled.value), throttled.value.retry_after)
    assert waits[alice] == waits["nobody-here"]


def test_a_name_failing_from_many_sources_holds_back_those_sources_but_not_a_new_one(
    accounts: SqlAccountStore, hasher: Argon2Hasher, limiter: LimitsRateLimiter, alice: str
) -> None:
    from fdtrack.domain.rate_limits import RateRule  # noqa: PLC0415 - only this test sets its own limits
    from fdtrack.services.signin import SignInLimits  # noqa: PLC0415

    limits = SignInLimits(RateRule("per_source", 1_000, 60), RateRule("per_name", 3, 3_600))
    clock = Clock()
    for source in ("10.1.0.1", "10.1.0.2", "10.1.0.3"):
        with pytest.raises(SignInRefused):
            sign_in(accounts, hasher, limiter, alice, "wrong-password-x", source, clock, limits)
    clock.now += timedelta(minutes=1)  # every source's own delay has passed
    with pytest.raises(RateLimited):
        sign_in(accounts, hasher, limiter, alice, "wrong-password-x", "10.1.0.1", clock, limits)
    signed_in = sign_in(accounts, hasher, limiter, alice, PASSWORD, "10.2.0.1", clock, limits)
    assert signed_in.account.username == alice


def test_setting_a_password_lifts_the_throttles_and_ends_sessions(
    accounts: SqlAccountStore, hasher: Argon2Hasher, limiter: LimitsRateLimiter, alice: str
) -> None:
    clock = Clock()
    session = sign_in(accounts, hasher, limiter, alice, PASSWORD, "t", clock)
    with pytest.raises(SignInRefused):
        sign_in(accounts, hasher, limiter, alice, "wrong-password-x", "t", clock)
    set_password(accounts, hasher, alice, "another-long-password", "admin", clock)
    assert resume_session(accounts, session.session_token, SessionPolicy(), clock) is None
    assert sign_in(accounts, hasher, limiter, alice, "another-long-password", "t", clock).account.username == alice


def test_sessions_end_when_idle_and_on_sign_out(
    store: SqlStore, accounts: SqlAccountStore, hasher: Argon2Hasher, limiter: LimitsRateLimiter, alice: str
) -> None:
    clock, policy = Clock(), SessionPolicy(idle_timeout=timedelta(minutes=30))
    signed_in = sign_in(accounts, hasher, limiter, alice, PASSWORD, "t", clock)
    clock.now += timedelta(minutes=20)
    resumed = resume_session(accounts, signed_in.session_token, policy, clock)
    assert resumed is not None
    assert resumed.csrf_token == signed_in.csrf_token
    clock.now += timedelta(minutes=29)  # 29 minutes after the last use, which was recorded
    assert resume_session(accounts, signed_in.session_token, policy, clock) is not None
    clock.now += timedelta(minutes=30)
    assert resume_session(accounts, signed_in.session_token, policy, clock) is None

    again = sign_in(accounts, hasher, limiter, alice, PASSWORD, "t", clock)
    sign_out(accounts, again, "t", clock)
    assert resume_session(accounts, again.session_token, policy, clock) is None
    assert resume_session(accounts, "forged-token", policy, clock) is None
    assert [entry["actor"] for entry in audit(store, "logout")] == [alice]
