"""The status table (SPEC §4): the only place Processing and Completion Statuses are listed."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, StrEnum

from fdtrack.domain.errors import InvalidInput


class CompletionStatus(StrEnum):
    """The overall outcome of a distribution record."""

    IN_PROGRESS = "In Progress"
    FAILED = "Failed"
    COMPLETE = "Complete"

    @property
    def colour(self) -> str:
        return _COMPLETION_COLOURS[self]


class Stage(IntEnum):
    """The stage of the journey a Processing Status belongs to; a higher stage is further along."""

    DSP = 1
    CSP = 2
    CH = 3
    HAN = 4
    ACTIVATION = 5


class Outcome(IntEnum):
    """Whether a stage succeeded; success beats failure at the same stage and instant (§5.1 v2)."""

    FAILURE = 0
    SUCCESS = 1


@dataclass(frozen=True, slots=True)
class _Definition:
    stage: Stage | None
    outcome: Outcome | None
    completion: CompletionStatus
    colour: str


class ProcessingStatus(StrEnum):
    """The stage a device has reached; values are the exact names shown to users."""

    REJECTED_BY_DSP = "Rejected by DSP"
    ACCEPTED_BY_DSP = "Accepted by DSP"
    NOT_ACCEPTED_BY_CSP = "Not Accepted by CSP"
    APPROVED_FOR_DISTRIBUTION = "Approved for Distribution"
    FAILED_CH_TRANSFER = "Failed CH Transfer"
    SUCCESSFUL_CH_TRANSFER = "Successful CH Transfer"
    NOT_DELIVERED_AT_HAN = "Not Delivered at HAN"
    SUCCESSFUL_HAN_TRANSFER = "Successful HAN Transfer"
    ACTIVATION_FAILED = "Activation Failed"
    FIRMWARE_ACTIVATED = "Firmware Activated"
    RESET_BY_DCC = "Reset by DCC"

    @property
    def stage(self) -> Stage | None:
        return _TABLE[self].stage

    @property
    def outcome(self) -> Outcome | None:
        return _TABLE[self].outcome

    @property
    def completion(self) -> CompletionStatus:
        return _TABLE[self].completion

    @property
    def colour(self) -> str:
        return _TABLE[self].colour

    @property
    def may_omit_request(self) -> bool:
        """HAN and activation outcomes come from device alerts that do not name the request (§5.3)."""
        return self.stage is not None and self.stage >= Stage.HAN

    @classmethod
    def parse(cls, text: object, field: str = "status") -> ProcessingStatus:
        """Match a status name case-insensitively after trimming white space."""
        if not isinstance(text, str) or not text.strip():
            raise InvalidInput(field, f"is required, expected one of: {_NAMES}")
        found = _BY_FOLDED_NAME.get(text.strip().casefold())
        if found is None:
            shown = text if len(text) <= 60 else text[:60] + "…"
            raise InvalidInput(field, f"{shown!r} is not a Processing Status, expected one of: {_NAMES}")
        return found


_IN, _FAILED, _DONE = CompletionStatus.IN_PROGRESS, CompletionStatus.FAILED, CompletionStatus.COMPLETE
_S, _F = Outcome.SUCCESS, Outcome.FAILURE

# name → (stage, outcome, completion, colour); colours are those of the progress bar and status tags.
_TABLE: dict[ProcessingStatus, _Definition] = {
    ProcessingStatus.REJECTED_BY_DSP: _Definition(Stage.DSP, _F, _FAILED, "#d4351c"),
    ProcessingStatus.ACCEPTED_BY_DSP: _Definition(Stage.DSP, _S, _IN, "#b1b4b6"),
    ProcessingStatus.NOT_ACCEPTED_BY_CSP: _Definition(Stage.CSP, _F, _FAILED, "#942514"),
    ProcessingStatus.APPROVED_FOR_DISTRIBUTION: _Definition(Stage.CSP, _S, _IN, "#5694ca"),
    ProcessingStatus.FAILED_CH_TRANSFER: _Definition(Stage.CH, _F, _FAILED, "#f47738"),
    ProcessingStatus.SUCCESSFUL_CH_TRANSFER: _Definition(Stage.CH, _S, _IN, "#1d70b8"),
    ProcessingStatus.NOT_DELIVERED_AT_HAN: _Definition(Stage.HAN, _F, _FAILED, "#912b88"),
    ProcessingStatus.SUCCESSFUL_HAN_TRANSFER: _Definition(Stage.HAN, _S, _IN, "#003078"),
    ProcessingStatus.ACTIVATION_FAILED: _Definition(Stage.ACTIVATION, _F, _FAILED, "#6f0000"),
    ProcessingStatus.FIRMWARE_ACTIVATED: _Definition(Stage.ACTIVATION, _S, _DONE, "#00703c"),
    ProcessingStatus.RESET_BY_DCC: _Definition(None, None, _FAILED, "#0b0c0c"),
}

_COMPLETION_COLOURS = {_IN: "#1d70b8", _FAILED: "#d4351c", _DONE: "#00703c"}
_BY_FOLDED_NAME = {status.value.casefold(): status for status in ProcessingStatus}
_NAMES = ", ".join(status.value for status in ProcessingStatus)
