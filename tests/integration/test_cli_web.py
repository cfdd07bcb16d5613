"""The web-related commands through click's runner: parties, accounts and the demo database."""

from __future__ import annotations

import socket

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from fdtrack.adapters.db.accounts import SqlAccountStore
from fdtrack.adapters.db.store import SqlStore
from fdtrack.cli import main
from fdtrack.services import lookup

CHEAP_HASHING = {"FDTRACK_PASSWORD_TIME_COST": "1", "FDTRACK_PASSWORD_MEMORY_KIB": "64"}


def run(database_url: str, *args: str, stdin: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["--database-url", database_url, *args], input=stdin, env=CHEAP_HASHING)
    return result.exit_code, result.output


def test_parties_and_accounts_are_created_from_the_command_line(database_url: str) -> None:
    code, output = run(database_url, "parties", "create", "Alpha Energy", "--user-id", "90b3d51f30010000")
    assert code == 0
    assert "90-B3-D5-1F-30-01-00-00" in output
    code, output = run(
        database_url,
        "accounts",
        "create",
        "alice",
        "--role",
        "user",
        "--party",
        "Alpha Energy",
        "--password-stdin",
        stdin="a-long-enough-password\n",
    )
    assert code == 0, output
    store = SqlStore.open(database_url)
    with SqlAccountStore(store.engine).read() as tx:
        account = tx.account_by_username("alice")
    store.dispose()
    assert account is not None
    assert account.party is not None
    assert account.party.name == "Alpha Energy"


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("accounts", "create", "bob", "--role", "user", "--party", "Nowhere", "--password-stdin"), 1, "no party"),
        (("accounts", "create", "bob", "--role", "chief", "--password-stdin"), 2, "'chief' is not one of"),
        (("accounts", "create", "bob", "--role", "admin", "--password-stdin"), 2, "at least 12 characters"),
        (("parties", "create", "Gamma", "--user-id", "nope"), 2, "user_id: 'nope' is not a Device ID"),
    ],
)
def test_bad_input_is_named_with_a_usage_exit_code(
    database_url: str, args: tuple[str, ...], code: int, message: str
) -> None:
    password = "short" if "12 characters" in message else "a-long-enough-password"
    exit_code, output = run(database_url, *args, stdin=password + "\n")
    assert exit_code == code
    assert message in output


def test_the_demo_builds_once_and_keeps_its_data_on_a_rerun(database_url: str) -> None:
    args = ("demo", "--no-serve", "--requests", "30", "--large-request-devices", "300")
    code, output = run(database_url, *args)
    assert code == 0, output
    assert "username southern" in output
    assert "password southern-demo-password" in output
    assert "90-B3-D5-1F-30-02-00-00:90-B3-D5-1F-30-00-00-02:1000" in output
    code, again = run(database_url, *args)
    assert code == 0
    assert "already in this database" in again
    store = SqlStore.open(database_url)
    overview = lookup.request_overview(
        store, lookup.Viewer.everyone("test"), "90-B3-D5-1F-30-02-00-00:90-B3-D5-1F-30-00-00-02:1000"
    )
    store.dispose()
    assert overview.device_count == 300


def test_the_demo_reports_a_port_in_use_before_building_anything_or_printing_an_address(database_url: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        code, output = run(database_url, "demo", "--port", str(port), "--requests", "5")
    assert code == 1
    assert f"cannot listen on 127.0.0.1:{port}" in output
    assert "http://" not in output
    assert "Building the demo data" not in output


DEMO_ARGS = ("demo", "--no-serve", "--requests", "5", "--large-request-devices", "20")


def password_hash(database_url: str, username: str) -> str:
    store = SqlStore.open(database_url)
    try:
        with store.engine.connect() as connection:
            found: str = connection.execute(
                sa.text("SELECT password_hash FROM accounts WHERE username = :name"), {"name": username}
            ).scalar_one()
        return found
    finally:
        store.dispose()


def test_the_demo_never_changes_an_existing_accounts_password(database_url: str) -> None:
    assert run(database_url, *DEMO_ARGS)[0] == 0
    code, output = run(
        database_url, "accounts", "set-password", "admin", "--password-stdin", stdin="a-far-better-secret-9\n"
    )
    assert code == 0, output
    changed = password_hash(database_url, "admin")
    assert run(database_url, *DEMO_ARGS)[0] == 0
    assert password_hash(database_url, "admin") == changed


@pytest.mark.parametrize(
    "setup",
    [
        ("parties", "create", "Real Energy", "--user-id", "90-B3-D5-1F-30-09-00-00"),
        ("accounts", "create", "operator", "--role", "service_centre", "--password-stdin"),
        ("ingest", "-"),
    ],
)
def test_the_demo_refuses_a_database_that_holds_anything_but_demo_data(
    database_url: str, setup: tuple[str, ...]
) -> None:
    event = (
        '{"request_id": "90-B3-D5-1F-30-09-00-00:90-B3-D5-1F-30-00-00-02:1", "device_id": "00DB1234567890A0",'
        ' "status": "Accepted by DSP", "occurred_at": "2026-12-01T10:00:00Z"}\n'
    )
    stdin = event if setup[0] == "ingest" else "a-long-enough-password-7\n"
    code, output = run(database_url, *setup, stdin=stdin)
    assert code == 0, output
    code, output = run(database_url, *DEMO_ARGS)
    assert code == 1
    assert "holds more than the demo's data" in output
    assert "username admin" not in output
    assert "admin" not in usernames(database_url)


def usernames(database_url: str) -> set[str]:
    store = SqlStore.open(database_url)
    try:
        with store.engine.connect() as connection:
            return set(connection.execute(sa.text("SELECT username FROM accounts")).scalars())
    finally:
        store.dispose()
