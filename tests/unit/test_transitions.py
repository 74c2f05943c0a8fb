from datetime import UTC, datetime

import pytest

from service.execution_log import ExecutionLog, JobStatus
from service.transitions import (
    IllegalTransition,
    KickoffAction,
    decide_kickoff,
    next_version,
)
from service.wire_types import END_OF_TIME
from tests.helpers import execution_log

T0 = datetime(2025, 10, 27, 10, tzinfo=UTC)
T1 = datetime(2025, 10, 27, 10, 0, 1, tzinfo=UTC)


def version(status: JobStatus) -> ExecutionLog:
    return execution_log(status, at=T0)


@pytest.mark.parametrize(
    ("status", "lease_expired", "action"),
    [
        (JobStatus.SUBMITTED, False, KickoffAction.CLAIM),
        (JobStatus.FAILED, False, KickoffAction.CLAIM),
        (JobStatus.IN_PROGRESS, False, KickoffAction.IGNORE_RUNNING),
        (JobStatus.IN_PROGRESS, True, KickoffAction.CLAIM),
        (JobStatus.SUCCESS, True, KickoffAction.IGNORE_FINISHED),
    ],
)
def test_what_a_kickoff_does_to_a_known_job(
    status: JobStatus, lease_expired: bool, action: KickoffAction
) -> None:
    assert decide_kickoff(status, lease_expired=lease_expired) is action


def test_next_version_counts_up_and_starts_current() -> None:
    claimed = next_version(version(JobStatus.SUBMITTED), JobStatus.IN_PROGRESS, T1)
    assert claimed.object_version_number == 2
    assert claimed.version_start == T1
    assert claimed.version_end == END_OF_TIME
    assert claimed.operation_type == "UPDATE"
    assert claimed.rpt_kickoff_datetime == T1


@pytest.mark.parametrize(
    ("start", "target"),
    [
        (JobStatus.SUCCESS, JobStatus.IN_PROGRESS),
        (JobStatus.SUCCESS, JobStatus.FAILED),
        (JobStatus.SUBMITTED, JobStatus.SUCCESS),
        (JobStatus.FAILED, JobStatus.SUCCESS),
    ],
)
def test_transitions_outside_the_state_machine_are_refused(
    start: JobStatus, target: JobStatus
) -> None:
    with pytest.raises(IllegalTransition):
        next_version(version(start), target, T1)
