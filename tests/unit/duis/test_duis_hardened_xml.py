"""Hostile and broken documents are refused with a reason, quickly, and never read a local file."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest
from lxml import etree

from duis_messages import FIXTURES, SHARED_DUIS, device_alert
from fdtrack.adapters.duis import hardened_xml
from fdtrack.adapters.duis.hardened_xml import parse_document
from fdtrack.services.ports import UnusableMessage

HOSTILE = FIXTURES / "hostile"


def refusal(content: bytes) -> str:
    with pytest.raises(UnusableMessage) as refused:
        parse_document(content)
    return str(refused.value)


def test_the_published_xxe_response_is_refused_without_reading_the_file() -> None:
    reason = refusal((SHARED_DUIS / "duis-xxe.xml").read_bytes())
    assert "document type declaration" in reason
    assert "root:" not in reason


def test_an_external_entity_pointing_at_a_local_file_never_reads_it(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE")
    document = device_alert("00-DB-12-34-56-78-90-A0", "2026-11-02T10:00:00Z").replace(
        '<?xml version="1.0" encoding="UTF-8"?>\n',
        f'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE r [<!ENTITY s SYSTEM "file://{secret}">]>\n',
    )
    document = document.replace("<sr:AlertCode>8F72", "<sr:AlertCode>&s;8F72")
    assert "TOP-SECRET-VALUE" not in refusal(document.encode())


def test_a_billion_laughs_document_is_refused_before_any_entity_is_expanded() -> None:
    reason = refusal((HOSTILE / "billion-laughs.xml").read_bytes())
    assert "document type declaration" in reason


def test_a_truncated_document_is_refused_as_not_well_formed() -> None:
    assert refusal((HOSTILE / "truncated.xml").read_bytes()).startswith("not well-formed XML:")


def test_a_latin_1_document_is_refused_as_not_utf_8() -> None:
    assert refusal((HOSTILE / "latin-1.xml").read_bytes()).startswith("not valid UTF-8")


def test_a_declared_foreign_encoding_is_refused_even_when_the_bytes_are_ascii() -> None:
    content = b'<?xml version="1.0" encoding="ISO-8859-1"?><a/>'
    assert "declares the encoding 'ISO-8859-1'" in refusal(content)


def test_utf_16_is_refused() -> None:
    content = codecs.BOM_UTF16_LE + '<?xml version="1.0"?><a/>'.encode("utf-16-le")
    assert "UTF-16" in refusal(content)


def test_an_empty_document_is_refused() -> None:
    assert refusal(b"  \n") == "the document is empty"


def test_an_oversized_document_is_refused_before_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hardened_xml, "MAX_DOCUMENT_BYTES", 100)
    assert "larger than the 100 bytes" in refusal(b"<a>" + b"x" * 200 + b"</a>")


def test_deep_nesting_is_refused() -> None:
    content = b"<a>" * 40 + b"</a>" * 40
    assert "nested more than 32 levels" in refusal(content)


def test_very_many_elements_are_refused() -> None:
    content = b"<a>" + b"<b/>" * 10_001 + b"</a>"
    assert "more than 10000 elements" in refusal(content)


def test_a_well_formed_duis_message_parses_with_comments_dropped() -> None:
    document = device_alert("00-DB-12-34-56-78-90-A0", "2026-11-02T10:00:00Z").replace(
        "<sr:Body>", "<!-- c --><sr:Body>"
    )
    root = parse_document(document.encode())
    assert etree.QName(root).localname == "Response"
    assert not [node for node in root.iter() if not isinstance(node.tag, str)]


def test_the_largest_firmware_image_duis_allows_is_read() -> None:
    image = "A" * 10_240_000  # DUIS FirmwareImage: up to 10,240,000 base64 characters
    document = (
        '<sr:Request xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway">'
        f"<sr:Body><sr:UpdateFirmware><sr:FirmwareImage>{image}</sr:FirmwareImage></sr:UpdateFirmware></sr:Body>"
        "</sr:Request>"
    ).encode()
    root = parse_document(document)
    assert len(root.findtext(".//{http://www.dccinterface.co.uk/ServiceUserGateway}FirmwareImage") or "") == len(image)
