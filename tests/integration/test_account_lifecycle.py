"""The account lifecycle through `fdtrack accounts …` and `fdtrack parties …`: every change takes effect on the
very next request of a running server (sessions and remembered API tokens alike) and is audited with who and what."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result
from fastapi.testclient import TestClient

from e2e.seed import ALPHA, ALPHA_USER_ID, BETA_DEVICE, BETA_USER_ID, SHARED_DEVICE, Login
from fdtrack.adapters.db.accounts import SqlAccountStore
from fdtrack.adapters.db.store import SqlStore
from fdtrack.adapters.db.types import UtcDateTime
from fdtrack.cli import main
from fdtrack.services.ingest import RawEvent, ingest
from fdtrack.services.signin import forget_old_signin_records
from fdtrack.web.app import create_app
from fdtrack.web.settings import WebSettings
from integration.conftest import Tokens

SCREEN = "/ssi/firmware-distribution-tracking"
NEW_PASSWORD = "a-brand-new-passphrase"


def run(database_url: str, *args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(main, ["--database-url", database_url, *args], input=stdin)


@pytest.fixture
def server(api_store: SqlStore, api_settings: WebSettings, tokens: Tokens) -> Iterator[TestClient]:
    """A server that remembers whose a token is for an hour: changes must not wait for that."""
    settings = api_settings.model_copy(update={"token_cache_seconds": 3600.0})
    with TestClient(create_app(settings, store=api_store)) as client:
        yield client


def sign_in(client: TestClient, login: Login, password: str | None = None) -> int:
    client.cookies.clear()
    page = client.get("/login")
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found is not None
    form = {"username": login.username, "password": password or login.password, "csrf_token": found.group(1)}
    return client.post("/login", data=form, follow_redirects=False).status_code


def look_up(client: TestClient, token: str, device: str) -> int:
    return client.get("/api/v1/distributions", params={"device_id": device}, headers=Tokens.header(token)).status_code


def audit(store: SqlStore, action: str) -> list[tuple[str, str, dict[str, object]]]:
    with store.engine.connect() as connection:
        rows = connection.execute(
            sa.text("SELECT actor, subject, detail FROM audit_log WHERE action = :action ORDER BY id"),
            {"action": action},
        ).all()
    return [(row.actor, row.subject, json.loads(row.detail)) for row in rows]


def test_accounts_and_parties_are_listed(api_settings: WebSettings, tokens: Tokens) -> None:
    url = api_settings.database_url
    listed = json.loads(run(url, "accounts", "list", "--json").stdout)
    assert {(row["username"], row["role"], row["party"]) for row in listed} >= {
        ("alpha", "user", "Alpha Energy"),
        ("centre", "service_centre", None),
    }
    assert all(row["disabled_at"] is None for row in listed)
    parties = json.loads(run(url, "parties", "list", "--json").stdout)
    assert {"name": "Alpha Energy", "user_ids": [ALPHA_USER_ID]} in parties
    assert "alpha (user of 'Alpha Energy') enabled" in run(url, "accounts", "list").stdout


def test_a_disabled_account_loses_its_sessions_and_tokens_at_once_and_gets_them_back_when_enabled(
    server: TestClient, api_store: SqlStore, api_settings: WebSettings, tokens: Tokens
) -> None:
    url = api_settings.database_url
    assert sign_in(server, ALPHA) == 303
    assert server.get(SCREEN, follow_redirects=False).status_code == 200
    assert look_up(server, tokens.alpha, SHARED_DEVICE) == 200  # the server now remembers the token
    disabled = run(url, "accounts", "disable", "alpha")
    assert disabled.exit_code == 0, disabled.output
    assert server.get(SCREEN, follow_redirects=False).status_code == 303  # signed out
    assert look_up(server, tokens.alpha, SHARED_DEVICE) == 401
    assert sign_in(server, ALPHA) == 401  # the same refusal as a wrong password
    assert run(url, "accounts", "disable", "alpha").exit_code == 1  # already disabled: nothing to change
    assert run(url, "accounts", "enable", "alpha").exit_code == 0
    assert look_up(server, tokens.alpha, SHARED_DEVICE) == 200
    assert sign_in(server, ALPHA) == 303
    assert [(actor, subject) for actor, subject, _ in audit(api_store, "account_disabled")] == [("cli", "alpha")]
    assert audit(api_store, "account_disabled")[0][2] == {"sessions_ended": 1}
    assert [subject for _, subject, _ in audit(api_store, "account_enabled")] == ["alpha"]


def test_a_new_password_ends_sessions_and_must_be_long_and_uncommon(
    server: TestClient, api_store: SqlStore, api_settings: WebSettings, tokens: Tokens
) -> None:
    url = api_settings.database_url
    assert sign_in(server, ALPHA) == 303
    for bad, message in (
        ("short-pw", "at least 12 characters"),
        ("            ", "must not be empty or only spaces"),
        ("qwerty123456", "common or breached passwords"),
        ("QWERTY123456", "common or breached passwords"),
    ):
        refused = run(url, "accounts", "set-password", "alpha", "--password-stdin", stdin=bad + "\n")
        assert refused.exit_code == 2, refused.output
        assert message in refused.output
    changed = run(url, "accounts", "set-password", "alpha", "--password-stdin", stdin=NEW_PASSWORD + "\n")
    assert changed.exit_code == 0, changed.output
    assert server.get(SCREEN, follow_redirects=False).status_code == 303
    assert sign_in(server, ALPHA, NEW_PASSWORD) == 303
    assert audit(api_store, "password_set")[-1] == ("cli", "alpha", {"sessions_ended": 1})


def test_role_and_party_changes_reach_a_remembered_token_on_its_next_request(
    server: TestClient, api_store: SqlStore, api_settings: WebSettings, tokens: Tokens
) -> None:
    url = api_settings.database_url
    assert look_up(server, tokens.alpha, BETA_DEVICE) == 404  # Beta Power's device: not Alpha's to see
    moved = run(url, "accounts", "set-party", "alpha", "Beta Power")
    assert moved.exit_code == 0, moved.output
    assert "user of party 'Beta Power'" in moved.stdout
    assert look_up(server, tokens.alpha, BETA_DEVICE) == 200
    promoted = run(url, "accounts", "set-role", "alpha", "--role", "service_centre")
    assert promoted.exit_code == 0, promoted.output
    assert look_up(server, tokens.alpha, BETA_DEVICE) == 200
    assert run(url, "accounts", "set-party", "alpha", "Alpha Energy").exit_code == 2  # staff have no party
    assert run(url, "accounts", "set-role", "alpha", "--role", "user").exit_code == 2  # a user needs a party
    back = run(url, "accounts", "set-role", "alpha", "--role", "user", "--party", "Alpha Energy")
    assert back.exit_code == 0, back.output
    assert look_up(server, tokens.alpha, BETA_DEVICE) == 404
    changes = [detail for _, _, detail in audit(api_store, "account_role_changed")]
    assert changes[0] == {
        "from": {"role": "user", "party": "Alpha Energy"},
        "to": {"role": "user", "party": "Beta Power"},
    }
    assert len(changes) == 3


def test_a_partys_user_ids_can_be_added_and_removed_with_effect_at_once(
    server: TestClient, api_store: SqlStore, api_settings: WebSettings, tokens: Tokens
) -> None:
    url = api_settings.database_url
    assert look_up(server, tokens.alpha, BETA_DEVICE) == 404
    added = run(url, "parties", "add-user-id", "Alpha Energy", BETA_USER_ID.replace("-", "").lower())
    assert added.exit_code == 1  # the User ID is Beta Power's: one party each
    assert "already belongs to party 'Beta Power'" in added.output
    extra = "90-B3-D5-1F-30-07-00-00"
    assert run(url, "parties", "add-user-id", "Alpha Energy", extra).exit_code == 0
    assert run(url, "parties", "remove-user-id", "Beta Power", BETA_USER_ID).exit_code == 2  # its last one
    assert run(url, "parties", "add-user-id", "Beta Power", "90-B3-D5-1F-30-08-00-00").exit_code == 0
    removed = run(url, "parties", "remove-user-id", "Beta Power", BETA_USER_ID)
    assert removed.exit_code == 0, removed.output
    assert run(url, "parties", "add-user-id", "Alpha Energy", BETA_USER_ID).exit_code == 0
    assert look_up(server, tokens.alpha, BETA_DEVICE) == 200
    assert run(url, "parties", "remove-user-id", "Alpha Energy", BETA_USER_ID).exit_code == 0
    assert look_up(server, tokens.alpha, BETA_DEVICE) == 404
    assert run(url, "parties", "remove-user-id", "Nowhere", BETA_USER_ID).exit_code == 1
    assert audit(api_store, "party_user_ids_added")[0][2] == {"user_ids": [extra]}
    assert len(audit(api_store, "party_user_id_removed")) == 2


def test_unlock_lifts_the_throttles_on_a_name_from_every_address(
    server: TestClient, api_store: SqlStore, api_settings: WebSettings, tokens: Tokens
) -> None:
    assert sign_in(server, ALPHA, "wrong-password-9") == 401
    assert sign_in(server, ALPHA) == 429
    unlocked = run(api_settings.database_url, "accounts", "unlock", "alpha")
    assert unlocked.exit_code == 0, unlocked.output
    assert "lifted 1 sign-in throttles" in unlocked.stdout
    assert sign_in(server, ALPHA) == 303
    assert audit(api_store, "account_unlocked") == [("cli", "alpha", {"throttles_lifted": 1})]


def test_names_are_normalised_and_invisible_characters_refused_before_anything_is_written(
    api_store: SqlStore, api_settings: WebSettings, tokens: Tokens
) -> None:
    url = api_settings.database_url
    wide = run(url, "accounts", "create", "ｄｏｒａ", "--role", "admin", "--password-stdin", stdin=NEW_PASSWORD + "\n")
    assert wide.exit_code == 0, wide.output
    assert "'dora'" in wide.stdout
    for name in ("do\u200bra2", "dora\u202e2", "dora\x1b2", "\u00addora2"):
        refused = run(url, "accounts", "create", name, "--role", "admin", "--password-stdin", stdin=NEW_PASSWORD)
        assert refused.exit_code == 2
        assert "control or invisible characters" in refused.output
    assert run(url, "accounts", "disable", "ＤＯＲＡ").exit_code == 0  # the same account, however it is typed
    with api_store.engine.connect() as connection:
        subjects = connection.execute(sa.text("SELECT subject FROM audit_log")).scalars().all()
    assert all(subject.isprintable() and subject.isascii() for subject in subjects)


def test_the_lookup_table_shows_control_characters_in_stored_reasons_as_escapes(
    api_store: SqlStore, api_settings: WebSettings, tokens: Tokens
) -> None:
    device = "00-00-00-00-00-00-77-01"
    request = f"{ALPHA_USER_ID}:90-B3-D5-1F-30-00-00-02:7001"
    hostile = "stuck\x1b[2J\x1b]0;owned\x07 [red]markup[/red]\rOK"
    at = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    accepted = {"request_id": request, "device_id": device, "status": "Accepted by DSP", "occurred_at": at}
    refused = {**accepted, "status": "Not Delivered at HAN", "reason": hostile}
    events = [RawEvent(f"test:{n}", "ndjson", json.dumps(f), f) for n, f in enumerate((accepted, refused))]
    assert ingest(api_store, events).accepted == 2
    table = run(api_settings.database_url, "lookup", "--device", device)
    assert table.exit_code == 0, table.output
    assert "\x1b" not in table.stdout
    assert "\r" not in table.stdout
    assert "\\x1b[2J" in table.stdout
    assert "[red]markup[/red]" in table.stdout


def test_the_audit_log_keeps_its_own_retention_and_stays_append_only_within_it(api_store: SqlStore) -> None:
    accounts = SqlAccountStore(api_store.engine)
    now = datetime.now(UTC)
    with api_store.engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO audit_log (occurred_at, actor, action, subject, detail) "
                "VALUES (:at, 'cli', 'purge', '-', '{}')"
            ).bindparams(sa.bindparam("at", type_=UtcDateTime())),
            [{"at": now - timedelta(days=500)}, {"at": now - timedelta(days=300)}],
        )
    with api_store.engine.connect() as connection:
        before = connection.execute(sa.text("SELECT count(*) FROM audit_log")).scalar_one()
    assert forget_old_signin_records(accounts, timedelta(days=400), lambda: now) == 1
    with api_store.engine.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM audit_log")).scalar_one() == before - 1
    assert before >= 2
    with pytest.raises(sa.exc.DatabaseError, match="append-only"), api_store.engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM audit_log"))


def test_failed_sign_ins_under_unknown_names_are_listed_per_address_and_hour(
    server: TestClient, api_settings: WebSettings, tokens: Tokens
) -> None:
    for number in range(3):
        assert sign_in(server, Login(f"nobody-{number}", "x" * 12)) == 401
    listed = run(api_settings.database_url, "signin-failures", "--json")
    assert listed.exit_code == 0, listed.output
    assert [(row["source"], row["kind"], row["attempts"]) for row in json.loads(listed.stdout)] == [
        ("testclient", "unknown account", 3)
    ]
    assert "3 unknown account" in run(api_settings.database_url, "signin-failures").stdout
