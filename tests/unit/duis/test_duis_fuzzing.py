"""Hostile DUIS input: arbitrary bytes, text and mutated real messages are decoded or refused with a reason."""

from __future__ import annotations

import base64
import copy
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from conftest import needs_shared_duis
from duis_messages import FIXTURES, SHARED_DUIS
from fdtrack.adapters.duis import gbcs
from fdtrack.adapters.duis.decoder import DuisDecoder
from fdtrack.adapters.duis.schema_check import OperatorSchema
from fdtrack.domain.errors import InvalidInput
from fdtrack.domain.events import FIELDS, validate_event
from fdtrack.domain.timestamps import parse_rfc3339
from fdtrack.services.ports import DecodedMessage, UnusableMessage

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
NOW = parse_rfc3339("2026-11-10T00:00:00Z", "now")
# Real messages to mutate: the public samples beside the project (read in place) and the project's own.
SAMPLES = sorted(
    [*SHARED_DUIS.glob("*.XML"), *SHARED_DUIS.glob("*.xml"), *FIXTURES.glob("*.xml")],
    key=lambda path: path.name,
)
GOOD_SAMPLES = [path for path in SAMPLES if path.name != "duis-xxe.xml"]
GBCS_VECTORS = sorted((SHARED_DUIS / "gbcs").glob("*.HEX"))


def outcome(document: bytes, decoder: DuisDecoder | None = None) -> DecodedMessage | str:
    """What the decoder promises: a decoded message, or UnusableMessage with a reason (returned as text)."""
    try:
        return (decoder or DuisDecoder()).decode(document)
    except UnusableMessage as refused:
        reason = str(refused)
        assert reason.strip(), "a refusal always says why"
        assert len(reason) < 1_000, "a refusal never echoes a whole value"
        return reason


def assert_usable_events(decoded: DecodedMessage) -> None:
    """Every event a message yields is one the validator accepts or refuses by field, never crashes on."""
    for fields in decoded.events:
        refused_field = None
        try:
            validate_event(fields, now=NOW)
        except InvalidInput as error:
            refused_field = error.field
        assert refused_field is None or refused_field in FIELDS


@needs_shared_duis
def test_there_are_real_samples_to_mutate() -> None:
    assert len(GOOD_SAMPLES) >= 20
    assert len(GBCS_VECTORS) >= 10


@FUZZ
@given(st.binary(max_size=2_000))
def test_arbitrary_bytes_are_decoded_or_refused_with_a_reason(document: bytes) -> None:
    outcome(document)


@FUZZ
@given(st.text(max_size=500))
def test_arbitrary_text_inside_a_duis_envelope_is_decoded_or_refused_with_a_reason(text: str) -> None:
    escaped = text.replace("&", "&amp;").replace("<", "&lt;")
    for envelope in (
        '<sr:Response xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway">{}</sr:Response>',
        '<sr:Request xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway">{}</sr:Request>',
        "{}",
    ):
        outcome(envelope.format(text).encode("utf-8", "surrogatepass"))
        outcome(envelope.format(escaped).encode("utf-8", "surrogatepass"))


# Mutations of well-formed messages: the structure stays XML, the content becomes anything.


def _elements(root: etree._Element) -> list[etree._Element]:
    return [element for element in root.iter() if isinstance(element.tag, str)]


def _mutate(root: etree._Element, data: st.DataObject) -> None:
    elements = _elements(root)
    target = data.draw(st.sampled_from(elements), label="element")
    parent = target.getparent()
    action = data.draw(
        st.sampled_from(["drop", "duplicate", "reorder", "text", "empty", "rename", "attribute"]), label="action"
    )
    if action == "drop" and parent is not None:
        parent.remove(target)
    elif action == "duplicate" and parent is not None:
        parent.insert(parent.index(target), copy.deepcopy(target))
    elif action == "reorder" and parent is not None and len(parent) > 1:
        parent.remove(target)
        parent.insert(data.draw(st.integers(0, len(parent)), label="position"), target)
    elif action == "text":
        target.text = data.draw(
            st.one_of(
                st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), max_size=80),
                st.sampled_from(
                    [
                        "00-DB-12-34-56-78-90-A0",
                        "00DB1234567890A0,00-DB-12-34-56-78-90-A1",
                        "90-B3-D5-1F-30-01-00-00:90-B3-D5-1F-30-00-00-02:" + "9" * 40,
                        "2026-13-45T25:61:61Z",
                        "2026-11-02T10:00:00+99:99",
                        "٢٠٢٦-١١-٠٢T10:00:00Z",
                        "I0",
                        "E110102",
                        "8F72",
                        "ZZZZ",
                        base64.b64encode(b"\xdf\x09\x02" + b"\x00" * 3).decode(),
                        "=cmd|' /C calc'!A0",
                        "<script>alert(1)</script>",
                        "x" * 5_000,
                    ]
                ),
            ),
            label="text",
        )
    elif action == "empty":
        target.text = None
        for child in list(target):
            target.remove(child)
    elif action == "rename":
        name = data.draw(st.from_regex(r"[A-Za-z][A-Za-z0-9]{0,20}", fullmatch=True), label="name")
        namespace = etree.QName(target).namespace
        target.tag = f"{{{namespace}}}{name}" if namespace else name
    elif action == "attribute":
        target.set("schemaVersion", data.draw(st.text(st.characters(codec="ascii", min_codepoint=32), max_size=10)))


@pytest.mark.parametrize("sample", GOOD_SAMPLES, ids=lambda path: path.name)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_mutated_real_message_is_decoded_or_refused_with_a_reason(sample: Path, data: st.DataObject) -> None:
    root = etree.fromstring(sample.read_bytes())
    for _ in range(data.draw(st.integers(1, 4), label="mutations")):
        _mutate(root, data)
    decoded = outcome(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))
    if isinstance(decoded, DecodedMessage):
        assert_usable_events(decoded)


@pytest.mark.parametrize("sample", GOOD_SAMPLES, ids=lambda path: path.name)
@settings(max_examples=25, deadline=None)
@given(st.data())
def test_a_truncated_or_spliced_real_message_is_refused_with_a_reason(sample: Path, data: st.DataObject) -> None:
    content = sample.read_bytes()
    cut = data.draw(st.integers(0, len(content) - 1), label="cut")
    assert isinstance(outcome(content[:cut]), str) or cut > len(content) - 20  # only trailing space may go
    start = data.draw(st.integers(0, len(content)), label="splice at")
    inserted = data.draw(st.binary(min_size=1, max_size=40), label="inserted")
    outcome(content[:start] + inserted + content[start:])


@pytest.mark.parametrize("sample", GOOD_SAMPLES, ids=lambda path: path.name)
def test_a_huge_value_in_any_element_is_refused_without_being_echoed_whole(sample: Path) -> None:
    names = {etree.QName(element).localname for element in _elements(etree.fromstring(sample.read_bytes()))}
    for name in sorted(names):
        root = etree.fromstring(sample.read_bytes())
        for element in _elements(root):
            if etree.QName(element).localname == name and len(element) == 0:
                element.text = "x" * 100_000
        outcome(etree.tostring(root))  # a refusal stays short (asserted there)


def test_the_unmutated_samples_decode_or_are_refused_as_unrelated() -> None:
    """The baseline of the mutations above: each real sample is understood, or refused by name."""
    for sample in GOOD_SAMPLES:
        decoded = outcome(sample.read_bytes())
        if isinstance(decoded, DecodedMessage):
            assert_usable_events(decoded)


@pytest.fixture(scope="module")
def schema_decoder() -> DuisDecoder:
    """With the operator's schema check on (loading the DUIS schema takes over a second: once)."""
    return DuisDecoder(OperatorSchema(SHARED_DUIS / "DUIS Schema V5.4.xsd"))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sample=st.sampled_from(GOOD_SAMPLES), data=st.data())
def test_the_schema_check_refuses_mutated_messages_with_a_reason(
    schema_decoder: DuisDecoder, sample: Path, data: st.DataObject
) -> None:
    root = etree.fromstring(sample.read_bytes())
    _mutate(root, data)
    decoded = outcome(etree.tostring(root, xml_declaration=True, encoding="UTF-8"), schema_decoder)
    if isinstance(decoded, DecodedMessage):
        assert_usable_events(decoded)


# GBCS payloads travel base64-encoded inside DUIS; their decoder promises GbcsError and nothing else.


def _gbcs_outcome(payload: bytes) -> None:
    reasons: list[str] = []
    try:
        signed = gbcs.parse_general_signing(payload)
    except gbcs.GbcsError as error:
        reasons.append(str(error))
    else:
        for decode in (gbcs.decode_activation_response, gbcs.decode_future_dated_alert):
            try:
                decode(signed)
            except gbcs.GbcsError as error:
                reasons.append(str(error))
    assert all(reason.strip() for reason in reasons), "a refusal always says why"


@FUZZ
@given(st.binary(max_size=300))
def test_arbitrary_gbcs_payloads_are_decoded_or_refused_with_a_reason(payload: bytes) -> None:
    _gbcs_outcome(payload)


@needs_shared_duis
@FUZZ
@given(vector=st.sampled_from(GBCS_VECTORS), data=st.data())
def test_mutated_gbcs_test_vectors_are_decoded_or_refused_with_a_reason(vector: Path, data: st.DataObject) -> None:
    payload = bytearray(bytes.fromhex("".join(vector.read_text().split())))
    for _ in range(data.draw(st.integers(1, 4), label="flips")):
        position = data.draw(st.integers(0, len(payload) - 1), label="position")
        payload[position] = data.draw(st.integers(0, 255), label="octet")
    cut = data.draw(st.integers(0, len(payload)), label="cut")
    _gbcs_outcome(bytes(payload[:cut]))
