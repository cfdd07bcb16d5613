"""The DUIS message decoder the ingestion use case calls: hardened parse, optional schema, model, mapping."""

from __future__ import annotations

from fdtrack.adapters.duis.hardened_xml import parse_document
from fdtrack.adapters.duis.reading import read_message
from fdtrack.adapters.duis.schema_check import OperatorSchema
from fdtrack.adapters.duis.translation import translate
from fdtrack.services.ports import DecodedMessage


class DuisDecoder:
    """Decodes one DUIS XML message; raises UnusableMessage with the reason it was refused."""

    def __init__(self, schema: OperatorSchema | None = None) -> None:
        self._schema = schema

    def decode(self, document: bytes) -> DecodedMessage:
        root = parse_document(document)
        if self._schema is not None:
            self._schema.check(root)
        return translate(read_message(root))
