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
    # Specific to SR 11.1 Update Firmware and SR 11.4 Update PPMID Firmware (DUIS V5.4 ResponseCode enumeration).
    "E110101": "Update Firmware failed validation: the firmware image is not on the Certified Products List",
    "E110102": "Update Firmware failed validation: the FirmwareVersion does not match the version the "
    "Certified Products List holds for the image",
    "E110103": "Update Firmware failed validation: no device in the DeviceIDList can take the image "
    "(each is in a DSPUpdateFirmwareWarning list)",
    "E110105": "Update Firmware failed validation: the devices of the DeviceIDList are not all of the "
    "device model the image is for",
    "E110106": "Update Firmware failed validation: the image is for a device type this Service Request does not serve",
    "W110101": "Update Firmware accepted for some devices: those listed in DSPUpdateFirmwareWarning were refused",
    "E110401": "Update PPMID Firmware failed validation: the firmware image is not on the Certified Products List",
    "E110402": "Update PPMID Firmware failed validation: the FirmwareVersion does not match the version the "
    "Certified Products List holds for the image",
    "E110403": "Update PPMID Firmware failed validation: no device in the DeviceIDList can take the image "
    "(each is in a DSPUpdatePPMIDFirmwareWarning list)",
    "E110405": "Update PPMID Firmware failed validation: a device of the DeviceIDList is not a PPMID",
    "W110401": "Update PPMID Firmware accepted for some devices: those listed in DSPUpdatePPMIDFirmwareWarning "
    "were refused",
}
_GENERIC_ERROR = "DCC Systems rejected the Service Request"
SUCCESS_CODES = frozenset({"I0", "I99"})


def is_error(code: str) -> bool:
    """E… codes end the request for every device; I… and W… (warnings) let it go on."""
    return code.startswith("E")


def meaning(code: str) -> str:
    """A short description of an error or warning code for the Current Status Reason."""
    return _MEANINGS.get(code, _GENERIC_ERROR)


def firmware_request_codes() -> dict[str, str]:
    """The codes specific to SR 11.1 / 11.4 with their meanings, as documented in docs/duis-mapping.md."""
    return {code: text for code, text in _MEANINGS.items() if code[1:5] in ("1101", "1104")}
