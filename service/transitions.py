"""The job state machine: which transitions exist and what a kickoff does.

Pure logic: the job store asks it before every write.
"""

from datetime import datetime
from enum import Enum
from typing import Any

from service.errors import ServiceError
from service.execution_log import ExecutionLog, JobStatus, OperationType
from service.wire_types import END_OF_TIME

ALLOWED: dict[JobStatus, frozenset[JobStatus]] = {
    JobStatus.SUBMITTED: frozenset({JobStatus.IN_PROGRESS}),
    # IN_PROGRESS -> IN_PROGRESS is a rescue: the lease of the worker expired.
    JobStatus.IN_PROGRESS: frozenset(
        {JobStatus.SUCCESS, JobStatus.FAILED, JobStatus.IN_PROGRESS}
    ),
    JobStatus.FAILED: frozenset({JobStatus.IN_PROGRESS}),
    JobStatus.SUCCESS: frozenset(),
}


class IllegalTransition(ServiceError):
    """A transition the state machine does not have; a bug, never retried."""


class KickoffAction(Enum):
    """What a kickoff does to a job that already exists."""

    CLAIM = "claim"
    IGNORE_FINISHED = "ignore_finished"
    IGNORE_RUNNING = "ignore_running"


def decide_kickoff(status: JobStatus, *, lease_expired: bool) -> KickoffAction:
    """A kickoff claims the job unless it is finished or held by a live worker."""
    if status is JobStatus.SUCCESS:
        return KickoffAction.IGNORE_FINISHED
    if status is JobStatus.IN_PROGRESS and not lease_expired:
        return KickoffAction.IGNORE_RUNNING
    return KickoffAction.CLAIM


def next_version(
    current: ExecutionLog, status: JobStatus, at: datetime, **changes: Any
) -> ExecutionLog:
    """The version that follows `current`, starting at `at`, in state `status`."""
    if status not in ALLOWED[current.rpt_stat_cd]:
        raise IllegalTransition(
            f"job {current.id} cannot go from {current.rpt_stat_cd} to {status}"
        )
    if status is JobStatus.IN_PROGRESS:
        changes.setdefault("rpt_kickoff_datetime", at)  # when this attempt began
    return current.model_copy(
        update={
            **changes,
            "rpt_stat_cd": status,
            "object_version_number": current.object_version_number + 1,
            "operation_type": OperationType.UPDATE.value,
            "version_start": at,
            "version_end": END_OF_TIME,
        }
    )


def purged_version(current: ExecutionLog, at: datetime, reason: str) -> ExecutionLog:
    """The version that records the deletion of a finished job's report file.

    Not a state transition: the job stays SUCCESS, its file is gone.
    """
    if current.rpt_stat_cd is not JobStatus.SUCCESS or not current.file_storage_id:
        raise IllegalTransition(f"job {current.id} has no report file to purge")
    return current.model_copy(
        update={
            "file_storage_id": None,
            "reason": reason,
            "object_version_number": current.object_version_number + 1,
            "operation_type": OperationType.DELETE.value,
            "version_start": at,
            "version_end": END_OF_TIME,
        }
    )
