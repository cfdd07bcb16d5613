"""Free text that no database can hold: NUL characters (PostgreSQL text) and lone surrogates (UTF-8)."""

from __future__ import annotations

import re

from fdtrack.domain.errors import InvalidInput

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
REPLACEMENT = "\ufffd"


def require_storable(value: str, field: str) -> str:
    """The value itself, or InvalidInput naming the field: data must read back exactly as it was given."""
    found = _UNSTORABLE.search(value)
    if found is None:
        return value
    if found.group() == "\x00":
        raise InvalidInput(field, "contains a NUL character, which is not allowed in text")
    # JSON can carry a lone surrogate ("\ud800"); it is not text and could be neither hashed nor stored.
    raise InvalidInput(field, "is not valid Unicode text")


def storable(value: str) -> str:
    """Text kept as evidence (a rejected input, a refused sign-in name): each such character becomes U+FFFD."""
    return _UNSTORABLE.sub(REPLACEMENT, value)
