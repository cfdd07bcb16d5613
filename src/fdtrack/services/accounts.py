"""Party and account use cases: create, list and change parties and accounts, all audited."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from fdtrack.domain.accounts import (
    Account,
    Party,
    Role,
    UnknownAccount,
    UnknownParty,
    validate_new_password,
    validate_party_for_role,
    validate_party_name,
    validate_username,
)
from fdtrack.domain.errors import FdtrackError, InvalidInput
from fdtrack.domain.identifiers import parse_device_id
from fdtrack.domain.rate_limits import RateLimited
from fdtrack.services.account_ports import (
    AccountListing,
    AccountStore,
    AccountWriteTransaction,
    PasswordHasher,
)
from fdtrack.services.ports import AuditEntry

Clock = Callable[[], datetime]


def _now() -> datetime:
    return datetime.now(UTC)


class NothingToChange(FdtrackError):
    """The account or party is already as asked (disabling a disabled account, …); nothing is written."""


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


def list_parties(store: AccountStore) -> list[Party]:
    with store.read() as tx:
        return tx.parties()


def add_party_user_ids(
    store: AccountStore, name: str, user_ids: Sequence[str], actor: str, clock: Clock = _now
) -> Party:
    """More User IDs for a party; its Users see those requests' records from their next request on."""
    party_name = validate_party_name(name)
    if not user_ids:
        raise InvalidInput("user_id", "give at least one User ID (EUI-64) to add")
    canonical = {parse_device_id(user_id, "user_id") for user_id in user_ids}
    now = clock()
    with store.write() as tx:
        party = _party(tx.party_by_name, party_name)
        assert party is not None
        added = canonical - party.user_ids
        if not added:
            raise NothingToChange(f"party {party_name!r} already has every User ID given")
        tx.add_user_ids(party, added)
        tx.append_audit(AuditEntry(actor, "party_user_ids_added", party_name, {"user_ids": sorted(added)}), now)
        changed = tx.party_by_name(party_name)
    assert changed is not None
    return changed


def remove_party_user_id(store: AccountStore, name: str, user_id: str, actor: str, clock: Clock = _now) -> Party:
    """A User ID taken from a party: its Users no longer see that originator's records, at once."""
    party_name = validate_party_name(name)
    canonical = parse_device_id(user_id, "user_id")
    now = clock()
    with store.write() as tx:
        party = _party(tx.party_by_name, party_name)
        assert party is not None
        if canonical not in party.user_ids:
            raise NothingToChange(f"party {party_name!r} has no User ID {canonical}")
        if len(party.user_ids) == 1:
            raise InvalidInput("user_id", f"{canonical} is the last User ID of {party_name!r}; a party needs one")
        tx.remove_user_id(party, canonical)
        tx.append_audit(AuditEntry(actor, "party_user_id_removed", party_name, {"user_id": canonical}), now)
        changed = tx.party_by_name(party_name)
    assert changed is not None
    return changed


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
    password_hash = hasher.hash(validate_new_password(password, hasher.is_common))
    now = clock()
    with store.write() as tx:
        party = _party(tx.party_by_name, party_name)
        account_id = tx.add_account(name, role, party, password_hash, now)
        tx.append_audit(
            AuditEntry(actor, "account_created", name, {"role": role.value, "party": party_name}),
            now,
        )
    return account_id


def list_accounts(store: AccountStore) -> list[AccountListing]:
    with store.read() as tx:
        return tx.account_listings()


def set_password(
    store: AccountStore, hasher: PasswordHasher, username: str, password: str, actor: str, clock: Clock = _now
) -> None:
    """Replace an account's password: its sessions end and every throttle on its name is lifted."""
    name = validate_username(username)
    password_hash = hasher.hash(validate_new_password(password, hasher.is_common))
    now = clock()
    with store.write() as tx:
        account = _account(tx, name)
        tx.set_password_hash(account.account_id, password_hash)
        tx.clear_throttles(name)
        ended = tx.delete_sessions_of(account.account_id)
        tx.append_audit(AuditEntry(actor, "password_set", name, {"sessions_ended": ended}), now)


def change_own_password(
    store: AccountStore,
    hasher: PasswordHasher,
    account: Account,
    current_password: str,
    new_password: str,
    client: str,
    clock: Clock = _now,
) -> None:
    """A signed-in person's own change: the current password is asked again, so an unattended
    session is not enough to take the account over, and wrong guesses are throttled like sign-in's
    (per account and address). Every session of the account ends."""
    with store.read() as rtx:
        credentials = rtx.credentials(account.username)
        throttle = rtx.throttle(account.username, client)
    wait = throttle.wait(clock())
    if wait is not None:
        raise RateLimited("Too many wrong passwords. Wait a little and try again.", wait.total_seconds())
    if credentials is None or not hasher.verify(credentials.password_hash, current_password):
        with store.write() as tx:
            tx.set_throttle(account.username, client, tx.throttle(account.username, client).after_failure(clock()))
        raise InvalidInput("current_password", "is not the account's current password")
    if new_password == current_password:
        raise InvalidInput("new_password", "must differ from the current password")
    set_password(store, hasher, account.username, new_password, account.username, clock)


def disable_account(store: AccountStore, username: str, actor: str, clock: Clock = _now) -> Account:
    """The account can no longer sign in; its sessions end and its API tokens are refused, at once."""
    name = validate_username(username)
    now = clock()
    with store.write() as tx:
        account = _account(tx, name)
        if account.disabled:
            raise NothingToChange(f"account {name!r} is already disabled")
        if name == actor:
            raise InvalidInput("username", "you cannot disable your own account")
        tx.set_disabled(account.account_id, now)
        ended = tx.delete_sessions_of(account.account_id)
        tx.append_audit(AuditEntry(actor, "account_disabled", name, {"sessions_ended": ended}), now)
        return _account(tx, name)


def enable_account(store: AccountStore, username: str, actor: str, clock: Clock = _now) -> Account:
    """A disabled account may sign in again (its sign-in throttles are lifted too), and its API tokens
    that were not revoked work again."""
    name = validate_username(username)
    now = clock()
    with store.write() as tx:
        account = _account(tx, name)
        if not account.disabled:
            raise NothingToChange(f"account {name!r} is not disabled")
        tx.set_disabled(account.account_id, None)
        tx.clear_throttles(name)
        tx.append_audit(AuditEntry(actor, "account_enabled", name, {}), now)
        return _account(tx, name)


def unlock_account(store: AccountStore, username: str, actor: str, clock: Clock = _now) -> int:
    """Lift the sign-in throttles on a name from every address; returns how many there were."""
    name = validate_username(username)
    now = clock()
    with store.write() as tx:
        _account(tx, name)
        lifted = tx.clear_throttles(name)
        tx.append_audit(AuditEntry(actor, "account_unlocked", name, {"throttles_lifted": lifted}), now)
    return lifted


def set_role(
    store: AccountStore, username: str, role: Role, actor: str, party_name: str | None = None, clock: Clock = _now
) -> Account:
    """Change an account's role (and its party with it: a User needs one, DCC staff have none)."""
    name = validate_username(username)
    party_name = validate_party_name(party_name) if party_name is not None else None
    validate_party_for_role(role, party_name)
    now = clock()
    with store.write() as tx:
        account = _account(tx, name)
        party = _party(tx.party_by_name, party_name)
        if account.role is role and account.party == party:
            raise NothingToChange(f"account {name!r} already has that role and party")
        if name == actor and role is not Role.ADMIN:
            raise InvalidInput("role", "you cannot take the administrator role from your own account")
        tx.set_role_and_party(account.account_id, role, party)
        before = {"role": account.role.value, "party": account.party.name if account.party else None}
        after = {"role": role.value, "party": party_name}
        tx.append_audit(AuditEntry(actor, "account_role_changed", name, {"from": before, "to": after}), now)
        return _account(tx, name)


def set_party(store: AccountStore, username: str, party_name: str, actor: str, clock: Clock = _now) -> Account:
    """Move a User to another party: from its next request on it sees that party's records only."""
    name = validate_username(username)
    with store.read() as tx:
        account = tx.account_by_username(name)
    if account is None:
        raise UnknownAccount(f"no account is called {name!r}; see `fdtrack accounts list`")
    if account.role is not Role.USER:
        raise InvalidInput("party", f"is only for `user` accounts; {account.role.value} accounts see every party")
    return set_role(store, name, Role.USER, actor, party_name, clock)


def _account(tx: AccountWriteTransaction, name: str) -> Account:
    account = tx.account_by_username(name)
    if account is None:
        raise UnknownAccount(f"no account is called {name!r}; see `fdtrack accounts list`")
    return account


def _party(find: Callable[[str], Party | None], party_name: str | None) -> Party | None:
    if party_name is None:
        return None
    party = find(party_name)
    if party is None:
        raise UnknownParty(f"no party is called {party_name!r}; create it with `fdtrack parties create`")
    return party
