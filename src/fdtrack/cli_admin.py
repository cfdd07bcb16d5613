"""`fdtrack` commands for administrators: accounts and parties after creation, API tokens, the audit log export."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta

import click

from fdtrack.adapters.audit_export import audit_csv_chunks, audit_json_chunks
from fdtrack.adapters.db.accounts import SqlAccountStore
from fdtrack.adapters.db.audit import SqlAuditLog
from fdtrack.adapters.db.tokens import SqlTokenStore
from fdtrack.cli import Context, main, pass_context, reports_errors, terminal_safe
from fdtrack.cli_web import accounts, hasher_for, parties, read_new_password
from fdtrack.domain.accounts import Account, Party, Role, validate_username
from fdtrack.domain.timestamps import format_rfc3339
from fdtrack.domain.tokens import ApiToken, TokenScope
from fdtrack.services import accounts as account_service
from fdtrack.services.account_ports import AccountListing
from fdtrack.services.audit import AUDIT_ACTIONS, export_audit, parse_audit_query
from fdtrack.services.signin import failed_signin_counts
from fdtrack.services.tokens import create_token, list_tokens, revoke_token

ACTOR = "cli"


def _accounts(context: Context) -> SqlAccountStore:
    return SqlAccountStore(context.store.engine)


@accounts.command(name="list")
@click.option("--json", "as_json", is_flag=True)
@pass_context
@reports_errors
def accounts_list(context: Context, as_json: bool) -> None:
    """List every account: role, party, whether it is disabled, its sessions and throttled addresses."""
    found = account_service.list_accounts(_accounts(context))
    if as_json:
        click.echo(json.dumps([_listing_json(listing) for listing in found], indent=2))
        return
    for listing in found:
        account = listing.account
        party = f" of {account.party.name!r}" if account.party else ""
        state = f"disabled since {format_rfc3339(account.disabled_at)}" if account.disabled_at else "enabled"
        throttled = f", throttled from {listing.throttled_sources} addresses" if listing.throttled_sources else ""
        click.echo(
            terminal_safe(
                f"{account.username} ({account.role.value}{party}) {state}, {listing.sessions} sessions{throttled}, "
                f"created {format_rfc3339(listing.created_at)}"
            )
        )
    if not found:
        click.echo("no accounts")


def _listing_json(listing: AccountListing) -> dict[str, object]:
    account = listing.account
    return {
        "username": account.username,
        "role": account.role.value,
        "party": account.party.name if account.party else None,
        "disabled_at": format_rfc3339(account.disabled_at) if account.disabled_at else None,
        "created_at": format_rfc3339(listing.created_at),
        "sessions": listing.sessions,
        "throttled_sources": listing.throttled_sources,
    }


@accounts.command(name="disable")
@click.argument("username")
@pass_context
@reports_errors
def accounts_disable(context: Context, username: str) -> None:
    """Disable an account: it cannot sign in, its sessions end and its API tokens are refused, at once."""
    account = account_service.disable_account(_accounts(context), username, ACTOR)
    click.echo(f"disabled account {account.username!r}: its sessions have ended and its API tokens are refused")


@accounts.command(name="enable")
@click.argument("username")
@pass_context
@reports_errors
def accounts_enable(context: Context, username: str) -> None:
    """Enable a disabled account again (its tokens that were not revoked work again)."""
    account = account_service.enable_account(_accounts(context), username, ACTOR)
    click.echo(f"enabled account {account.username!r}")


@accounts.command(name="unlock")
@click.argument("username")
@pass_context
@reports_errors
def accounts_unlock(context: Context, username: str) -> None:
    """Lift the sign-in throttles on an account from every address."""
    lifted = account_service.unlock_account(_accounts(context), username, ACTOR)
    click.echo(f"lifted {lifted} sign-in throttles on account {validate_username(username)!r}")


@accounts.command(name="set-password")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
@pass_context
@reports_errors
def accounts_set_password(context: Context, username: str, password_stdin: bool) -> None:
    """Give an account a new password: its sessions end and its sign-in throttles are lifted."""
    password = read_new_password(password_stdin)
    account_service.set_password(_accounts(context), hasher_for(context), username, password, ACTOR)
    click.echo(f"set a new password for account {validate_username(username)!r}; its sessions have ended")


@accounts.command(name="set-role")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice([role.value for role in Role]), help="The new role.")
@click.option("--party", "party_name", help="The party, when the new role is `user`.")
@pass_context
@reports_errors
def accounts_set_role(context: Context, username: str, role: str, party_name: str | None) -> None:
    """Change an account's role (a `user` needs a party; DCC staff have none)."""
    account = account_service.set_role(_accounts(context), username, Role(role), ACTOR, party_name)
    click.echo(f"account {account.username!r} is now {_role_text(account)}")


@accounts.command(name="set-party")
@click.argument("username")
@click.argument("party_name", metavar="PARTY")
@pass_context
@reports_errors
def accounts_set_party(context: Context, username: str, party_name: str) -> None:
    """Move a `user` account to another party."""
    account = account_service.set_party(_accounts(context), username, party_name, ACTOR)
    click.echo(f"account {account.username!r} is now {_role_text(account)}")


def _role_text(account: Account) -> str:
    party = f" of party {account.party.name!r}" if account.party else ""
    return f"{account.role.value}{party}"


@main.command(name="signin-failures")
@click.option("--since", help="From this time on (RFC 3339, or a date YYYY-MM-DD, UTC); default the last 24 hours.")
@click.option("--json", "as_json", is_flag=True)
@pass_context
@reports_errors
def signin_failures(context: Context, since: str | None, as_json: bool) -> None:
    """Failed sign-ins counted per address and hour (names no account has, malformed, throttled)."""
    start = parse_audit_query(None, None, since, None).since or datetime.now(UTC) - timedelta(days=1)
    counts = failed_signin_counts(_accounts(context), start)
    if as_json:
        rows = [
            {
                "source": count.source,
                "hour": format_rfc3339(count.window_start),
                "kind": count.kind,
                "attempts": count.attempts,
                "last_at": format_rfc3339(count.last_at),
            }
            for count in counts
        ]
        click.echo(json.dumps(rows, indent=2))
        return
    for count in counts:
        click.echo(
            terminal_safe(
                f"{format_rfc3339(count.window_start)} {count.source}: {count.attempts} {count.kind}, "
                f"last at {format_rfc3339(count.last_at)}"
            )
        )
    if not counts:
        click.echo("no failed sign-ins counted")


@parties.command(name="list")
@click.option("--json", "as_json", is_flag=True)
@pass_context
@reports_errors
def parties_list(context: Context, as_json: bool) -> None:
    """List every party and its User IDs."""
    found = account_service.list_parties(_accounts(context))
    if as_json:
        rows = [{"name": party.name, "user_ids": sorted(party.user_ids)} for party in found]
        click.echo(json.dumps(rows, indent=2))
        return
    for party in found:
        click.echo(terminal_safe(f"{party.name}: {', '.join(sorted(party.user_ids))}"))
    if not found:
        click.echo("no parties")


@parties.command(name="add-user-id")
@click.argument("name")
@click.argument("user_ids", nargs=-1, required=True, metavar="USER_ID...")
@pass_context
@reports_errors
def parties_add_user_id(context: Context, name: str, user_ids: tuple[str, ...]) -> None:
    """Add User IDs (EUI-64) to a party; its Users see those requests' records at once."""
    party = account_service.add_party_user_ids(_accounts(context), name, user_ids, ACTOR)
    click.echo(_party_text(party))


@parties.command(name="remove-user-id")
@click.argument("name")
@click.argument("user_id")
@pass_context
@reports_errors
def parties_remove_user_id(context: Context, name: str, user_id: str) -> None:
    """Remove a User ID from a party; its Users no longer see that originator's records, at once."""
    party = account_service.remove_party_user_id(_accounts(context), name, user_id, ACTOR)
    click.echo(_party_text(party))


def _party_text(party: Party) -> str:
    return terminal_safe(f"party {party.name!r} now has User IDs {', '.join(sorted(party.user_ids))}")


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
    chunks = audit_json_chunks(entries) if output == "json" else audit_csv_chunks(entries)
    for chunk in chunks:
        sys.stdout.write(chunk)
    sys.stdout.flush()
