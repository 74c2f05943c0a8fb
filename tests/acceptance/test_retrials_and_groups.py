"""Retrials, rescues and two workers in one consumer group, end to end."""

import asyncio
import json
import uuid

import asyncpg
import pytest

from service.database import create_pool
from service.execution_log import JobStatus
from service.job_store import Claimed, JobStore, Outcome
from service.kickoff import KickoffEvent
from service.settings import Settings
from tests.helpers import (
    JOB_ID,
    completions,
    kickoff,
    publish,
    running_worker,
    wait_for_status,
)

pytestmark = pytest.mark.acceptance


def fast(settings: Settings, **changes: object) -> Settings:
    return settings.model_copy(update={"retrial_poll_seconds": 0.2, **changes})


async def claimed_elsewhere(
    settings: Settings, lease: float
) -> tuple[JobStore, Claimed]:
    """A job claimed by a worker that is about to vanish."""
    pool = await create_pool(settings.database_url, max_size=2)
    store = JobStore(pool, cloudevents_source="/test", software_version=0.1)
    event = KickoffEvent.model_validate_json(json.dumps(kickoff()))
    claimed = await store.accept(
        event, default_rpt_name="Rule Listing", owner="gone", lease_seconds=lease
    )
    assert isinstance(claimed, Claimed)
    return store, claimed


async def history(settings: Settings) -> list[str]:
    conn = await asyncpg.connect(settings.database_url)
    try:
        rows = await conn.fetch(
            "SELECT rpt_stat_cd FROM execution_log WHERE id = $1"
            " ORDER BY object_version_number",
            JOB_ID,
        )
    finally:
        await conn.close()
    return [row["rpt_stat_cd"] for row in rows]


async def test_a_retryable_failure_is_retried_and_succeeds(settings: Settings) -> None:
    store, claimed = await claimed_elsewhere(settings, lease=60)
    failed = Outcome(
        JobStatus.FAILED,
        final=False,
        changes={"reason": "storage unavailable"},
        retry_in_seconds=0.5,
    )
    await store.finish(claimed, failed)
    async with running_worker(fast(settings)):
        await wait_for_status(settings, JOB_ID, "SUCCESS")
        events = await completions(settings, 2)
    assert await history(settings) == [
        "SUBMITTED", "IN_PROGRESS", "FAILED", "IN_PROGRESS", "SUCCESS"
    ]  # fmt: skip
    summary = [(json.loads(e.value)["status"], json.loads(e.value)["final"],
                json.loads(e.value)["attempt"]) for e in events]  # fmt: skip
    assert summary == [("FAILED", False, 1), ("SUCCESS", True, 2)]


async def test_a_job_whose_worker_vanished_is_rescued_after_its_lease(
    settings: Settings,
) -> None:
    store, stale = await claimed_elsewhere(settings, lease=0.5)
    async with running_worker(fast(settings)):
        await wait_for_status(settings, JOB_ID, "SUCCESS")
    assert await history(settings) == [
        "SUBMITTED", "IN_PROGRESS", "IN_PROGRESS", "SUCCESS"
    ]  # fmt: skip
    late = Outcome(JobStatus.FAILED, final=True, changes={"reason": "late"})
    with pytest.raises(Exception, match="no longer at version"):
        await store.finish(stale, late)


async def test_a_job_that_stalls_on_every_attempt_is_abandoned(
    settings: Settings,
) -> None:
    await claimed_elsewhere(settings, lease=0.2)
    async with running_worker(fast(settings, max_attempts=1)):
        (record,) = await completions(settings, 1)
    event = json.loads(record.value)
    assert (event["status"], event["final"]) == ("FAILED", True)
    assert event["executionLog"]["reason"].startswith("abandoned after 1 attempts")


async def test_two_workers_in_one_group_run_every_job_once(settings: Settings) -> None:
    jobs = [uuid.uuid4().hex.upper() for _ in range(40)]
    settings = settings.model_copy(update={"topic_partitions": 4, "max_in_flight": 3})
    async with running_worker(settings):
        await publish(settings, *(kickoff(job_id) for job_id in jobs[:20]))
        await asyncio.sleep(0.5)
        async with running_worker(settings):  # a second member: a rebalance
            await publish(settings, *(kickoff(job_id) for job_id in jobs[20:]))
            events = await completions(settings, len(jobs), within=120)
        await asyncio.sleep(1)
        events = await completions(settings, len(jobs) + 1, within=2)
    finished = [json.loads(e.value)["jobId"] for e in events]
    assert sorted(finished) == sorted(jobs)
    conn = await asyncpg.connect(settings.database_url)
    try:
        doubled = await conn.fetchval(
            "SELECT count(*) FROM (SELECT id FROM execution_log"
            " WHERE rpt_stat_cd = 'SUCCESS' GROUP BY id HAVING count(*) > 1) AS d"
        )
    finally:
        await conn.close()
    assert doubled == 0
