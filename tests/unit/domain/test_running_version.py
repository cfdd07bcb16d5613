"""A device's report of its running firmware confirms activation only of the image the record distributed."""

from __future__ import annotations

import pytest

from fdtrack.domain.running_version import why_not_confirmed
from fdtrack.domain.statuses import ProcessingStatus as S


@pytest.mark.parametrize("status", list(S))
def test_the_record_s_own_version_confirms_activation_whatever_the_stage(status: S) -> None:
    assert why_not_confirmed("0123abcd", "0123ABCD", status) is None


def test_another_version_confirms_nothing_and_says_which_versions_differ() -> None:
    assert why_not_confirmed("00000001", "0123ABCD", S.ACTIVATION_FAILED) == (
        "the device runs 00000001, not the record's firmware version 0123ABCD"
    )


def test_a_record_without_a_firmware_version_cannot_be_confirmed_by_a_version() -> None:
    assert why_not_confirmed("0123ABCD", None, S.SUCCESSFUL_HAN_TRANSFER) is not None


@pytest.mark.parametrize("status", [S.SUCCESSFUL_HAN_TRANSFER, S.ACTIVATION_FAILED])
def test_a_change_of_version_confirms_an_image_that_reached_the_device(status: S) -> None:
    assert why_not_confirmed(None, "0123ABCD", status) is None


@pytest.mark.parametrize(
    "status", [S.ACCEPTED_BY_DSP, S.APPROVED_FOR_DISTRIBUTION, S.SUCCESSFUL_CH_TRANSFER, S.NOT_DELIVERED_AT_HAN]
)
def test_a_change_of_version_before_the_image_arrived_is_not_ours(status: S) -> None:
    assert why_not_confirmed(None, "0123ABCD", status) == (
        f"the record's image has not reached the device (its status is {status.value})"
    )
