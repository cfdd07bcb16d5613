"""API tokens: their scopes, what each scope and role may do, and the form of a token (SPEC §7, §8.1, §8.2)."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from fdtrack.domain.accounts import Account, Role
from fdtrack.domain.errors import FdtrackError, InvalidInput, NotPermitted

TOKEN_PREFIX = "fdt_"  # noqa: S105 - the public prefix that marks fdtrack tokens, not a secret
_SECRET_BYTES = 32  # 256 bits: a SHA-256 of the token is then as good as a slow hash, and much faster
_TOKEN_FORM = re.compile(r"fdt_[A-Za-z0-9_-]{43}")
MAX_TOKEN_NAME = 100


class TokenScope(StrEnum):
    """What a token may be used for; values are the names used on the command line and in the API docs."""

    READ = "read"  # the account's own rights: look-ups and CSV; for the Service Centre also Reset by DCC
    INGEST = "ingest"  # pushing tracking events (NDJSON, JSON, DUIS) and nothing else

    @classmethod
    def parse(cls, text: object) -> TokenScope:
        if isinstance(text, str):
            for scope in cls:
                if scope.value == text.strip().lower():
                    return scope
        raise InvalidInput("scope", f"{str(text)[:40]!r} is not a token scope, expected read or ingest")


class ApiAction(StrEnum):
    """What a request through the API does; each needs a scope and, for some, a role."""

    LOOK_UP = "look_up"
    INGEST = "ingest"
    RESET = "reset"


_SCOPE_OF = {ApiAction.LOOK_UP: TokenScope.READ, ApiAction.RESET: TokenScope.READ, ApiAction.INGEST: TokenScope.INGEST}


class TokenRefused(FdtrackError):
    """No usable token: missing, malformed, unknown or revoked. One message for all, revealing nothing."""

    MESSAGE = "A valid API token is required: send it as 'Authorization: Bearer <token>'."

    def __init__(self) -> None:
        super().__init__(self.MESSAGE)


def validate_scope_for_role(role: Role, scope: TokenScope) -> None:
    """Only DCC accounts may push events: a supplier's token must not write other parties' records."""
    if scope is TokenScope.INGEST and role is Role.USER:
        raise InvalidInput(
            "scope",
            "ingest tokens are for upstream DCC systems: create them for a service_centre or admin account",
        )


def check_allowed(account: Account, scope: TokenScope, action: ApiAction) -> None:
    """The token acts with its account's rights (§7), narrowed by its scope."""
    needed = _SCOPE_OF[action]
    if scope is not needed:
        raise NotPermitted(f"this API token has scope {scope.value!r}; this needs a token with scope {needed.value!r}")
    if action is ApiAction.INGEST:
        validate_scope_for_role(account.role, scope)
    if action is ApiAction.RESET and account.role is not Role.SERVICE_CENTRE:
        raise NotPermitted("only Service Centre accounts may reset a device (Reset by DCC)")


def new_token_secret() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(_SECRET_BYTES)


def token_digest(secret: str) -> bytes:
    """Only this digest is stored: a copy of the database cannot be used to call the API."""
    return hashlib.sha256(secret.encode()).digest()


def looks_like_token(text: str) -> bool:
    return _TOKEN_FORM.fullmatch(text) is not None


def token_hint(secret: str) -> str:
    """The first characters of a token, kept to tell tokens apart in listings; too few to guess the rest."""
    return secret[: len(TOKEN_PREFIX) + 6]


def validate_token_name(text: object) -> str:
    if text is None or (isinstance(text, str) and not text.strip()):
        return ""
    if not isinstance(text, str) or len(text) > MAX_TOKEN_NAME or not text.isprintable():
        raise InvalidInput("name", f"must be at most {MAX_TOKEN_NAME} printable characters")
    return " ".join(text.split())


@dataclass(frozen=True, slots=True)
class ApiToken:
    """A token as kept: whose it is, its scope, a hint of its text and whether it has been revoked."""

    token_id: int
    account: Account
    scope: TokenScope
    hint: str
    name: str
    created_at: datetime
    created_by: str
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None
