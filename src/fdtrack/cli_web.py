"""`fdtrack` commands for the web service: parties, accounts, serve and demo."""

from __future__ import annotations

import socket
import sys

import click
from pydantic import ValidationError

from fdtrack import demo as demo_data
from fdtrack.adapters.db.accounts import SqlAccountStore
from fdtrack.adapters.passwords import Argon2Hasher
from fdtrack.cli import Context, main, pass_context, reports_errors
from fdtrack.cli_progress import Progress
from fdtrack.domain.accounts import Role, validate_username
from fdtrack.services.accounts import create_account, create_party
from fdtrack.web.settings import WebSettings


def _web_settings(context: Context) -> WebSettings:
    try:
        settings = WebSettings()
    except ValidationError as error:
        first = error.errors()[0]
        raise click.UsageError(f"FDTRACK_{str(first['loc'][0]).upper()}: {first['msg']}") from None
    return settings.model_copy(update={"database_url": context.settings.database_url})


def run_server(settings: WebSettings, context: Context, host: str, port: int, workers: int = 1) -> None:
    # Imported here: the web stack (FastAPI, uvicorn) would otherwise slow every other command's start.
    from fdtrack.web.server import serve  # noqa: PLC0415

    serve(settings, context.store, host, port, workers)


def check_port_free(host: str, port: int) -> None:
    """Refuse at once a port another program listens on, before anything is built or any address printed."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds: TIME_WAIT is no obstacle
        try:
            probe.bind((host, port))
        except OSError as error:
            raise click.ClickException(
                f"cannot listen on {host}:{port}: {error.strerror or error}; choose another port with --port"
            ) from None


def _hasher(settings: WebSettings) -> Argon2Hasher:
    return Argon2Hasher(settings.password_time_cost, settings.password_memory_kib)


def hasher_for(context: Context) -> Argon2Hasher:
    return _hasher(_web_settings(context))


def read_new_password(from_stdin: bool) -> str:
    """The first line of stdin, or typed twice at a prompt that does not echo it."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password: str = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    return password


@main.group()
def parties() -> None:
    """SEC Parties and the User IDs they send requests as."""


@parties.command(name="create")
@click.argument("name")
@click.option("--user-id", "user_ids", multiple=True, required=True, help="A User ID (EUI-64); repeat for more.")
@pass_context
@reports_errors
def parties_create(context: Context, name: str, user_ids: tuple[str, ...]) -> None:
    """Create a party and its User IDs."""
    party = create_party(SqlAccountStore(context.store.engine), name, user_ids, "cli")
    click.echo(f"created party {party.name!r} with User IDs {', '.join(sorted(party.user_ids))}")


@main.group()
def accounts() -> None:
    """Logins for Users, the Service Centre and administrators."""


@accounts.command(name="create")
@click.argument("username")
@click.option(
    "--role", required=True, type=click.Choice([role.value for role in Role]), help="What the account may do."
)
@click.option("--party", "party_name", help="The party a `user` account acts for.")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
@pass_context
@reports_errors
def accounts_create(context: Context, username: str, role: str, party_name: str | None, password_stdin: bool) -> None:
    """Create a login; the password is prompted for unless --password-stdin is given."""
    password = read_new_password(password_stdin)
    settings = _web_settings(context)
    create_account(
        SqlAccountStore(context.store.engine), _hasher(settings), username, Role(role), password, "cli", party_name
    )
    party = f" for party {party_name!r}" if party_name else ""
    click.echo(f"created {role} account {validate_username(username)!r}{party}")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(1, 65_535), default=8000, show_default=True)
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True, help="Server processes.")
@pass_context
@reports_errors
def serve(context: Context, host: str, port: int, workers: int) -> None:
    """Run the web service."""
    check_port_free(host, port)
    run_server(_web_settings(context), context, host, port, workers)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(1, 65_535), default=8000, show_default=True)
@click.option("--requests", type=click.IntRange(1, 100_000), default=2_000, show_default=True)
@click.option("--large-request-devices", type=click.IntRange(1, 50_000), default=50_000, show_default=True)
@click.option("--no-serve", is_flag=True, help="Build the database and print the logins, then stop.")
@pass_context
@reports_errors
def demo(context: Context, host: str, port: int, requests: int, large_request_devices: int, no_serve: bool) -> None:
    """Create a demo database with generated data and demo logins, print them and serve."""
    if not no_serve:
        check_port_free(host, port)
    settings = _web_settings(context)
    store = context.store
    demo_data.check_only_demo_data(store, SqlAccountStore(store.engine))
    logins = demo_data.ensure_logins(SqlAccountStore(store.engine), _hasher(settings))
    if demo_data.has_tracking_data(store):
        click.echo("The demo data is already in this database; using it as it is.", err=True)
    else:
        size = demo_data.DemoSize(requests=requests, large_request_devices=large_request_devices)
        click.echo(
            f"Building the demo data: about {requests:,} requests and a {large_request_devices:,}-device one…", err=True
        )
        with Progress("Ingesting", total=None, unit="records") as progress:
            summary = demo_data.build_tracking_data(store, context.ingest_options(), size, progress.update_to)
        click.echo(
            f"ingested {summary.accepted:,} events ({summary.duplicates:,} duplicates, {summary.rejected:,} rejected)",
            err=True,
        )
    _print_welcome(host, port, logins, demo_data.resent_examples(store))
    if not no_serve:
        run_server(settings, context, host, port)


def _print_welcome(
    host: str, port: int, logins: tuple[demo_data.DemoLogin, ...], resent: list[tuple[str, str]]
) -> None:
    click.echo(f"\nfdtrack demo: open http://{host}:{port}/ and sign in with one of these logins:\n")
    for login in logins:
        who = f"User of {login.party}" if login.party else Role(login.role).label + " (sees every party)"
        click.echo(f"  username {login.username:<15} password {login.password:<30} {who}")
    click.echo("\nThings to look up on Diagnostics › Service Audit Trail › Firmware Distribution Tracking:")
    party = demo_data.party_of(demo_data.LARGE_REQUEST_ID.split(":")[0])
    click.echo(f"  Service Request ID {demo_data.LARGE_REQUEST_ID}  (the large request; {party})")
    for device_id, originator in resent[:3]:
        click.echo(f"  Device ID {device_id}  (reset by the DCC, then re-sent; {demo_data.party_of(originator)})")
    click.echo("")
