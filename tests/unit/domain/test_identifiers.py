"""Device IDs and Service Request IDs (SPEC §2): accepted forms, canonical output, refusals."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fdtrack.domain.errors import InvalidInput
from fdtrack.domain.identifiers import MAX_COUNTER, ServiceRequestId, parse_device_id, parse_service_request_id

FAST = settings(max_examples=150, deadline=None)

CANONICAL_DEVICE = "00-DB-12-34-56-78-90-A0"
CANONICAL_REQUEST = "90-B3-D5-1F-30-01-00-00:90-B3-D5-1F-30-00-00-02:1000"
ORIGINATOR = "90-B3-D5-1F-30-01-00-00"
TARGET = "90-B3-D5-1F-30-00-00-02"


@pytest.mark.parametrize(
    "text",
    [
        "00-DB-12-34-56-78-90-A0",
        "00DB1234567890A0",
        "00db1234567890a0",
        "00-db-12-34-56-78-90-a0",
        "00dB1234567890A0",
        "  00DB1234567890A0  ",
        "\t00-DB-12-34-56-78-90-A0\n",
        "\r\n 00db1234567890a0 \r\n",
    ],
)
def test_device_id_accepts_pairs_or_plain_digits_in_any_case_with_surrounding_space(text: str) -> None:
    assert parse_device_id(text) == CANONICAL_DEVICE


@pytest.mark.parametrize(
    "text",
    [
        "00DB1234567890A",  # 15 digits
        "00DB1234567890A00",  # 17 digits
        "00-DB-12-34-56-78-90",  # 7 pairs
        "00-DB-12-34-56-78-90-A0-00",  # 9 pairs
        "00:DB:12:34:56:78:90:A0",  # wrong separator
        "00 DB 12 34 56 78 90 A0",  # spaces as separators
        "00DB 1234567890A0",  # space inside
        "00-DB1234567890A0",  # separators only in part
        "0-0DB-12-34-56-78-90-A0",  # separator in the wrong place
        "00--DB-12-34-56-78-90-A0",
        "-00-DB-12-34-56-78-90-A0",
        "00-DB-12-34-56-78-90-A0-",
        "00DB1234567890AG",  # not hex
        "0x00DB1234567890",
        "００DB1234567890A0",  # full-width digits
        "٠٠DB1234567890A0",  # Arabic-Indic digits
        "00DB1234567890A0\x00",
    ],
)
def test_device_id_refuses_every_other_form_naming_the_field_and_the_expected_form(text: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_device_id(text)
    assert raised.value.field == "device_id"
    assert str(raised.value).startswith("device_id: ")
    assert "16 hex digits" in raised.value.problem
    assert "00-DB-12-34-56-78-90-A0" in raised.value.problem


@pytest.mark.parametrize("value", ["", "   ", "\t\n"])
def test_a_blank_device_id_is_reported_as_required(value: str) -> None:
    with pytest.raises(InvalidInput, match="is required") as raised:
        parse_device_id(value)
    assert "00-DB-12-34-56-78-90-A0" in raised.value.problem


@pytest.mark.parametrize("value", [None, 42, 3.5, b"00DB1234567890A0", ["00DB1234567890A0"], {"id": 1}])
def test_a_device_id_that_is_not_text_is_invalid_input(value: object) -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_device_id(value)
    assert raised.value.field == "device_id"


def test_the_device_id_message_names_the_field_the_caller_gives() -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_device_id("not a device", field="search_term")
    assert raised.value.field == "search_term"
    assert "'not a device'" in raised.value.problem


def test_a_huge_invalid_value_is_cut_short_in_the_message() -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_device_id("Z" * 100_000)
    assert len(str(raised.value)) < 400


def test_the_example_request_id_is_already_canonical() -> None:
    parsed = parse_service_request_id(CANONICAL_REQUEST)
    assert parsed == ServiceRequestId(ORIGINATOR, TARGET, 1000)
    assert str(parsed) == CANONICAL_REQUEST


@pytest.mark.parametrize(
    "text",
    [
        "90B3D51F30010000:90B3D51F30000002:1000",
        "90b3d51f30010000:90-b3-d5-1f-30-00-00-02:1000",
        "90-B3-D5-1F-30-01-00-00:90B3D51F30000002:0001000",
        "  90-B3-D5-1F-30-01-00-00:90-B3-D5-1F-30-00-00-02:1000\n",
    ],
)
def test_request_id_accepts_each_eui64_form_and_leading_zeros_and_outputs_the_canonical_form(text: str) -> None:
    assert str(parse_service_request_id(text)) == CANONICAL_REQUEST


def test_two_spellings_of_one_request_id_are_equal() -> None:
    assert parse_service_request_id("90b3d51f30010000:90b3d51f30000002:01000") == parse_service_request_id(
        CANONICAL_REQUEST
    )


@pytest.mark.parametrize(
    ("counter", "expected"),
    [
        ("0", 0),
        ("000", 0),
        ("18446744073709551615", 18446744073709551615),
        ("00018446744073709551615", 18446744073709551615),
        ("0" * 5000 + "7", 7),
    ],
)
def test_request_id_counter_bounds_and_leading_zeros(counter: str, expected: int) -> None:
    parsed = parse_service_request_id(f"{ORIGINATOR}:{TARGET}:{counter}")
    assert parsed.counter == expected
    assert str(parsed) == f"{ORIGINATOR}:{TARGET}:{expected}"


@pytest.mark.parametrize("counter", ["18446744073709551616", "99999999999999999999", "9" * 5000])
def test_a_counter_above_the_largest_is_refused(counter: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_service_request_id(f"{ORIGINATOR}:{TARGET}:{counter}")
    assert raised.value.field == "request_id"
    assert str(MAX_COUNTER) in raised.value.problem
    assert len(str(raised.value)) < 400


@pytest.mark.parametrize(
    "text",
    [
        "90-B3-D5-1F-30-01-00-00:90-B3-D5-1F-30-00-00-02",  # no counter
        "90-B3-D5-1F-30-01-00-00:90-B3-D5-1F-30-00-00-02:",  # empty counter
        "90-B3-D5-1F-30-01-00-00:90-B3-D5-1F-30-00-00-02:1000:1",  # four parts
        "90-B3-D5-1F-30-01-00-00::1000",
        ":90-B3-D5-1F-30-00-00-02:1000",
        "90-B3-D5-1F-30-01-00:90-B3-D5-1F-30-00-00-02:1000",  # short originator
        "90-B3-D5-1F-30-01-00-00:90-B3-D5-1F-30-00-00-0G:1000",  # bad target
        "90-B3-D5-1F-30-01-00-00:90-B3-D5-1F-30-00-00-02:-1",
        "90-B3-D5-1F-30-01-00-00:90-B3-D5-1F-30-00-00-02:+1",
        "90-B3-D5-1F-30-01-00-00:90-B3-D5-1F-30-00-00-02:1.0",
        "90-B3-D5-1F-30-01-00-00:90-B3-D5-1F-30-00-00-02:1e3",
        "90-B3-D5-1F-30-01-00-00:90-B3-D5-1F-30-00-00-02:0x10",
        "90-B3-D5-1F-30-01-00-00:90-B3-D5-1F-30-00-00-02:1_000",
        "90-B3-D5-1F-30-01-00-00:90-B3-D5-1F-30-00-00-02:١٢",  # Arabic-Indic digits
        "90-B3-D5-1F-30-01-00-00/90-B3-D5-1F-30-00-00-02/1000",
        "00-DB-12-34-56-78-90-A0",  # a Device ID is not a request ID
    ],
)
def test_request_id_refuses_every_other_form_naming_the_field_and_the_expected_form(text: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_service_request_id(text)
    assert raised.value.field == "request_id"
    assert "<originator EUI-64>:<target EUI-64>:<counter>" in raised.value.problem
    assert CANONICAL_REQUEST in raised.value.problem


@pytest.mark.parametrize("value", [None, "", "  ", 1000, ["a"], b"x"])
def test_a_missing_or_non_text_request_id_is_invalid_input(value: object) -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_service_request_id(value, field="search_term")
    assert raised.value.field == "search_term"
    assert CANONICAL_REQUEST in raised.value.problem


def _spell(digits: bytes, with_pairs: bool, upper_mask: list[bool], padding: str) -> str:
    hex_text = digits.hex()
    cased = "".join(char.upper() if upper else char for char, upper in zip(hex_text, upper_mask, strict=True))
    body = "-".join(cased[i : i + 2] for i in range(0, 16, 2)) if with_pairs else cased
    return padding + body + padding


def _canonical(digits: bytes) -> str:
    return "-".join(f"{byte:02X}" for byte in digits)


eui64_bytes = st.binary(min_size=8, max_size=8)
case_masks = st.lists(st.booleans(), min_size=16, max_size=16)
paddings = st.sampled_from(["", " ", "\t", " \n", "\r\n"])


@FAST
@given(eui64_bytes, st.booleans(), case_masks, paddings)
def test_any_eight_bytes_written_either_way_round_trip_to_the_canonical_form(
    digits: bytes, with_pairs: bool, upper_mask: list[bool], padding: str
) -> None:
    assert parse_device_id(_spell(digits, with_pairs, upper_mask, padding)) == _canonical(digits)


@FAST
@given(
    eui64_bytes,
    eui64_bytes,
    st.integers(min_value=0, max_value=MAX_COUNTER),
    st.integers(min_value=0, max_value=5),
    st.booleans(),
    case_masks,
)
def test_any_request_id_round_trips_to_the_canonical_form(
    originator: bytes, target: bytes, counter: int, zeros: int, with_pairs: bool, upper_mask: list[bool]
) -> None:
    text = f"{_spell(originator, with_pairs, upper_mask, '')}:{_spell(target, not with_pairs, upper_mask, '')}"
    parsed = parse_service_request_id(f"{text}:{'0' * zeros}{counter}")
    assert str(parsed) == f"{_canonical(originator)}:{_canonical(target)}:{counter}"
    assert parse_service_request_id(str(parsed)) == parsed


near_identifiers = st.one_of(
    st.text(),
    st.from_regex(r"[0-9A-Fa-fG\- :\t]{0,60}", fullmatch=True),
    st.from_regex(r"[0-9a-f\-]{14,24}:[0-9A-F\-]{14,24}:[0-9+\-. ]{0,30}", fullmatch=True),
)


@FAST
@given(near_identifiers)
def test_arbitrary_text_never_raises_anything_but_invalid_input(text: str) -> None:
    for parse in (parse_device_id, parse_service_request_id):
        with contextlib.suppress(InvalidInput):
            parse(text)


hostile_values = st.one_of(
    st.text(max_size=300),
    st.sampled_from(["\x00", "a\x00b", "\ud800", "../../etc/passwd", "%2F..%2F", "..\\..\\", "9" * 5_000, "²" * 16]),
    st.builds(lambda tail: f"{ORIGINATOR}:{TARGET}:{tail}", st.one_of(st.text(max_size=40), st.just("9" * 30))),
    st.integers(),
    st.none(),
    st.lists(st.text(max_size=3), max_size=2),
)


@FAST
@given(hostile_values, st.sampled_from(["device_id", "search_term", "Header/RequestID"]))
def test_a_refusal_names_the_field_and_the_expected_form_briefly_whatever_the_value(value: object, field: str) -> None:
    for parse, example in ((parse_device_id, CANONICAL_DEVICE), (parse_service_request_id, CANONICAL_REQUEST)):
        refused: InvalidInput | None = None
        try:
            parsed = parse(value, field)
        except InvalidInput as error:
            refused = error
        if refused is None:
            assert parse(str(parsed), field) == parsed
            continue
        assert refused.field == field
        assert example in refused.problem or f"largest allowed, {MAX_COUNTER}" in refused.problem
        # Shown on pages, in JSON answers and kept with rejections: bounded and encodable.
        assert len(str(refused)) < 400
        str(refused).encode("utf-8")
