"""What a username and a new password must be: normalised names, no invisible characters, no common passwords."""

from __future__ import annotations

import pytest

from fdtrack.adapters.passwords import is_common_password
from fdtrack.domain.accounts import validate_new_password, validate_username
from fdtrack.domain.errors import InvalidInput


@pytest.mark.parametrize(
    ("typed", "name"),
    [
        ("Alice", "alice"),
        (" ALICE ", "alice"),
        ("ａｌｉｃｅ", "alice"),
        ("ＡＬＩＣＥ", "alice"),
        ("ops.admin@dcc", "ops.admin@dcc"),
    ],
)
def test_names_are_folded_to_one_form(typed: str, name: str) -> None:
    assert validate_username(typed) == name


@pytest.mark.parametrize(
    "typed",
    ["ali\u200bce", "alice\u200d", "\u202ealice", "ali\x1bce", "alice\r", "ali\u00adce", "\ufeffalice", "ali\x00ce"],
)
def test_names_with_invisible_or_control_characters_are_refused(typed: str) -> None:
    with pytest.raises(InvalidInput, match="control or invisible characters"):
        validate_username(typed)


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("            ", "must not be empty or only spaces"),
        ("eleven-char", "at least 12 characters"),
        ("x" * 257, "at most 256 characters"),
        ("qwerty123456", "common or breached passwords"),
        ("Qwerty123456", "common or breached passwords"),
        ("1q2w3e4r5t6y", "common or breached passwords"),
    ],
)
def test_weak_new_passwords_are_refused_with_the_reason(password: str, problem: str) -> None:
    with pytest.raises(InvalidInput, match=problem):
        validate_new_password(password, is_common_password)


def test_a_long_uncommon_password_is_accepted() -> None:
    assert validate_new_password("correct horse battery staple", is_common_password)
