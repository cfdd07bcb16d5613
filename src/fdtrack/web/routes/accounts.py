"""Account administration screens: the list of accounts, one account's actions (POST forms), and one's own password."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from fdtrack.domain.accounts import Role, UnknownAccount, UnknownParty, validate_username
from fdtrack.domain.errors import FdtrackError, InvalidInput
from fdtrack.domain.rate_limits import RateLimited
from fdtrack.services import accounts as account_service
from fdtrack.services.signin import SignedIn
from fdtrack.web.auth import CSRF_FIELD, LOGIN_PATH, check_csrf, clear_session_cookie, require_signed_in
from fdtrack.web.dependencies import WebServices, client_address, services
from fdtrack.web.errors import status_for
from fdtrack.web.forms import FieldErrors
from fdtrack.web.rendering import render
from fdtrack.web.routes.audit_log import require_admin

router = APIRouter(include_in_schema=False)
ACCOUNTS_PATH = "/admin/accounts"
OWN_PASSWORD_PATH = "/account/password"  # noqa: S105 - an address, not a secret

# What each action's form says once it has been done (shown on the account's page).
_DONE = {
    "disabled": "The account is disabled: its sessions have ended and its API tokens are refused.",
    "enabled": "The account is enabled again.",
    "unlocked": "The sign-in throttles on the account have been lifted.",
    "password": "The password has been changed and the account's sessions have ended.",
    "role": "The role and party have been changed.",
}

AdminDep = Annotated[SignedIn, Depends(require_admin)]
WebDep = Annotated[WebServices, Depends(services)]
CsrfField = Annotated[str, Form(alias=CSRF_FIELD, max_length=200)]


@router.get(ACCOUNTS_PATH)
def accounts_page(request: Request, web: WebDep, signed_in: AdminDep) -> Response:
    listings = account_service.list_accounts(web.accounts)
    context = {"title": "Accounts", "listings": listings, "nav": "accounts"}
    return render(request, "accounts.html", context, signed_in=signed_in)


@router.get(ACCOUNTS_PATH + "/{username}")
def account_page(
    request: Request, web: WebDep, signed_in: AdminDep, username: str, done: str | None = None
) -> Response:
    return _account_page(request, web, signed_in, username, notice=_DONE.get(done or ""))


def _account_page(
    request: Request,
    web: WebServices,
    signed_in: SignedIn,
    username: str,
    *,
    notice: str | None = None,
    errors: FieldErrors | None = None,
    status: int = 200,
) -> Response:
    name = _name(username)
    listing = next(
        (found for found in account_service.list_accounts(web.accounts) if found.account.username == name), None
    )
    if listing is None:
        raise UnknownAccount(f"no account is called {name!r}")
    errors = errors or FieldErrors()
    context: dict[str, Any] = {
        "title": ("Error: " if errors else "") + f"Account {name}",
        "listing": listing,
        "account_href": f"{ACCOUNTS_PATH}/{quote(name)}",
        "roles": list(Role),
        "parties": account_service.list_parties(web.accounts),
        "notice": notice,
        "errors": errors,
        "is_self": name == signed_in.account.username,
        "nav": "accounts",
    }
    return render(request, "account.html", context, signed_in=signed_in, status_code=status)


def _name(username: str) -> str:
    try:
        return validate_username(username)
    except InvalidInput:
        raise UnknownAccount(f"no account is called {username[:64]!r}") from None


def _act(
    request: Request,
    web: WebServices,
    signed_in: SignedIn,
    username: str,
    csrf_token: str,
    done: str,
    field: str,
    action: Callable[[str], object],
) -> Response:
    """Run one action on an account; its page again, with the message next to the field, if it is refused."""
    check_csrf(signed_in, csrf_token)
    name = _name(username)
    try:
        action(name)
    except (InvalidInput, account_service.NothingToChange, UnknownParty) as refused:
        errors = FieldErrors()
        message = refused.problem if isinstance(refused, InvalidInput) else str(refused)
        errors.add(field if not isinstance(refused, InvalidInput) else refused.field, message[:1].upper() + message[1:])
        return _account_page(request, web, signed_in, name, errors=errors, status=status_for(refused))
    return RedirectResponse(f"{ACCOUNTS_PATH}/{quote(name)}?done={done}", status_code=303)


@router.post(ACCOUNTS_PATH + "/{username}/disable")
def disable(request: Request, web: WebDep, signed_in: AdminDep, username: str, csrf_token: CsrfField = "") -> Response:
    actor = signed_in.account.username
    return _act(
        request, web, signed_in, username, csrf_token, "disabled", "state",
        lambda name: account_service.disable_account(web.accounts, name, actor, web.clock),
    )  # fmt: skip


@router.post(ACCOUNTS_PATH + "/{username}/enable")
def enable(request: Request, web: WebDep, signed_in: AdminDep, username: str, csrf_token: CsrfField = "") -> Response:
    actor = signed_in.account.username
    return _act(
        request, web, signed_in, username, csrf_token, "enabled", "state",
        lambda name: account_service.enable_account(web.accounts, name, actor, web.clock),
    )  # fmt: skip


@router.post(ACCOUNTS_PATH + "/{username}/unlock")
def unlock(request: Request, web: WebDep, signed_in: AdminDep, username: str, csrf_token: CsrfField = "") -> Response:
    actor = signed_in.account.username
    return _act(
        request, web, signed_in, username, csrf_token, "unlocked", "state",
        lambda name: account_service.unlock_account(web.accounts, name, actor, web.clock),
    )  # fmt: skip


@router.post(ACCOUNTS_PATH + "/{username}/password")
def set_password(
    request: Request,
    web: WebDep,
    signed_in: AdminDep,
    username: str,
    csrf_token: CsrfField = "",
    new_password: Annotated[str, Form(max_length=1_000)] = "",
) -> Response:
    actor = signed_in.account.username
    return _act(
        request, web, signed_in, username, csrf_token, "password", "password",
        lambda name: account_service.set_password(web.accounts, web.hasher, name, new_password, actor, web.clock),
    )  # fmt: skip


@router.post(ACCOUNTS_PATH + "/{username}/role")
def set_role(
    request: Request,
    web: WebDep,
    signed_in: AdminDep,
    username: str,
    csrf_token: CsrfField = "",
    role: Annotated[str, Form(max_length=40)] = "",
    party: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    actor = signed_in.account.username

    def change(name: str) -> object:
        return account_service.set_role(web.accounts, name, Role.parse(role), actor, party or None, web.clock)

    return _act(request, web, signed_in, username, csrf_token, "role", "role", change)


@router.get(OWN_PASSWORD_PATH)
def own_password_page(
    request: Request, signed_in: Annotated[SignedIn, Depends(require_signed_in)], done: str | None = None
) -> Response:
    return _own_password_form(request, signed_in, FieldErrors())


@router.post(OWN_PASSWORD_PATH)
def change_own_password(
    request: Request,
    web: WebDep,
    signed_in: Annotated[SignedIn, Depends(require_signed_in)],
    csrf_token: CsrfField = "",
    current_password: Annotated[str, Form(max_length=1_000)] = "",
    new_password: Annotated[str, Form(max_length=1_000)] = "",
    confirm_password: Annotated[str, Form(max_length=1_000)] = "",
) -> Response:
    check_csrf(signed_in, csrf_token)
    errors = FieldErrors()
    if not current_password:
        errors.add("current_password", "Enter your current password")
    if new_password != confirm_password:
        errors.add("confirm_password", "The two new passwords are not the same")
    if not errors:
        try:
            account_service.change_own_password(
                web.accounts,
                web.hasher,
                signed_in.account,
                current_password,
                new_password,
                client_address(request),
                web.clock,
            )
        except InvalidInput as refused:
            field = "new_password" if refused.field == "password" else refused.field
            errors.add(field, refused.problem[:1].upper() + refused.problem[1:])
        except RateLimited as throttled:
            errors.add("current_password", f"{throttled} You can try again in {throttled.retry_after} seconds.")
            response = _own_password_form(request, signed_in, errors, status=429)
            response.headers["Retry-After"] = str(throttled.retry_after)
            return response
        except FdtrackError as refused:
            errors.add("current_password", str(refused))
    if errors:
        return _own_password_form(request, signed_in, errors, status=400)
    # Every session of the account has ended, this one too: sign in again with the new password.
    response = RedirectResponse(f"{LOGIN_PATH}?password_changed=1", status_code=303)
    clear_session_cookie(response, request, web)
    return response


def _own_password_form(request: Request, signed_in: SignedIn, errors: FieldErrors, status: int = 200) -> Response:
    context = {"title": ("Error: " if errors else "") + "Change your password", "errors": errors, "nav": "password"}
    return render(request, "own_password.html", context, signed_in=signed_in, status_code=status)
