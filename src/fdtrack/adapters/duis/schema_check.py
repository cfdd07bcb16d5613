"""Optional validation of DUIS messages against an XML schema file the operator provides (--schema)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import xmlschema
from lxml import etree

from fdtrack.services.ports import UnusableMessage

MAX_REASON = 200


class SchemaUnusable(Exception):
    """The operator's schema file cannot be loaded; the message says why."""


class OperatorSchema:
    """A loaded XSD; messages that do not match it are refused with the first schema error."""

    def __init__(self, path: Path) -> None:
        self.name = path.name
        try:
            # Imports are read only from the schema's own folder, never from the network.
            self.schema = xmlschema.XMLSchema(str(path), allow="sandbox")
        except (xmlschema.XMLSchemaException, OSError, etree.LxmlError, ValueError) as error:
            raise SchemaUnusable(f"{path}: cannot load the schema ({_first_line(str(error))})") from None

    def check(self, root: etree._Element) -> None:
        # Already parsed by the hardened parser: the resource may fetch nothing at all.
        document = xmlschema.XMLResource(cast(Any, root), allow="none")
        error = next(iter(self.schema.iter_errors(document)), None)
        if error is not None:
            where = f" at {error.path}" if error.path else ""
            reason = str(error.reason or "invalid")
            if len(reason) > MAX_REASON:  # an enumeration can list hundreds of values
                reason = reason[:MAX_REASON] + "…"
            raise UnusableMessage(f"does not match the schema {self.name}{where}: {reason}")


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else "unknown error"
