"""Password hashing with argon2id (argon2-cffi), and the list of common passwords, behind the PasswordHasher port."""

from __future__ import annotations

import functools

from argon2 import DEFAULT_MEMORY_COST, DEFAULT_TIME_COST, PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError


class Argon2Hasher:
    """argon2id with argon2-cffi's defaults (RFC 9106 low-memory profile) unless told otherwise."""

    def __init__(self, time_cost: int | None = None, memory_cost: int | None = None) -> None:
        self._hasher = PasswordHasher(
            time_cost=DEFAULT_TIME_COST if time_cost is None else time_cost,
            memory_cost=DEFAULT_MEMORY_COST if memory_cost is None else memory_cost,
            type=Type.ID,
        )

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        return self._hasher.check_needs_rehash(password_hash)

    def is_common(self, password: str) -> bool:
        return is_common_password(password)


@functools.cache
def _common_passwords() -> frozenset[str]:
    """The 30,000 most common passwords of public breach corpora, as zxcvbn ships them (read on first use)."""
    # A large module, imported on first use only.
    from zxcvbn.frequency_lists import FREQUENCY_LISTS  # type: ignore[import-untyped]  # noqa: PLC0415

    return frozenset(str(password) for password in FREQUENCY_LISTS["passwords"])


def is_common_password(password: str) -> bool:
    """Case does not make a common password uncommon: 'Password1234' is as guessable as 'password1234'."""
    return password.lower() in _common_passwords() or password.strip().lower() in _common_passwords()
