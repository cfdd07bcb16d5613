"""`fdtrack` commands for administrators: API tokens and the audit log export."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator

import click

from fdtrack.adapters.csv_export import safe_cell
from fdtrack.adapters.db.audit import SqlAuditLog
from fdtrack.adapters.db.tokens import SqlTokenStore
from fdtrack.cli import Context, main, pass_context, reports_errors
from fdtrack.domain.timestamps import format_rfc3339
from fdtrack.domain.tokens import ApiToken, TokenScope
from fdtrack.services.audit import AUDIT_ACTIONS, AuditRecord, export_audit, parse_audit_query
from fdtrack.services.tokens import create_token, list_tokens, revoke_token

ACTOR = "cli"


@main.group()
def tokens() -> None:
    """API tokens: create (shown once), list and revoke."""


@tokens.command(name="create")
@click.argument("username")
@click.option(
    "--scope",
    type=click.Choice([scope.value for scope in TokenScope]),
    default=TokenScope.READ.value,
    show_default=True,
    help="read: look-ups, CSV (and resets for the Service Centre); ingest: push events.",
)
@click.option("--name", default="", help="A label to tell the token apart, e.g. the system that uses it.")
@pass_context
@reports_errors
def tokens_create(context: Context, username: str, scope: str, name: str) -> None:
    """Create an API token acting for USERNAME; stdout is the token alone (only its hash is kept)."""
    issued = create_token(SqlTokenStore(context.store.engine), username, TokenScope(scope), ACTOR, name)
    click.echo(issued.secret)
    token = issued.token
    click.echo(
        f"created API token #{token.token_id} (scope {token.scope.value}) for {token.account.role.value} "
        f"account {token.account.username!r}; it is shown only this once",
        err=True,
    )


@tokens.command(name="list")
@click.option("--account", "username", help="Only the tokens of this account.")
@click.option("--all", "include_revoked", is_flag=True, help="Include revoked tokens.")
@click.option("--json", "as_json", is_flag=True)
@pass_context
@reports_errors
def tokens_list(context: Context, username: str | None, include_revoked: bool, as_json: bool) -> None:
    """List API tokens (never their text: only the first characters, to tell them apart)."""
    found = list_tokens(SqlTokenStore(context.store.engine), username, include_revoked=include_revoked)
    if as_json:
        click.echo(json.dumps([_token_json(token) for token in found], indent=2))
        return
    for token in found:
        state = f"revoked {format_rfc3339(token.revoked_at)}" if token.revoked_at else "active"
        label = f" {token.name!r}" if token.name else ""
        click.echo(
            f"#{token.token_id} {token.hint}… {token.account.username} ({token.account.role.value}) "
            f"scope {token.scope.value}{label}, created {format_rfc3339(token.created_at)}, {state}"
        )
    if not found:
        click.echo("no API tokens")


def _token_json(token: ApiToken) -> dict[str, object]:
    return {
        "id": token.token_id,
        "hint": token.hint,
        "name": token.name,
        "account": token.account.username,
        "role": token.account.role.value,
        "scope": token.scope.value,
        "created_at": format_rfc3339(token.created_at),
        "created_by": token.created_by,
        "revoked_at": format_rfc3339(token.revoked_at) if token.revoked_at else None,
    }


@tokens.command(name="revoke")
@click.argument("token_id", type=click.IntRange(1))
@pass_context
@reports_errors
def tokens_revoke(context: Context, token_id: int) -> None:
    """Revoke an API token (by the number `tokens list` shows); refused from the next request on."""
    token = revoke_token(SqlTokenStore(context.store.engine), token_id, ACTOR)
    click.echo(f"revoked API token #{token.token_id} of account {token.account.username!r}")


@main.command()
@click.option("--action", type=click.Choice(AUDIT_ACTIONS), help="Only entries of this action.")
@click.option("--actor", help="Only entries of this actor (a username, cli, server, …).")
@click.option("--since", help="From this time on (RFC 3339, or a date YYYY-MM-DD, UTC).")
@click.option("--until", help="Before this time (RFC 3339, or a date YYYY-MM-DD, UTC).")
@click.option("--format", "output", type=click.Choice(["csv", "json"]), default="csv", show_default=True)
@pass_context
@reports_errors
def audit(
    context: Context, action: str | None, actor: str | None, since: str | None, until: str | None, output: str
) -> None:
    """Export the audit log, oldest entry first."""
    query = parse_audit_query(action, actor, since, until)
    entries = export_audit(SqlAuditLog(context.store.engine), query)
    chunks = _json_chunks(entries) if output == "json" else _csv_chunks(entries)
    for chunk in chunks:
        sys.stdout.write(chunk)
    sys.stdout.flush()


AUDIT_CSV_HEADER = ("id", "occurred_at", "actor", "action", "subject", "detail")


def _audit_row(entry: AuditRecord) -> dict[str, object]:
    return {
        "id": entry.entry_id,
        "occurred_at": format_rfc3339(entry.occurred_at),
        "actor": entry.actor,
        "action": entry.action,
        "subject": entry.subject,
        "detail": entry.detail,
    }


def _json_chunks(entries: Iterator[AuditRecord]) -> Iterator[str]:
    """A JSON array written entry by entry, so a long log never sits in memory whole."""
    yield "["
    for number, entry in enumerate(entries):
        yield ("," if number else "") + "\n  " + json.dumps(_audit_row(entry), sort_keys=True)
    yield "\n]\n"


def _csv_chunks(entries: Iterator[AuditRecord]) -> Iterator[str]:
    class _Line:
        text = ""

        def write(self, value: str) -> None:
            self.text += value

    line = _Line()
    writer = csv.writer(line, lineterminator="\r\n")
    writer.writerow(AUDIT_CSV_HEADER)
    for entry in entries:
        row = _audit_row(entry)
        row["detail"] = json.dumps(entry.detail, sort_keys=True)
        # Actors and subjects can be text typed by anyone (a failed sign-in's username): formula-safe cells.
        writer.writerow([safe_cell(str(row[column])) for column in AUDIT_CSV_HEADER])
        yield line.text
        line.text = ""
    yield line.text
