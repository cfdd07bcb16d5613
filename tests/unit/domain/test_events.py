"""Tracking event validation (SPEC §5): each field's rule and the derived event_id."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fdtrack.domain.device_types import ALL_TRACKED, DeviceType
from fdtrack.domain.errors import InvalidInput
from fdtrack.domain.events import FIELDS, TrackingEvent, content_digest, validate_event
from fdtrack.domain.identifiers import ServiceRequestId
from fdtrack.domain.statuses import ProcessingStatus

NOW = datetime(2026, 11, 20, 12, 0, 0, tzinfo=UTC)
REQUEST = "90-B3-D5-1F-30-01-00-00:90-B3-D5-1F-30-00-00-02:1000"
DEVICE = "00-DB-12-34-56-78-90-A0"
FIRST_RELEASE = frozenset({DeviceType.ESME, DeviceType.GSME})


def raw_event(**changes: object) -> dict[str, object]:
    """A valid raw event as read from a file; a change of None removes the field."""
    fields: dict[str, object] = {
        "request_id": REQUEST,
        "device_id": DEVICE,
        "status": "Accepted by DSP",
        "occurred_at": "2026-11-20T10:00:00Z",
    }
    fields.update(changes)
    return {name: value for name, value in fields.items() if value is not None}


def validate(**changes: object) -> TrackingEvent:
    return validate_event(raw_event(**changes), now=NOW)


def refusal(field: str, **changes: object) -> InvalidInput:
    with pytest.raises(InvalidInput) as raised:
        validate(**changes)
    assert raised.value.field == field
    return raised.value


def test_a_valid_event_is_read_into_canonical_values() -> None:
    event = validate(
        request_id="90b3d51f30010000:90b3d51f30000002:01000",
        device_id=" 00db1234567890a0 ",
        status="  successful ch transfer ",
        occurred_at="2026-11-20T11:00:00+01:00",
        reason="delivered",
        firmware_version="1.2.3",
        device_type="ESME",
        event_id="upstream-1",
    )
    assert event == TrackingEvent(
        event_id="upstream-1",
        request_id=ServiceRequestId("90-B3-D5-1F-30-01-00-00", "90-B3-D5-1F-30-00-00-02", 1000),
        device_id=DEVICE,
        status=ProcessingStatus.SUCCESSFUL_CH_TRANSFER,
        occurred_at=datetime(2026, 11, 20, 10, 0, 0, tzinfo=UTC),
        reason="delivered",
        firmware_version="1.2.3",
        device_type=DeviceType.ESME,
    )


def test_optional_fields_default_to_blank() -> None:
    event = validate()
    assert (event.reason, event.firmware_version, event.device_type) == ("", None, None)


@pytest.mark.parametrize("field", ["device_id", "status", "occurred_at"])
@pytest.mark.parametrize("missing", [None, "", "   "])
def test_each_required_field_is_reported_by_name_when_missing(field: str, missing: str | None) -> None:
    raw = raw_event()
    if missing is None:
        del raw[field]
    else:
        raw[field] = missing
    with pytest.raises(InvalidInput) as raised:
        validate_event(raw, now=NOW)
    assert raised.value.field == field


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("request_id", "90-B3-D5-1F-30-01-00-00:1000"),
        ("device_id", "00-DB-12-34"),
        ("status", "Delivered"),
        ("occurred_at", "yesterday"),
        ("request_id", 1000),
        ("device_id", 7),
        ("status", True),
        ("occurred_at", 1763632800),
    ],
)
def test_an_invalid_value_is_refused_naming_its_field(field: str, value: object) -> None:
    refusal(field, **{field: value})


@pytest.mark.parametrize(
    "status",
    ["Rejected by DSP", "Accepted by DSP", "Not Accepted by CSP", "Approved for Distribution", "Failed CH Transfer"],
)
@pytest.mark.parametrize("missing", [None, "", "  "])
def test_request_id_is_required_before_the_han_stage(status: str, missing: str | None) -> None:
    error = refusal("request_id", status=status, request_id=missing)
    assert status in error.problem


@pytest.mark.parametrize(
    "status", ["Not Delivered at HAN", "Successful HAN Transfer", "Activation Failed", "Firmware Activated"]
)
@pytest.mark.parametrize("missing", [None, "", "  "])
def test_han_and_activation_events_may_omit_request_id(status: str, missing: str | None) -> None:
    event = validate(status=status, request_id=missing)
    assert event.request_id is None
    assert event.status.value == status


def test_a_han_event_that_names_a_request_must_name_a_valid_one() -> None:
    refusal("request_id", status="Successful HAN Transfer", request_id="not-a-request")


def test_a_time_is_converted_to_utc() -> None:
    assert validate(occurred_at="2026-11-20T05:00:00-05:00").occurred_at == datetime(2026, 11, 20, 10, tzinfo=UTC)


def test_a_naive_time_is_invalid() -> None:
    error = refusal("occurred_at", occurred_at="2026-11-20T10:00:00")
    assert "naive" in error.problem


def test_a_time_up_to_24_hours_after_ingestion_is_accepted() -> None:
    ahead = NOW + timedelta(hours=24)
    assert validate(occurred_at="2026-11-21T12:00:00Z").occurred_at == ahead
    assert validate(occurred_at="2026-11-21T13:00:00+01:00").occurred_at == ahead


def test_a_time_more_than_24_hours_after_ingestion_is_invalid() -> None:
    error = refusal("occurred_at", occurred_at="2026-11-21T12:00:00.000001Z")
    assert "24 hours" in error.problem
    refusal("occurred_at", occurred_at="2027-01-01T00:00:00Z")


def test_old_times_are_accepted() -> None:
    assert validate(occurred_at="2001-01-01T00:00:00Z").occurred_at.year == 2001


@pytest.mark.parametrize("event_id", ["x", "e" * 128, "upstream:42/7 ü", " padded "])
def test_a_given_event_id_of_1_to_128_printable_characters_is_kept(event_id: str) -> None:
    assert validate(event_id=event_id).event_id == event_id


@pytest.mark.parametrize("event_id", ["e" * 129, "line\nbreak", "tab\there", "nul\x00", "bell\x07", "\ud800"])
def test_a_longer_or_unprintable_event_id_is_refused(event_id: str) -> None:
    refusal("event_id", event_id=event_id)


@pytest.mark.parametrize("event_id", [42, ["a"], {"id": "a"}, True])
def test_an_event_id_that_is_not_text_is_refused(event_id: object) -> None:
    refusal("event_id", event_id=event_id)


@pytest.mark.parametrize("event_id", [None, ""])
def test_an_absent_event_id_is_the_sha256_of_the_content(event_id: str | None) -> None:
    event = validate(event_id=event_id)
    assert len(event.event_id) == 64
    assert int(event.event_id, 16) >= 0
    assert event.event_id == event.content_digest.hex()
    assert len(event.content_digest) == hashlib.sha256().digest_size


def test_identical_events_get_the_same_derived_event_id() -> None:
    assert validate(reason="r", firmware_version="1.0", device_type="GSME").event_id == (
        validate(reason="r", firmware_version="1.0", device_type="GSME").event_id
    )


def test_the_derived_event_id_depends_on_canonical_values_not_spelling() -> None:
    plain = validate(status="Successful HAN Transfer")
    respelled = validate(
        request_id="90b3d51f30010000:90b3d51f30000002:0001000",
        device_id="00db1234567890a0",
        status="SUCCESSFUL han transfer",
        occurred_at="2026-11-20T11:00:00.000+01:00",
        unknown_field="ignored",
    )
    assert respelled.event_id == plain.event_id


@pytest.mark.parametrize(
    "change",
    [
        {"request_id": "90-B3-D5-1F-30-01-00-00:90-B3-D5-1F-30-00-00-02:1001"},
        {"request_id": None, "status": "Successful HAN Transfer"},
        {"device_id": "00-DB-12-34-56-78-90-A1"},
        {"status": "Rejected by DSP"},
        {"occurred_at": "2026-11-20T10:00:00.000001Z"},
        {"reason": "a reason"},
        {"firmware_version": "1.0"},
        {"device_type": "GSME"},
    ],
)
def test_any_changed_field_changes_the_derived_event_id(change: dict[str, object]) -> None:
    base = validate(status="Successful HAN Transfer") if "status" not in change else validate()
    assert validate(**{"status": base.status.value, **change}).event_id != base.event_id


def test_contents_that_would_join_to_the_same_text_get_different_event_ids() -> None:
    first = validate(reason="a\x1fb", device_type="ESME")
    second = validate(reason="a", firmware_version="b\x1f", device_type="ESME")
    assert first.event_id != second.event_id


def test_derived_event_ids_stay_those_already_stored() -> None:
    # Stored events are found again, and re-sent ones told apart as duplicates, by these very values.
    plain = validate(device_id=DEVICE, request_id=None, status="Successful HAN Transfer")
    assert plain.event_id == "4ab56556be41aefabbf557fb45300c4f4c05fafbdc2137c8309021f1318e9738"
    full = validate(
        occurred_at="2026-11-20T10:00:00.25Z",
        reason='Délai "dépassé" \\ 😀',
        firmware_version="1.0",
        device_type="GSME",
    )
    assert full.event_id == "f8949319219cfa30cabbea164922a5474aafbc832b0a619b873a9b82a158821e"


_TEXT = st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), max_size=40)


@given(
    request_counter=st.none() | st.integers(min_value=0, max_value=2**64 - 1),
    status=st.sampled_from(ProcessingStatus),
    occurred_at=st.datetimes(timezones=st.just(UTC)),
    reason=_TEXT,
    firmware_version=st.none() | _TEXT,
    device_type=st.none() | st.sampled_from(DeviceType),
)
def test_the_content_digest_is_the_sha256_of_the_values_as_a_compact_json_array(
    request_counter: int | None,
    status: ProcessingStatus,
    occurred_at: datetime,
    reason: str,
    firmware_version: str | None,
    device_type: DeviceType | None,
) -> None:
    originator, target, _ = REQUEST.split(":")
    request_id = None if request_counter is None else ServiceRequestId(originator, target, request_counter)
    digest = content_digest(request_id, DEVICE, status, occurred_at, reason, firmware_version, device_type)
    canonical = [
        str(request_id) if request_id else "",
        DEVICE,
        status.value,
        occurred_at.isoformat()[:-6] + "Z",
        reason,
        firmware_version or "",
        device_type.value if device_type else "",
    ]
    assert digest == hashlib.sha256(json.dumps(canonical, separators=(",", ":")).encode()).digest()


def test_a_given_event_id_does_not_change_the_content_digest() -> None:
    assert validate(event_id="one").content_digest == validate(event_id="two").content_digest
    assert validate(event_id="one").content_digest != validate(event_id="one", reason="x").content_digest


def test_unknown_fields_are_ignored() -> None:
    with_extras = validate(colour="blue", nested={"a": [1, 2]}, Status="Rejected by DSP", count=3)
    assert with_extras == validate()


@pytest.mark.parametrize("reason", ["", "x", "r" * 512, "line one\nline two", "ünïcødé ✓"])
def test_a_reason_of_up_to_512_characters_is_kept(reason: str) -> None:
    assert validate(reason=reason).reason == reason


@pytest.mark.parametrize("reason", ["r" * 513, 5, ["a"], "\ud800 lone surrogate"])
def test_a_longer_or_non_text_reason_is_refused(reason: object) -> None:
    refusal("reason", reason=reason)


@pytest.mark.parametrize("version", ["1", "12345678", "v1.2.3"])
def test_a_firmware_version_of_1_to_8_characters_is_kept(version: str) -> None:
    assert validate(firmware_version=version).firmware_version == version


def test_an_empty_firmware_version_counts_as_absent() -> None:
    assert validate(firmware_version="").firmware_version is None


@pytest.mark.parametrize("version", ["123456789", 1.0, ["1"], "\udcff"])
def test_a_longer_or_non_text_firmware_version_is_refused(version: object) -> None:
    refusal("firmware_version", firmware_version=version)


@pytest.mark.parametrize("name", ["ESME", "GSME", "PPMID", "HCALCS"])
def test_each_tracked_device_type_is_accepted(name: str) -> None:
    assert validate(device_type=name).device_type is DeviceType(name)


@pytest.mark.parametrize("name", ["CHF", "GPF", "IHD", "CAD"])
def test_an_excluded_device_type_makes_the_event_invalid_as_not_tracked(name: str) -> None:
    error = refusal("device_type", device_type=name)
    assert "not tracked" in error.problem


def test_a_device_type_outside_the_configured_tracked_set_is_invalid() -> None:
    raw = raw_event(device_type="PPMID")
    with pytest.raises(InvalidInput, match="not tracked") as raised:
        validate_event(raw, now=NOW, tracked=FIRST_RELEASE)
    assert raised.value.field == "device_type"
    assert validate_event(raw_event(device_type="GSME"), now=NOW, tracked=FIRST_RELEASE).device_type is (
        DeviceType.GSME
    )


def test_an_unknown_device_type_is_invalid() -> None:
    refusal("device_type", device_type="WATER")


def test_attaching_an_event_to_a_request_keeps_everything_else() -> None:
    event = validate(status="Firmware Activated", request_id=None, reason="ok", firmware_version="2")
    request = ServiceRequestId("90-B3-D5-1F-30-01-00-00", "90-B3-D5-1F-30-00-00-02", 7)
    attached = event.attached_to(request)
    assert attached.request_id == request
    assert (attached.event_id, attached.status, attached.occurred_at, attached.reason) == (
        event.event_id,
        event.status,
        event.occurred_at,
        event.reason,
    )


json_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.text(max_size=20),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


def field_values(*valid: str) -> st.SearchStrategy[object]:
    return st.one_of(st.sampled_from(valid), json_values)


raw_events = st.fixed_dictionaries(
    {},
    optional={
        "request_id": field_values(REQUEST, "90b3d51f30010000:90b3d51f30000002:" + "9" * 30),
        "device_id": field_values(DEVICE, "00db1234567890a0"),
        "status": field_values(*(status.value for status in ProcessingStatus)),
        "occurred_at": field_values("2026-11-20T10:00:00Z", "2026-11-25T10:00:00+01:00", "0001-01-01T00:00:00+01:00"),
        "event_id": field_values("e1", "e" * 129),
        "reason": field_values("", "r" * 513),
        "firmware_version": field_values("1.0", "123456789"),
        "device_type": field_values("ESME", "CHF", "PPMID"),
        "extra": json_values,
    },
)


@settings(max_examples=300, deadline=None)
@given(raw_events)
def test_any_raw_event_is_either_valid_or_refused_with_invalid_input(raw: dict[str, object]) -> None:
    try:
        event = validate_event(raw, now=NOW, tracked=FIRST_RELEASE)
    except InvalidInput as error:
        refused_field: str | None = error.field
    else:
        refused_field = None
        assert 1 <= len(event.event_id) <= 128
        assert event.occurred_at <= NOW + timedelta(hours=24)
        assert event.device_type in (None, *FIRST_RELEASE)
    assert refused_field is None or refused_field in FIELDS


def test_the_tracked_set_defaults_to_all_four_types() -> None:
    assert validate_event(raw_event(device_type="HCALCS"), now=NOW).device_type is DeviceType.HCALCS
    assert frozenset(DeviceType) == ALL_TRACKED
