"""Report jobs in PostgreSQL: versioned ExecutionLogs and the outbox.

Every transition closes the current version and inserts the next one in one
transaction, guarded by the version the writer read: a writer that lost the
race gets VersionConflict and its transaction changes nothing.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

import asyncpg
import structlog

from service import cloudevents
from service.completion import CompletionEvent, ReportFile
from service.database import Connection, Pool
from service.errors import InvalidKickoff, JobNotFound, VersionConflict
from service.execution_log import ExecutionLog, JobStatus
from service.kickoff import FieldSpec, KickoffEvent, Mode
from service.reports.engine import JobRequest
from service.sql import statements
from service.transitions import (
    KickoffAction,
    decide_kickoff,
    next_version,
    purged_version,
)

log = structlog.get_logger(__name__)

SQL = statements("jobs")

VERSION_COLUMNS = tuple(ExecutionLog.model_fields)
"""The execution_log columns, named as the model's fields, in insert order."""


class SkipReason(Enum):
    FINISHED = "finished"
    RUNNING = "running"
    LOST_RACE = "lost_race"


_SKIP_FOR_ACTION = {
    KickoffAction.IGNORE_FINISHED: SkipReason.FINISHED,
    KickoffAction.IGNORE_RUNNING: SkipReason.RUNNING,
}


@dataclass(frozen=True)
class Attempt:
    """An attempt of a job in progress: its IN_PROGRESS version and number."""

    log: ExecutionLog
    attempt: int


@dataclass(frozen=True)
class Claimed(Attempt):
    """This worker holds the job: an IN_PROGRESS version and a lease."""

    request: JobRequest


@dataclass(frozen=True)
class Skipped:
    """The kickoff changed nothing, and why."""

    reason: SkipReason
    log: ExecutionLog | None


@dataclass(frozen=True)
class Outcome:
    """How an attempt ended, as the finishing transition records it."""

    status: JobStatus
    final: bool
    changes: dict[str, Any]
    file: ReportFile | None = None
    file_key: str | None = None  # the stored file, removed if the write loses
    retry_in_seconds: float | None = None
    traceparent: str | None = None


class JobStore:
    """Reads and writes jobs; every method is one transaction."""

    def __init__(
        self, pool: Pool, *, cloudevents_source: str, software_version: float
    ) -> None:
        self._pool = pool
        self._source = cloudevents_source
        self._software_version = software_version

    async def accept(
        self,
        event: KickoffEvent,
        *,
        default_rpt_name: str,
        owner: str,
        lease_seconds: float,
    ) -> Claimed | Skipped:
        """Submit the job if it is new, then claim it unless it must be left.

        Raises InvalidKickoff when the job is unknown and the event has no
        `report` block to create it from.
        """
        try:
            async with self._pool.acquire() as conn, conn.transaction():
                if event.report is not None:
                    await self._submit(conn, event, default_rpt_name)
                return await self._claim(conn, event.job_id, owner, lease_seconds)
        except VersionConflict:
            return Skipped(SkipReason.LOST_RACE, None)

    async def submit(self, event: KickoffEvent, *, default_rpt_name: str) -> None:
        """Record a new job as SUBMITTED without claiming it; known jobs stay."""
        if event.report is None:
            raise InvalidKickoff("report: required to submit a new job")
        async with self._pool.acquire() as conn, conn.transaction():
            await self._submit(conn, event, default_rpt_name)

    async def finish(self, claimed: Attempt, outcome: Outcome) -> ExecutionLog:
        """Record the attempt's end and queue its completion event, atomically."""
        job_id = _uuid(claimed.log.id)
        async with self._pool.acquire() as conn, conn.transaction():
            new = await self._transition(
                conn, claimed.log, outcome.status, **outcome.changes
            )
            await conn.execute(SQL["release_lease"], job_id, outcome.retry_in_seconds)
            if outcome.file is not None:
                await conn.execute(
                    SQL["record_file"],
                    job_id,
                    outcome.file.content_type,
                    outcome.file.size_bytes,
                    outcome.file.sha256,
                )
            event = CompletionEvent(
                job_id=new.id,
                status=outcome.status,
                attempt=claimed.attempt,
                final=outcome.final,
                execution_log=new,
                file=outcome.file,
            )
            await conn.execute(
                SQL["insert_outbox"],
                uuid.uuid4(),
                job_id,
                new.object_version_number,
                cloudevents.COMPLETED_TYPE,
                new.version_start,
                event.to_json_bytes(),
                outcome.traceparent,
            )
        return new

    async def purgeable(self, made_before: datetime, limit: int) -> list[ExecutionLog]:
        """Finished jobs whose report file was made before `made_before`."""
        rows = await self._pool.fetch(SQL["purgeable"], made_before, limit)
        return [_execution_log(row) for row in rows]

    async def record_purge(self, current: ExecutionLog, reason: str) -> ExecutionLog:
        """Record, as a new version, that the job's report file is deleted."""
        async with self._pool.acquire() as conn, conn.transaction():
            ended = await self._close(conn, current, JobStatus.SUCCESS)
            new = purged_version(current, ended, reason)
            await conn.execute(SQL["insert_version"], *_version_values(new))
        return new

    async def renew_lease(self, claimed: Attempt, owner: str, seconds: float) -> bool:
        """Extend the attempt's lease; False when another attempt holds the job."""
        renewed = await self._pool.fetchval(
            SQL["renew_lease"], _uuid(claimed.log.id), owner, claimed.attempt, seconds
        )
        return renewed is not None

    async def current(self, job_id: str) -> ExecutionLog:
        row = await self._pool.fetchrow(SQL["current_version"], _uuid(job_id))
        if row is None:
            raise JobNotFound(f"no report job {job_id}")
        return _execution_log(row)

    async def report_file(self, job_id: str) -> ReportFile | None:
        """The job's stored report: where it is, its size and checksum."""
        row = await self._pool.fetchrow(SQL["file_of"], _uuid(job_id))
        if row is None:
            return None
        return ReportFile(
            file_storage_id=row["file_storage_id"],
            content_type=row["file_content_type"],
            size_bytes=row["file_size_bytes"],
            sha256=row["file_sha256"],
        )

    async def history(self, job_id: str) -> list[ExecutionLog]:
        rows = await self._pool.fetch(SQL["history"], _uuid(job_id))
        if not rows:
            raise JobNotFound(f"no report job {job_id}")
        return [_execution_log(row) for row in rows]

    async def _submit(
        self, conn: Connection, event: KickoffEvent, default_rpt_name: str
    ) -> None:
        assert event.report is not None
        job_id = _uuid(event.job_id)
        created = await conn.fetchval(
            SQL["insert_job"],
            job_id,
            event.mode.value,
            _uuid(event.study_id) if event.study_id else None,
            _specs_json(event.field_specs_list),
            _specs_json(event.ext_field_specs_list),
        )
        if created is None:
            return  # a known job: its request was fixed when it was submitted
        report = event.report
        await conn.execute(
            SQL["insert_first_version"],
            job_id,
            _uuid(report.rpt_id),
            report.rpt_name or default_rpt_name,
            report.rpt_format,
            _uuid(report.user_id),
            report.comment,
            self._software_version,
        )
        log.info("job_submitted", job_id=event.job_id)

    async def _claim(
        self, conn: Connection, job_id: str, owner: str, lease_seconds: float
    ) -> Claimed | Skipped:
        row = await conn.fetchrow(SQL["current_version"], _uuid(job_id))
        if row is None:
            raise InvalidKickoff(
                f"report: required when the job is not known yet; job {job_id} "
                "has no ExecutionLog, so send rptId, rptFormat and userId",
                error_type="UnknownJob",
            )
        current = _execution_log(row)
        action = decide_kickoff(current.rpt_stat_cd, lease_expired=row["lease_expired"])
        if action is not KickoffAction.CLAIM:
            return Skipped(_SKIP_FOR_ACTION[action], current)
        claimed = await self._transition(
            conn,
            current,
            JobStatus.IN_PROGRESS,
            reason=None,
            file_storage_id=None,
            rec_count=None,
            run_duration=None,
        )
        attempt = await conn.fetchval(
            SQL["take_lease"], _uuid(job_id), owner, lease_seconds
        )
        return Claimed(log=claimed, attempt=attempt, request=_job_request(row, claimed))

    async def _transition(
        self,
        conn: Connection,
        current: ExecutionLog,
        status: JobStatus,
        **changes: Any,
    ) -> ExecutionLog:
        ended = await self._close(conn, current, status)
        new = next_version(current, status, ended, **changes)
        await conn.execute(SQL["insert_version"], *_version_values(new))
        return new

    async def _close(
        self, conn: Connection, current: ExecutionLog, status: JobStatus
    ) -> datetime:
        """End the current version if it still is; else VersionConflict."""
        ended: datetime | None = await conn.fetchval(
            SQL["close_version"], _uuid(current.id), current.object_version_number
        )
        if ended is None:
            log.warning(
                "version_conflict",
                job_id=current.id,
                expected_version=current.object_version_number,
                target_status=status.value,
            )
            raise VersionConflict(current.id, current.object_version_number)
        return ended


def _uuid(guid: str) -> uuid.UUID:
    return uuid.UUID(guid)


def _specs_json(specs: Sequence[FieldSpec]) -> list[dict[str, Any]]:
    return [spec.model_dump(mode="json", by_alias=True) for spec in specs]


def _execution_log(row: asyncpg.Record) -> ExecutionLog:
    return ExecutionLog.model_validate({name: row[name] for name in VERSION_COLUMNS})


def _version_values(version: ExecutionLog) -> list[object]:
    values = [getattr(version, name) for name in VERSION_COLUMNS]
    guid_columns = ("id", "rpt_id", "user_id", "file_storage_id")
    return [
        _uuid(value) if name in guid_columns and value is not None else value
        for name, value in zip(VERSION_COLUMNS, values, strict=True)
    ]


def _job_request(row: asyncpg.Record, version: ExecutionLog) -> JobRequest:
    return JobRequest(
        job_id=version.id,
        mode=Mode(row["mode"]),
        study_id=row["study_id"].hex.upper() if row["study_id"] else None,
        field_specs=[
            FieldSpec.model_validate(s, strict=False) for s in row["field_specs"]
        ],
        ext_field_specs=[
            FieldSpec.model_validate(s, strict=False) for s in row["ext_field_specs"]
        ],
        rpt_id=version.rpt_id,
        rpt_format=version.rpt_format,
        rpt_name=version.rpt_name,
        user_id=version.user_id,
        kickoff_at=version.rpt_kickoff_datetime,
    )
