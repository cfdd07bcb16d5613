"""DUIS Response Codes: which count as success and what the errors mean, in words a User reads."""

from __future__ import annotations

# Meanings of the generic DCC Systems response codes that can end a firmware distribution.
# Codes not listed here are shown with the generic meaning below (DUIS defines many more).
_MEANINGS = {
    "E1": "Failed authorisation: invalid User / User Role combination",
    "E2": "Failed authorisation: User Role not permitted to send this Service Reference",
    "E3": "Failed authorisation: User status does not permit this Service Reference",
    "E4": "Failed authorisation: User Role not authorised for the device",
    "E5": "Failed authorisation: device status incompatible with the Service Reference",
    "E11": "Failed validation: Service Request not compatible with the device type",
    "E12": "Failed validation: Command Variant not applicable to the request",
    "E13": "Failed validation: request type not valid for the URL",
    "E17": "Failed authorisation: not available for local delivery",
    "E19": "Failed authorisation: device does not exist",
    "E20": "Communications failure: unable to communicate with the device",
    "E21": "Communications failure: no response received from the device",
    "E30": "Time-out of a future-dated command",
}
_GENERIC_ERROR = "DCC Systems rejected the Service Request"
SUCCESS_CODES = frozenset({"I0", "I99"})


def is_error(code: str) -> bool:
    """E… codes end the request for every device; I… and W… (warnings) let it go on."""
    return code.startswith("E")


def meaning(code: str) -> str:
    """A short description of an error code for the Current Status Reason."""
    return _MEANINGS.get(code, _GENERIC_ERROR)
