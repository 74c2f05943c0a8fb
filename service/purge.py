"""Deletes report files past their retention and records it on their jobs."""

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import structlog

from service.errors import BadInput, VersionConflict
from service.execution_log import ExecutionLog
from service.job_store import JobStore
from service.reports.writers import writer_for
from service.storage import ReportStorage, object_key
from service.wire_types import format_time

log = structlog.get_logger(__name__)

_DURATION = re.compile(r"^(\d+)([dhms])$")
_UNITS = {"d": "days", "h": "hours", "m": "minutes", "s": "seconds"}


def parse_age(text: str) -> timedelta:
    """`30d`, `12h`, `90m` or `45s` as a timedelta."""
    match = _DURATION.match(text.strip())
    if match is None:
        raise BadInput(
            f"--older-than: {text!r} is not an age; write a number and a unit "
            "d, h, m or s, e.g. 30d"
        )
    return timedelta(**{_UNITS[match[2]]: int(match[1])})


@dataclass(frozen=True)
class PurgeResult:
    purged: list[str]
    skipped: int


async def purge_files(
    store: JobStore,
    storage: ReportStorage,
    older_than: timedelta,
    *,
    dry_run: bool = False,
    batch: int = 500,
) -> PurgeResult:
    """Purge the files of finished jobs made more than `older_than` ago.

    The new version is written first and the file deleted after: a crash in
    between leaves a file no job points to, never a job pointing to no file.
    """
    cutoff = datetime.now(UTC) - older_than
    purged: list[str] = []
    skipped = 0
    while True:
        found = await store.purgeable(cutoff, batch)
        if dry_run:
            return PurgeResult([version.id for version in found], 0)
        for version in found:
            if await _purge_one(store, storage, version, older_than):
                purged.append(version.id)
            else:
                skipped += 1
        if len(found) < batch:
            return PurgeResult(purged, skipped)


async def _purge_one(
    store: JobStore,
    storage: ReportStorage,
    version: ExecutionLog,
    older_than: timedelta,
) -> bool:
    writer = writer_for(version.rpt_format)
    assert version.file_storage_id is not None, "purgeable versions have files"
    assert writer is not None, "finished jobs have a known format"
    key = object_key(version.file_storage_id, writer.extension)
    reason = (
        f"report file {key} purged on {format_time(datetime.now(UTC))}: "
        f"older than the retention of {older_than}"
    )
    try:
        await store.record_purge(version, reason)
    except VersionConflict:
        return False  # another purge got there first
    await storage.delete(key)
    log.info("report_file_purged", job_id=version.id, key=key)
    return True
