"""Parsing untrusted DUIS XML with lxml: no DTDs, no entities, no network, bounded size, depth and breadth."""

from __future__ import annotations

import codecs
import re

from lxml import etree

from fdtrack.services.ports import UnusableMessage

# An 11.1 may carry a firmware image of up to 10,240,000 base64 characters; nothing else comes close.
MAX_DOCUMENT_BYTES = 16 * 1024 * 1024
MAX_DEPTH = 32  # DUIS nests about ten levels, the signature included
MAX_ELEMENTS = 10_000  # a DUIS message has a few dozen elements; device lists are text, not elements
_DECLARED_ENCODING = re.compile(rb"""^<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_DTD_MARKERS = (b"<!DOCTYPE", b"<!ENTITY")


def parse_document(content: bytes) -> etree._Element:
    """Parse one DUIS message or raise UnusableMessage saying why it was refused."""
    if not content.strip():
        raise UnusableMessage("the document is empty")
    if len(content) > MAX_DOCUMENT_BYTES:
        raise UnusableMessage(f"the document is larger than the {MAX_DOCUMENT_BYTES} bytes accepted")
    _require_utf8(content)
    # Refused before libxml2 sees it: no entity is ever declared, expanded or fetched (XXE, billion laughs).
    for marker in _DTD_MARKERS:
        if marker in content:
            raise UnusableMessage(
                f"the document contains a document type declaration ({marker.decode()}); "
                "DTDs and entities are refused because DUIS never uses them"
            )
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        # libxml2's default caps one text node at 10,000,000 bytes, below DUIS's largest firmware
        # image (10,240,000 base64 characters). Size is bounded above and DTDs refused before this,
        # so lifting the cap exposes nothing that the checks here do not already limit.
        huge_tree=True,
        remove_comments=True,
        remove_pis=True,
        collect_ids=False,
    )
    try:
        root = etree.fromstring(content, parser)
    except etree.XMLSyntaxError as error:
        raise UnusableMessage(f"not well-formed XML: {_syntax_problem(error)}") from None
    _check_shape(root)
    return root


def _require_utf8(content: bytes) -> None:
    if content.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise UnusableMessage("the document is encoded as UTF-16; DUIS messages are UTF-8")
    try:
        content.decode("utf-8")
    except UnicodeDecodeError as error:
        raise UnusableMessage(f"not valid UTF-8 ({error.reason} at byte {error.start})") from None
    declared = _DECLARED_ENCODING.match(content.removeprefix(codecs.BOM_UTF8))
    if declared is not None and declared.group(1).decode().lower() not in ("utf-8", "utf8"):
        raise UnusableMessage(
            f"the document declares the encoding {declared.group(1).decode()!r}; DUIS messages are UTF-8"
        )


def _check_shape(root: etree._Element) -> None:
    depth = elements = 0
    for event, _element in etree.iterwalk(root, events=("start", "end")):
        if event == "end":
            depth -= 1
            continue
        depth += 1
        elements += 1
        if depth > MAX_DEPTH:
            raise UnusableMessage(f"elements are nested more than {MAX_DEPTH} levels deep")
        if elements > MAX_ELEMENTS:
            raise UnusableMessage(f"the document has more than {MAX_ELEMENTS} elements")


def _syntax_problem(error: etree.XMLSyntaxError) -> str:
    message = str(error.msg or error).strip()
    line = error.lineno
    return f"{message} (line {line})" if line and f"line {line}" not in message else message
