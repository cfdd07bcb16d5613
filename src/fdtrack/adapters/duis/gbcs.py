"""GBCS payloads carried in DUIS: General-Signing frames, CS06 Activate Firmware outcomes, running versions."""

from __future__ import annotations

from dataclasses import dataclass

CRA_RESPONSE = 0x02
CRA_ALERT = 0x03
MESSAGE_CODE_CS06 = 0x0012  # GBCS Message Code of CS06 Activate Firmware
FUTURE_DATED_ACTIONED = 0x8F66
FUTURE_DATED_NOT_ACTIONED = 0x8F67

_GENERAL_SIGNING = 0xDF
_GENERAL_CIPHERING = 0xDD
_ENCRYPTED = 0x20  # security control bit: the content is encrypted, not only authenticated
_INVOCATION_COUNTER_LENGTH = 4
_MAC_LENGTH = 12  # GBCS truncates the GMAC tag to 12 octets
_DLMS_ACCESS_RESPONSE = 0xDA
_DLMS_OCTET_STRING = 0x09
_DLMS_LONG_INVOKE_ID_LENGTH = 4
_FIRMWARE_VERSION_OCTETS = 4  # DUIS FirmwareVersion: 8 hexadecimal characters
_TRANSACTION_ID_LENGTH = 9  # CRA flag and the 8-octet originator counter
_SYSTEM_TITLE_LENGTH = 8
_DATE_TIME_LENGTH = 12  # a DLMS COSEM date-time
_ASN1_INTEGER, _ASN1_OCTET_STRING, _ASN1_NULL, _ASN1_GENERALIZED_TIME, _ASN1_SEQUENCE = 0x02, 0x04, 0x05, 0x18, 0x30


class GbcsError(ValueError):
    """A GBCS payload that cannot be decoded; the message says where and why."""


@dataclass(frozen=True, slots=True)
class GeneralSigning:
    """The parts of a GBCS General-Signing message that tracking needs."""

    cra_flag: int
    originator_counter: int
    originator: str  # canonical EUI-64 of the sender (the device, for responses and alerts)
    recipient: str
    message_code: int
    content: bytes


@dataclass(frozen=True, slots=True)
class ActivationOutcome:
    """The Execution Outcome of Activate Firmware (CS06) with the firmware version the device reports."""

    code: int
    firmware_version: str | None

    @property
    def succeeded(self) -> bool:
        return self.code == 0


@dataclass(frozen=True, slots=True)
class FutureDatedActivationAlert:
    """Alert 8F66 (actioned) or 8F67 (not actioned) for a future-dated CS06 command."""

    alert_code: int
    command_counter: int  # the originator counter of the CS06 command it reports on
    outcome: ActivationOutcome


def parse_general_signing(payload: bytes) -> GeneralSigning:
    """Split a General-Signing message into header fields and content; the signature is not checked."""
    reader = _Reader(payload, "GBCS payload")
    if reader.byte("general-signing tag") != _GENERAL_SIGNING:
        raise GbcsError("GBCS payload: not a General-Signing message (first octet is not 0xDF)")
    if reader.length("transaction id") != _TRANSACTION_ID_LENGTH:
        raise GbcsError("GBCS payload: transaction id is not 9 octets")
    cra_flag = reader.byte("CRA flag")
    counter = int.from_bytes(reader.take(8, "originator counter"), "big")
    originator = _system_title(reader, "originator system title")
    recipient = _system_title(reader, "recipient system title")
    date_time_length = reader.length("date-time")
    if date_time_length not in (0, _DATE_TIME_LENGTH):
        raise GbcsError(f"GBCS payload: date-time is {date_time_length} octets, expected 0 or 12")
    reader.take(date_time_length, "date-time")
    other_information = reader.take(reader.length("other information"), "other information")
    if len(other_information) < 2:
        raise GbcsError("GBCS payload: other information holds no message code")
    content = reader.take(reader.length("content"), "content")
    # The signature is checked by the DCC, not here; pre-commands have none, but one cut short is refused.
    if reader.remaining:
        reader.take(reader.length("signature"), "signature")
    return GeneralSigning(
        cra_flag, counter, originator, recipient, int.from_bytes(other_information[:2], "big"), content
    )


def unwrap_general_ciphering(payload: bytes) -> bytes:
    """The content of a MAC-protected General-Ciphering frame (0xDD), or the payload itself when it is not one.

    A device response authenticated but not encrypted (e.g. to SR 11.2) carries its General-Signing frame
    in clear between a security header and a 12-octet MAC; the MAC is checked by the DCC, not here.
    """
    if not payload or payload[0] != _GENERAL_CIPHERING:
        return payload
    reader = _Reader(payload, "GBCS General-Ciphering")
    reader.byte("general-ciphering tag")
    for part in ("transaction id", "originator system title", "recipient system title", "date-time", "other info"):
        reader.take(reader.length(part), part)
    if reader.byte("key info") != 0:
        raise GbcsError("GBCS General-Ciphering: carries key info (an encrypted message), which cannot be read")
    content = reader.take(reader.length("ciphered content"), "ciphered content")
    inner = _Reader(content, "GBCS General-Ciphering")
    if inner.byte("security control") & _ENCRYPTED:
        raise GbcsError("GBCS General-Ciphering: the content is encrypted and cannot be read")
    inner.take(_INVOCATION_COUNTER_LENGTH, "invocation counter")
    if inner.remaining < _MAC_LENGTH:
        raise GbcsError("GBCS General-Ciphering: truncated in the MAC")
    return inner.take(inner.remaining - _MAC_LENGTH, "content")


def decode_running_version(message: GeneralSigning) -> str:
    """The firmware version a device reports running in its response to SR 11.2 (a DLMS access-response).

    Only the DLMS form (electricity meters) is read; other forms raise GbcsError saying so.
    """
    if message.cra_flag != CRA_RESPONSE:
        raise GbcsError(f"GBCS payload: CRA flag is {message.cra_flag}, expected {CRA_RESPONSE} (a response)")
    reader = _Reader(message.content, "read firmware version response")
    if reader.byte("APDU tag") != _DLMS_ACCESS_RESPONSE:
        raise GbcsError("read firmware version response: not a DLMS access-response, the version cannot be read")
    reader.take(_DLMS_LONG_INVOKE_ID_LENGTH, "invoke id")
    stamp = reader.byte("date-time")
    if stamp:
        reader.take(_DATE_TIME_LENGTH, "date-time")
    if reader.byte("access-request-specification"):
        raise GbcsError("read firmware version response: repeats its request, which a device response does not")
    if reader.byte("data count") != 1 or reader.byte("data type") != _DLMS_OCTET_STRING:
        raise GbcsError("read firmware version response: expected one octet-string holding the version")
    version = reader.take(reader.length("firmware version"), "firmware version")
    if len(version) != _FIRMWARE_VERSION_OCTETS:
        raise GbcsError(f"read firmware version response: the version is {len(version)} octets, expected 4")
    return version.hex().upper()


def decode_activation_response(message: GeneralSigning) -> ActivationOutcome | None:
    """The outcome of an immediate CS06, or None for a future-dated one (its outcome comes as 8F66/8F67)."""
    if message.cra_flag != CRA_RESPONSE:
        raise GbcsError(f"GBCS payload: CRA flag is {message.cra_flag}, expected {CRA_RESPONSE} (a response)")
    if message.message_code != MESSAGE_CODE_CS06:
        raise GbcsError(
            f"GBCS payload: message code 0x{message.message_code:04X} is not CS06 Activate Firmware (0x0012)"
        )
    reader = _Reader(message.content, "CS06 response")
    tag, value = reader.element()
    if tag == _ASN1_NULL:
        return None
    if tag != _ASN1_SEQUENCE:
        raise GbcsError(f"CS06 response: unexpected ASN.1 tag 0x{tag:02X}, expected a SEQUENCE or NULL")
    return _activation_outcome(value, "CS06 response")


def decode_future_dated_alert(message: GeneralSigning) -> FutureDatedActivationAlert:
    """Decode an 8F66/8F67 alert: alert code, the command's counter and the execution outcome."""
    if message.cra_flag != CRA_ALERT:
        raise GbcsError(f"GBCS payload: CRA flag is {message.cra_flag}, expected {CRA_ALERT} (an alert)")
    tag, body = _Reader(message.content, "future-dated alert").element()
    if tag != _ASN1_SEQUENCE:
        raise GbcsError("future-dated alert: content is not an ASN.1 SEQUENCE")
    reader = _Reader(body, "future-dated alert")
    alert_code = reader.integer("alert code")
    if alert_code not in (FUTURE_DATED_ACTIONED, FUTURE_DATED_NOT_ACTIONED):
        raise GbcsError(f"future-dated alert: alert code 0x{alert_code:04X} is neither 8F66 nor 8F67")
    reader.expect(_ASN1_GENERALIZED_TIME, "alert time")
    counter = reader.integer("command counter")
    outcome = _activation_outcome(reader.expect(_ASN1_SEQUENCE, "execution outcome"), "future-dated alert")
    return FutureDatedActivationAlert(alert_code, counter, outcome)


def _activation_outcome(sequence: bytes, what: str) -> ActivationOutcome:
    reader = _Reader(sequence, what)
    code = reader.integer("execution outcome")
    version = reader.expect(_ASN1_OCTET_STRING, "firmware version").hex().upper() if reader.remaining else None
    return ActivationOutcome(code, version)


def _system_title(reader: _Reader, what: str) -> str:
    if reader.length(what) != _SYSTEM_TITLE_LENGTH:
        raise GbcsError(f"GBCS payload: {what} is not 8 octets")
    return "-".join(f"{octet:02X}" for octet in reader.take(_SYSTEM_TITLE_LENGTH, what))


class _Reader:
    """Reads octets, lengths and DER elements, failing with a message that names the part."""

    def __init__(self, data: bytes, what: str) -> None:
        self._data = data
        self._position = 0
        self._what = what

    @property
    def remaining(self) -> int:
        return len(self._data) - self._position

    def take(self, count: int, part: str) -> bytes:
        if count > self.remaining:
            raise GbcsError(f"{self._what}: truncated in the {part}")
        chunk = self._data[self._position : self._position + count]
        self._position += count
        return chunk

    def byte(self, part: str) -> int:
        return self.take(1, part)[0]

    def length(self, part: str) -> int:
        """A DER length: one octet below 0x80, else 0x81/0x82 followed by that many length octets."""
        first = self.byte(part)
        if first < 0x80:
            return first
        octets = first & 0x7F
        if octets not in (1, 2):
            raise GbcsError(f"{self._what}: unsupported length form 0x{first:02X} in the {part}")
        return int.from_bytes(self.take(octets, part), "big")

    def element(self) -> tuple[int, bytes]:
        tag = self.byte("ASN.1 tag")
        return tag, self.take(self.length("ASN.1 length"), "ASN.1 value")

    def expect(self, tag: int, part: str) -> bytes:
        found, value = self.element()
        if found != tag:
            raise GbcsError(f"{self._what}: {part} has ASN.1 tag 0x{found:02X}, expected 0x{tag:02X}")
        return value

    def integer(self, part: str) -> int:
        value = self.expect(_ASN1_INTEGER, part)
        if not value:
            raise GbcsError(f"{self._what}: {part} is an empty INTEGER")
        return int.from_bytes(value, "big", signed=False)
