"""The status table (SPEC §4): stage, outcome and completion of each Processing Status, and parsing."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from fdtrack.domain.errors import InvalidInput
from fdtrack.domain.statuses import CompletionStatus, Outcome, ProcessingStatus, Stage

# The table of SPEC §4, written out independently of the code under test.
SPEC_TABLE = [
    ("Rejected by DSP", 1, "failure", "Failed"),
    ("Accepted by DSP", 1, "success", "In Progress"),
    ("Not Accepted by CSP", 2, "failure", "Failed"),
    ("Approved for Distribution", 2, "success", "In Progress"),
    ("Failed CH Transfer", 3, "failure", "Failed"),
    ("Successful CH Transfer", 3, "success", "In Progress"),
    ("Not Delivered at HAN", 4, "failure", "Failed"),
    ("Successful HAN Transfer", 4, "success", "In Progress"),
    ("Activation Failed", 5, "failure", "Failed"),
    ("Firmware Activated", 5, "success", "Complete"),
    ("Reset by DCC", None, None, "Failed"),
]
OUTCOMES = {"failure": Outcome.FAILURE, "success": Outcome.SUCCESS, None: None}


def test_there_are_exactly_the_eleven_processing_statuses_of_the_table() -> None:
    assert [status.value for status in ProcessingStatus] == [row[0] for row in SPEC_TABLE]


def test_completion_statuses_are_exactly_in_progress_failed_and_complete() -> None:
    assert {status.value for status in CompletionStatus} == {"In Progress", "Failed", "Complete"}


@pytest.mark.parametrize(("name", "stage", "outcome", "completion"), SPEC_TABLE)
def test_each_status_has_the_stage_outcome_and_completion_of_the_table(
    name: str, stage: int | None, outcome: str | None, completion: str
) -> None:
    status = ProcessingStatus(name)
    assert status.stage == (None if stage is None else Stage(stage))
    assert status.outcome is OUTCOMES[outcome]
    assert status.completion.value == completion


def test_stages_are_numbered_along_the_journey() -> None:
    assert [stage.name for stage in sorted(Stage)] == ["DSP", "CSP", "CH", "HAN", "ACTIVATION"]
    assert [int(stage) for stage in sorted(Stage)] == [1, 2, 3, 4, 5]
    assert Outcome.SUCCESS > Outcome.FAILURE


@pytest.mark.parametrize("name", [row[0] for row in SPEC_TABLE])
@pytest.mark.parametrize(
    "spell", [str.lower, str.upper, str.swapcase, lambda n: f"  {n}\t", lambda n: f"\n{n.upper()} "]
)
def test_status_names_match_case_insensitively_after_trimming(name: str, spell: Callable[[str], str]) -> None:
    status = ProcessingStatus.parse(spell(name))
    assert status is ProcessingStatus(name)


@pytest.mark.parametrize("name", [row[0] for row in SPEC_TABLE])
def test_statuses_are_output_exactly_as_written_in_the_table(name: str) -> None:
    status = ProcessingStatus.parse(name.upper())
    assert status.value == name
    assert str(status) == name
    assert f"{status}" == name


@pytest.mark.parametrize(
    "text",
    ["Accepted", "Accepted  by DSP", "Accepted_by_DSP", "Reset by the DCC", "Complete", "In Progress", "1", "DSP"],
)
def test_anything_else_is_refused_with_the_list_of_statuses(text: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        ProcessingStatus.parse(text)
    assert raised.value.field == "status"
    assert repr(text) in raised.value.problem
    for name, *_ in SPEC_TABLE:
        assert name in raised.value.problem


@pytest.mark.parametrize("value", [None, "", "   ", 3, ["Accepted by DSP"]])
def test_a_missing_or_non_text_status_is_invalid_input(value: object) -> None:
    with pytest.raises(InvalidInput) as raised:
        ProcessingStatus.parse(value, field="new_status")
    assert raised.value.field == "new_status"


def test_only_han_and_activation_statuses_may_omit_the_request() -> None:
    may_omit = {status.value for status in ProcessingStatus if status.may_omit_request}
    assert may_omit == {name for name, stage, *_ in SPEC_TABLE if stage in (4, 5)}
