"""`fdtrack tokens` and `fdtrack audit` through click's runner; the token works on the API at once."""

from __future__ import annotations

import csv
import io
import json

from click.testing import CliRunner, Result
from fastapi.testclient import TestClient

from e2e.seed import SHARED_DEVICE
from fdtrack.adapters.db.store import SqlStore
from fdtrack.cli import main
from fdtrack.web.app import create_app
from fdtrack.web.settings import WebSettings
from integration.conftest import Tokens


def run(database_url: str, *args: str) -> Result:
    return CliRunner().invoke(main, ["--database-url", database_url, *args])


def test_a_token_is_printed_alone_once_works_at_once_and_stops_working_when_revoked(
    api_store: SqlStore, api_settings: WebSettings, tokens: Tokens
) -> None:
    url = api_settings.database_url
    created = run(url, "tokens", "create", "beta", "--name", "billing system")
    assert created.exit_code == 0, created.output
    secret = created.stdout.strip()
    assert created.stdout == secret + "\n"
    assert secret.startswith("fdt_")
    assert "shown only this once" in created.stderr
    listed = run(url, "tokens", "list", "--account", "beta", "--json")
    mine = [token for token in json.loads(listed.stdout) if token["name"] == "billing system"]
    assert len(mine) == 1
    assert mine[0]["scope"] == "read"
    assert secret not in listed.stdout
    with TestClient(create_app(api_settings, store=api_store)) as api:
        lookup = {"device_id": SHARED_DEVICE}
        assert api.get("/api/v1/distributions", params=lookup, headers=Tokens.header(secret)).status_code == 200
        revoked = run(url, "tokens", "revoke", str(mine[0]["id"]))
        assert revoked.exit_code == 0, revoked.output
        assert api.get("/api/v1/distributions", params=lookup, headers=Tokens.header(secret)).status_code == 401
    again = run(url, "tokens", "revoke", str(mine[0]["id"]))
    assert again.exit_code == 1
    assert "already revoked" in again.output
    assert run(url, "tokens", "revoke", "9999").exit_code == 2
    assert "revoked" in run(url, "tokens", "list", "--all").stdout


def test_token_creation_refuses_unknown_accounts_and_ingest_for_a_user(
    api_settings: WebSettings, tokens: Tokens
) -> None:
    url = api_settings.database_url
    unknown = run(url, "tokens", "create", "nobody")
    assert unknown.exit_code == 2
    assert "no account is called 'nobody'" in unknown.output
    refused = run(url, "tokens", "create", "alpha", "--scope", "ingest")
    assert refused.exit_code == 2
    assert refused.stdout == ""
    assert run(url, "tokens", "create", "ops-admin", "--scope", "ingest").exit_code == 0


def test_the_audit_log_exports_as_csv_and_json_with_filters(api_settings: WebSettings, tokens: Tokens) -> None:
    url = api_settings.database_url
    run(url, "reset", SHARED_DEVICE, "--reason", "=stuck", "--operator", "centre")
    exported = run(url, "audit")
    assert exported.exit_code == 0, exported.output
    rows = list(csv.DictReader(io.StringIO(exported.stdout)))
    actions = [row["action"] for row in rows]
    assert actions.count("token_created") == 5
    assert "reset" in actions
    assert [int(row["id"]) for row in rows] == sorted(int(row["id"]) for row in rows)
    resets = json.loads(run(url, "audit", "--action", "reset", "--format", "json").stdout)
    assert len(resets) == 1
    assert resets[0]["actor"] == "centre"
    assert resets[0]["detail"]["reason"] == "=stuck"
    assert resets[0]["detail"]["replaced_status"] == "Accepted by DSP"
    csv_reset = next(row for row in rows if row["action"] == "reset")
    assert json.loads(csv_reset["detail"])["reason"] == "=stuck"  # the detail cell starts with {, so no quote
    assert json.loads(run(url, "audit", "--actor", "nobody", "--format", "json").stdout) == []
    assert json.loads(run(url, "audit", "--since", "2999-01-01", "--format", "json").stdout) == []
    assert len(json.loads(run(url, "audit", "--until", "2999-01-01", "--format", "json").stdout)) == len(rows)
    bad = run(url, "audit", "--since", "yesterday")
    assert bad.exit_code == 2
    assert "since" in bad.output
