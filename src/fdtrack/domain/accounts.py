"""Parties, accounts and roles: who may sign in and which records each role may see (SPEC §1, §7)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from fdtrack.domain.errors import FdtrackError, InvalidInput

_USERNAME = re.compile(r"[a-z0-9][a-z0-9._@-]{2,63}")
_PARTY_NAME_MAX = 100
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256  # argon2 accepts more, but a megabyte "password" is an attack on the CPU


class Role(StrEnum):
    """What an account may do; values are the names used on the command line and in the audit log."""

    USER = "user"
    SERVICE_CENTRE = "service_centre"
    ADMIN = "admin"

    @property
    def sees_every_party(self) -> bool:
        """DCC staff (Service Centre and administrators) see the records of every party; a User only its own."""
        return self is not Role.USER

    @property
    def label(self) -> str:
        return _ROLE_LABELS[self]

    @classmethod
    def parse(cls, text: object, field: str = "role") -> Role:
        if isinstance(text, str):
            for role in cls:
                if role.value == text.strip().lower():
                    return role
        raise InvalidInput(field, f"{str(text)[:40]!r} is not a role, expected one of: user, service_centre, admin")


_ROLE_LABELS = {Role.USER: "User", Role.SERVICE_CENTRE: "Service Centre", Role.ADMIN: "Administrator"}


class AccountsError(FdtrackError):
    """A party or account operation that cannot be done as asked."""


class AlreadyExists(AccountsError):
    """A party, User ID or account of that name is already there."""


class UnknownParty(AccountsError):
    """The named party does not exist."""


class UnknownAccount(AccountsError):
    """No account has the name given (to an administrator's command, never to sign-in)."""


class SignInRefused(FdtrackError):
    """Sign-in failed; one message whatever the cause, so it reveals nothing about accounts."""

    MESSAGE = "The username or password is not correct, or the account cannot sign in."

    def __init__(self) -> None:
        super().__init__(self.MESSAGE)


@dataclass(frozen=True, slots=True)
class Party:
    """A SEC Party and the User IDs (EUI-64) it sends requests as."""

    party_id: int
    name: str
    user_ids: frozenset[str]


@dataclass(frozen=True, slots=True)
class Account:
    """A login; a `user` account belongs to exactly one party, DCC staff to none."""

    account_id: int
    username: str
    role: Role
    party: Party | None
    disabled_at: datetime | None = None

    @property
    def disabled(self) -> bool:
        return self.disabled_at is not None

    @property
    def visible_originators(self) -> frozenset[str] | None:
        """The User IDs whose records this account may see; None means every party's."""
        if self.role.sees_every_party:
            return None
        assert self.party is not None  # validate_party_for_role keeps every `user` in a party
        return self.party.user_ids


# Control (Cc), format (Cf: zero-width and direction marks), surrogate, private-use and unassigned
# characters: invisible or misleading on screen, so a name holding one could pass for another.
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})


def has_invisible_characters(text: str) -> bool:
    return any(unicodedata.category(character) in _INVISIBLE_CATEGORIES for character in text)


def validate_username(text: object) -> str:
    """Usernames are 3-64 lower-case letters, digits and . _ @ -, starting with a letter or digit.

    Checked before a name is compared or written anywhere: invisible and control characters are
    refused, and NFKC folds look-alike forms (full-width letters, ligatures) into the plain letters,
    so no name can be shown as, or stand for, another account's.
    """
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput("username", "is required")
    if has_invisible_characters(text):
        raise InvalidInput("username", "must not contain control or invisible characters")
    username = unicodedata.normalize("NFKC", text).strip().lower()
    if not _USERNAME.fullmatch(username):
        raise InvalidInput(
            "username", "must be 3-64 characters: letters, digits and . _ @ -, starting with a letter or digit"
        )
    return username


def validate_party_name(text: object) -> str:
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput("party", "is required")
    name = " ".join(text.split())
    if len(name) > _PARTY_NAME_MAX or not name.isprintable():
        raise InvalidInput("party", f"must be at most {_PARTY_NAME_MAX} printable characters")
    return name


def validate_new_password(password: str, is_common: Callable[[str], bool]) -> str:
    """A new password: long enough to resist guessing, short enough not to be a denial of service, and
    not one of the common or breached passwords that guessers try first (ASVS 2.1.7)."""
    if not password.strip():
        raise InvalidInput("password", "must not be empty or only spaces")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput("password", f"must be at least {MIN_PASSWORD_LENGTH} characters long")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidInput("password", f"must be at most {MAX_PASSWORD_LENGTH} characters long")
    if is_common(password):
        raise InvalidInput("password", "is on a list of common or breached passwords; choose another")
    return password


def validate_party_for_role(role: Role, party_name: str | None) -> None:
    """A User acts for one party; DCC staff act for none, so they must not be given one."""
    if role is Role.USER and party_name is None:
        raise InvalidInput("party", "is required for a `user` account: name the party it acts for")
    if role is not Role.USER and party_name is not None:
        raise InvalidInput("party", f"is only for `user` accounts; {role.value} accounts see every party")
