"""Party and account use cases: create parties with their User IDs, create logins, set passwords."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from fdtrack.domain.accounts import (
    Party,
    Role,
    UnknownParty,
    validate_new_password,
    validate_party_for_role,
    validate_party_name,
    validate_username,
)
from fdtrack.domain.errors import InvalidInput
from fdtrack.domain.identifiers import parse_device_id
from fdtrack.domain.lockout import LoginAttempts
from fdtrack.services.account_ports import AccountStore, PasswordHasher
from fdtrack.services.ports import AuditEntry

Clock = Callable[[], datetime]


def _now() -> datetime:
    return datetime.now(UTC)


def create_party(store: AccountStore, name: str, user_ids: Sequence[str], actor: str, clock: Clock = _now) -> Party:
    """A SEC Party and the User IDs (EUI-64) it sends requests as; each User ID belongs to one party."""
    party_name = validate_party_name(name)
    if not user_ids:
        raise InvalidInput("user_id", "give at least one User ID (EUI-64) the party sends requests as")
    canonical = {parse_device_id(user_id, "user_id") for user_id in user_ids}
    now = clock()
    with store.write() as tx:
        party = tx.add_party(party_name, canonical, now)
        tx.append_audit(
            AuditEntry(actor, "party_created", party_name, {"user_ids": sorted(canonical)}),
            now,
        )
    return party


def create_account(
    store: AccountStore,
    hasher: PasswordHasher,
    username: str,
    role: Role,
    password: str,
    actor: str,
    party_name: str | None = None,
    clock: Clock = _now,
) -> int:
    """A login for a User of one party, or for DCC staff (Service Centre, administrator)."""
    name = validate_username(username)
    party_name = validate_party_name(party_name) if party_name is not None else None
    validate_party_for_role(role, party_name)
    password_hash = hasher.hash(validate_new_password(password))
    now = clock()
    with store.write() as tx:
        party = _party(tx.party_by_name, party_name)
        account_id = tx.add_account(name, role, party, password_hash, now)
        tx.append_audit(
            AuditEntry(actor, "account_created", name, {"role": role.value, "party": party_name}),
            now,
        )
    return account_id


def set_password(
    store: AccountStore, hasher: PasswordHasher, username: str, password: str, actor: str, clock: Clock = _now
) -> None:
    """Replace an account's password and lift any lock-out."""
    name = validate_username(username)
    password_hash = hasher.hash(validate_new_password(password))
    now = clock()
    with store.write() as tx:
        credentials = tx.lock_credentials(name)
        if credentials is None:
            raise InvalidInput("username", f"no account is called {name!r}")
        tx.set_password_hash(credentials.account.account_id, password_hash)
        tx.set_login_attempts(credentials.account.account_id, LoginAttempts())
        tx.append_audit(AuditEntry(actor, "password_set", name, {}), now)


def _party(find: Callable[[str], Party | None], party_name: str | None) -> Party | None:
    if party_name is None:
        return None
    party = find(party_name)
    if party is None:
        raise UnknownParty(f"no party is called {party_name!r}; create it with `fdtrack parties create`")
    return party
