"""Coverage-guided fuzzing of the DUIS decoder: any bytes are decoded, or refused with UnusableMessage."""

from __future__ import annotations

import sys
from datetime import UTC, datetime

import atheris

with atheris.instrument_imports(include=["fdtrack"]):
    from fdtrack.adapters.duis.decoder import DuisDecoder
    from fdtrack.domain.errors import InvalidInput
    from fdtrack.domain.events import FIELDS, validate_event
    from fdtrack.services.ports import UnusableMessage

DECODER = DuisDecoder()
NOW = datetime(2026, 11, 20, tzinfo=UTC)


def test_one_input(document: bytes) -> None:
    """The decoder's promise; anything else it raises is a finding, and libFuzzer stops with it."""
    try:
        decoded = DECODER.decode(document)
    except UnusableMessage as refused:
        assert str(refused).strip(), "a refusal says why"
        assert len(str(refused)) < 1_000, "a refusal never echoes a whole value"
        return
    for fields in decoded.events:
        try:
            validate_event(fields, now=NOW)
        except InvalidInput as invalid:
            assert invalid.field in FIELDS, invalid


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
