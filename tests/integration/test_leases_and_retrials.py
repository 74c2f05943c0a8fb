"""Leases, heartbeats and the retrial producer against a real PostgreSQL."""

import asyncio
import json
from typing import Any

import asyncpg
import pytest

from service.database import Pool
from service.execution_log import JobStatus
from service.job_store import Claimed, JobStore, Outcome
from service.kickoff import KickoffEvent
from service.lease import Lease
from service.sql import statements
from tests.helpers import JOB_ID, kickoff

pytestmark = pytest.mark.integration


async def claim(store: JobStore, owner: str = "worker-a", lease: float = 60) -> Claimed:
    event = KickoffEvent.model_validate_json(json.dumps(kickoff()))
    claimed = await store.accept(
        event, default_rpt_name="Rule Listing", owner=owner, lease_seconds=lease
    )
    assert isinstance(claimed, Claimed)
    return claimed


async def lease_of(pool: Pool) -> Any:
    return await pool.fetchrow("SELECT lease_owner, lease_expires_at FROM report_job")


async def test_heartbeats_extend_the_lease(store: JobStore, pool: Pool) -> None:
    claimed = await claim(store, lease=0.6)
    before = (await lease_of(pool))["lease_expires_at"]
    work = asyncio.create_task(asyncio.sleep(10))
    lease = Lease(store, claimed, "worker-a", 0.6)
    keeping = asyncio.create_task(lease.keep(work))
    await asyncio.sleep(0.5)
    after = (await lease_of(pool))["lease_expires_at"]
    keeping.cancel()
    work.cancel()
    assert after > before
    assert not lease.lost


async def test_a_heartbeat_that_finds_the_lease_taken_cancels_the_attempt(
    store: JobStore, pool: Pool
) -> None:
    claimed = await claim(store, lease=0.3)
    await pool.execute("UPDATE report_job SET lease_owner = 'worker-b'")
    work = asyncio.create_task(asyncio.sleep(10))
    lease = Lease(store, claimed, "worker-a", 0.3)
    await asyncio.wait_for(lease.keep(work), 5)
    with pytest.raises(asyncio.CancelledError):
        await work
    assert lease.lost


async def test_a_failed_job_records_when_it_is_due_again(
    store: JobStore, pool: Pool
) -> None:
    claimed = await claim(store)
    outcome = Outcome(
        JobStatus.FAILED, final=False, changes={"reason": "x"}, retry_in_seconds=30
    )
    await store.finish(claimed, outcome)
    due = await pool.fetchval(
        "SELECT next_attempt_at - clock_timestamp() FROM report_job"
    )
    assert 25 < due.total_seconds() <= 30
    assert (await lease_of(pool))["lease_owner"] is None


async def test_only_one_retrial_producer_holds_the_lock(database_url: str) -> None:
    first = await asyncpg.connect(database_url)
    second = await asyncpg.connect(database_url)
    try:
        assert await first.fetchval(statements("retrials")["try_lock"]) is True
        assert await second.fetchval(statements("retrials")["try_lock"]) is False
        await first.close()  # the active producer's process dies
        assert await second.fetchval(statements("retrials")["try_lock"]) is True
    finally:
        await second.close()
        if not first.is_closed():
            await first.close()


async def test_due_jobs_are_the_failed_due_and_the_stalled(
    store: JobStore, pool: Pool
) -> None:
    await claim(store, lease=0.01)
    await asyncio.sleep(0.05)
    (row,) = await pool.fetch(statements("retrials")["due"], 10)
    assert row["rpt_stat_cd"] == "IN_PROGRESS"
    await pool.execute(statements("retrials")["mark_republished"], [row["id"]])
    assert await pool.fetch(statements("retrials")["due"], 10) == []
    assert row["id"].hex.upper() == JOB_ID
