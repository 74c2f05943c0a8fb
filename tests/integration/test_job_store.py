"""The job store against a real PostgreSQL: versions, races, the outbox."""

import asyncio
import json
from typing import Any

import asyncpg
import pytest

from bench.throwaway import drop_database
from service.database import Pool
from service.errors import VersionConflict
from service.execution_log import JobStatus
from service.job_store import Claimed, JobStore, Outcome, Skipped, SkipReason
from service.kickoff import KickoffEvent
from service.migrations import available_migrations, migrate
from tests.helpers import JOB_ID, kickoff

pytestmark = pytest.mark.integration


def event(**changes: Any) -> KickoffEvent:
    return KickoffEvent.model_validate_json(json.dumps(kickoff(**changes)))


def without_report() -> KickoffEvent:
    document = kickoff()
    del document["report"]
    return KickoffEvent.model_validate_json(json.dumps(document))


async def accept(store: JobStore, kick: KickoffEvent, owner: str) -> Claimed | Skipped:
    return await store.accept(
        kick, default_rpt_name="Rule Listing", owner=owner, lease_seconds=60
    )


def failed(reason: str = "boom") -> Outcome:
    return Outcome(JobStatus.FAILED, final=False, changes={"reason": reason})


async def test_two_racing_claims_of_one_job_one_wins_and_the_loser_changes_nothing(
    store: JobStore,
) -> None:
    await store.submit(event(), default_rpt_name="Rule Listing")
    results = await asyncio.gather(
        *(accept(store, without_report(), f"worker-{n}") for n in range(4))
    )
    winners = [r for r in results if isinstance(r, Claimed)]
    losers = [r for r in results if isinstance(r, Skipped)]
    assert len(winners) == 1
    assert {r.reason for r in losers} <= {SkipReason.LOST_RACE, SkipReason.RUNNING}
    history = await store.history(JOB_ID)
    assert [v.rpt_stat_cd for v in history] == [
        JobStatus.SUBMITTED,
        JobStatus.IN_PROGRESS,
    ]


async def test_a_stale_write_raises_version_conflict_and_writes_nothing(
    store: JobStore, pool: Pool
) -> None:
    claimed = await accept(store, event(), "worker-a")
    assert isinstance(claimed, Claimed)
    await store.finish(claimed, failed("first"))
    before = await store.history(JOB_ID)

    with pytest.raises(VersionConflict):
        await store.finish(claimed, failed("second, from a stale read"))

    assert await store.history(JOB_ID) == before
    assert await pool.fetchval("SELECT count(*) FROM outbox") == 1


async def test_a_failed_job_is_claimed_again_on_the_next_kickoff(
    store: JobStore,
) -> None:
    first = await accept(store, event(), "worker-a")
    assert isinstance(first, Claimed)
    await store.finish(first, failed())
    second = await accept(store, without_report(), "worker-b")
    assert isinstance(second, Claimed)
    assert second.attempt == 2
    assert second.log.object_version_number == 4
    assert second.log.reason is None


async def test_a_running_job_with_a_live_lease_is_left_alone(store: JobStore) -> None:
    assert isinstance(await accept(store, event(), "worker-a"), Claimed)
    skipped = await accept(store, without_report(), "worker-b")
    assert isinstance(skipped, Skipped)
    assert skipped.reason is SkipReason.RUNNING


async def test_an_expired_lease_lets_another_worker_rescue_the_job(
    store: JobStore, pool: Pool
) -> None:
    stale = await accept(store, event(), "worker-a")
    assert isinstance(stale, Claimed)
    await pool.execute(
        "UPDATE report_job SET lease_expires_at = clock_timestamp() - interval '1 s'"
    )
    rescued = await accept(store, without_report(), "worker-b")
    assert isinstance(rescued, Claimed)
    with pytest.raises(VersionConflict):  # the original worker's late write
        await store.finish(stale, failed())


async def test_finish_queues_one_completion_in_the_same_commit(
    store: JobStore, pool: Pool
) -> None:
    claimed = await accept(store, event(), "worker-a")
    assert isinstance(claimed, Claimed)
    finished = await store.finish(claimed, failed("no luck"))
    row = await pool.fetchrow("SELECT * FROM outbox")
    assert row is not None
    assert row["object_version_number"] == finished.object_version_number
    assert row["ce_time"] == finished.version_start
    payload = json.loads(row["payload"])
    assert payload["executionLog"]["reason"] == "no luck"
    assert payload["final"] is False


async def test_migrations_are_safe_twice_and_from_two_processes_at_once(
    service_addresses: tuple[str, str],
) -> None:
    _, admin_url = service_addresses
    name = "reports_test_migrate_race"
    admin = await asyncpg.connect(admin_url)
    await drop_database(admin, name)
    await admin.execute(f"CREATE DATABASE {name}")
    url = admin_url.rsplit("/", 1)[0] + "/" + name
    try:
        connections = [await asyncpg.connect(url) for _ in range(2)]
        results = await asyncio.gather(*(migrate(c) for c in connections))
        assert sorted(len(applied) for applied in results) == [
            0,
            len(available_migrations()),
        ]
        assert await migrate(connections[0]) == []
        for conn in connections:
            await conn.close()
    finally:
        await drop_database(admin, name)
        await admin.close()
