"""Faults while jobs run: workers SIGKILLed, the broker and PostgreSQL restarted.

Small runs of `bench.chaos` (two `report-worker run` subprocesses, a database,
topics and folder of their own), each held to every invariant the harness
checks; then the service defects those runs exposed, one test each.
"""

import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse

import asyncpg
import pytest

from bench.chaos import (
    BREACHES,
    ChaosPlan,
    ChaosResult,
    CompletionSeen,
    FaultKind,
    Version,
    examine,
    run_chaos,
    why_services_cannot_restart,
)
from service import retrial
from service.database import DatabaseUnavailable, connect
from service.job_runner import attempt_file_storage_id
from service.settings import Settings
from service.storage import ReportStorage, object_key
from service.wire_types import END_OF_TIME
from tests.acceptance.test_retrials_and_groups import claimed_elsewhere, fast
from tests.helpers import JOB_ID, running_worker, wait_for_status

pytestmark = pytest.mark.acceptance


def small_run(
    *,
    kills: int = 0,
    broker_restarts: int = 0,
    db_restarts: int = 0,
    fault_span: tuple[float, float] = (0.05, 0.4),
    publish_per_second: float = 10,
) -> ChaosPlan:
    """Sixty jobs, paced, and the given faults early in the run, with waits
    sized for CI: unpaced, sixty jobs are done in a second or two."""
    return ChaosPlan(
        jobs=60,
        kills=kills,
        broker_restarts=broker_restarts,
        db_restarts=db_restarts,
        fault_span=fault_span,
        publish_per_second=publish_per_second,
        stall_seconds=60,
        time_limit_seconds=120,
        drain_seconds=60,
    )


@pytest.fixture
def services(service_addresses: tuple[str, str]) -> Settings:
    """The broker and the admin database URL; a run makes its own database."""
    kafka, admin_url = service_addresses
    return Settings(kafka_bootstrap_servers=kafka, database_url=admin_url)


async def skip_unless_restartable(services: Settings) -> None:
    reason = await why_services_cannot_restart(services)
    if reason is not None:
        pytest.skip(
            "restarts are only possible on the services deploy/services.sh "
            f"runs: {reason}"
        )


async def survives(services: Settings, folder: Path, plan: ChaosPlan) -> ChaosResult:
    """Run `plan` and hold it to every invariant."""
    result = await run_chaos(plan, services, folder=folder, narrate=print)
    print(result.report())
    assert result.violations() == []
    return result


def struck_mid_run(result: ChaosResult) -> bool:
    return all(s.finished_before < result.plan.jobs for s in result.struck)


async def test_jobs_survive_workers_killed_mid_report(
    services: Settings, tmp_path: Path
) -> None:
    # A SIGKILLed member stalls the whole group until its session times out
    # (10 s): the rebalance its restart starts waits for it. Kickoffs keep
    # coming for longer than that, so the second kill too strikes mid-run.
    plan = small_run(kills=2, fault_span=(0.05, 0.3), publish_per_second=3)
    result = await survives(services, tmp_path, plan)
    assert result.count(FaultKind.KILL_WORKER) == 2
    assert struck_mid_run(result)
    # A kill waits (a little) for its worker to hold a job; at least one must
    # have found one, or the run tested restarts of idle workers only.
    assert any(s.jobs_held for s in result.struck), "no kill cut a job short"


async def test_jobs_survive_a_broker_restart_mid_run(
    services: Settings, tmp_path: Path
) -> None:
    await skip_unless_restartable(services)
    plan = small_run(broker_restarts=1)
    result = await survives(services, tmp_path, plan)
    assert result.count(FaultKind.RESTART_BROKER) == 1
    assert struck_mid_run(result)


async def test_jobs_survive_a_database_restart_mid_run(
    services: Settings, tmp_path: Path
) -> None:
    await skip_unless_restartable(services)
    plan = small_run(db_restarts=1)
    result = await survives(services, tmp_path, plan)
    assert result.count(FaultKind.RESTART_DATABASE) == 1
    assert struck_mid_run(result)


def test_the_invariant_checks_catch_each_breach() -> None:
    at = [datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=s) for s in range(3)]

    def version(
        job: str, number: int, status: str, start: int, file: str | None = None
    ) -> Version:
        end = at[start + 1] if status in ("SUBMITTED", "FAILED") else END_OF_TIME
        return Version(job, number, status, at[start], end, file, "CSV")

    versions = [
        version("A", 1, "SUBMITTED", 0),
        dataclasses.replace(version("A", 2, "SUCCESS", 1, "FA"), end=at[2]),
        version("A", 3, "SUCCESS", 2, "FB"),  # doubled, and no event for it
        version("C", 1, "SUBMITTED", 0),
        version("C", 3, "IN_PROGRESS", 1),  # lost, in progress, a gap
    ]
    events = [
        CompletionSeen("A", 2, "SUCCESS", "E1"),
        CompletionSeen("A", 2, "SUCCESS", "E2"),  # a second ce_id
        CompletionSeen("D", 1, "SUCCESS", "E3"),  # a transition that never was
    ]
    files = ["FB.csv#1", "FZ.csv"]  # FB.csv missing, FZ an orphan
    found = examine(["A", "C", "E"], versions, events, files)
    assert {name: getattr(found, name) for name in BREACHES} == {
        "lost": 2,  # C is IN_PROGRESS, E was never seen
        "doubled": 1,
        "broken_histories": 1,
        "in_progress": 1,
        "missing_events": 1,
        "duplicate_ce_ids": 1,
        "phantom_events": 1,
        "orphan_files": 1,
        "missing_files": 1,
        "partial_uploads": 1,
    }


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def test_a_report_an_attempt_stored_but_never_recorded_is_removed(
    settings: Settings,
) -> None:
    # A worker claimed the job, stored its report and died before recording
    # it: no version names the file. The attempt that takes over removes it.
    store, dead = await claimed_elsewhere(settings, lease=0.5)
    storage = ReportStorage(settings.storage_url)
    unrecorded = object_key(attempt_file_storage_id(JOB_ID, dead.attempt), "csv")
    await storage.put_stream(unrecorded, _chunks(b"Rule,State\r\n"))
    folder = Path(urlparse(settings.storage_url).path)
    (folder / f"{unrecorded}#3").write_bytes(b"Rule,")  # an upload cut short

    async with running_worker(fast(settings)):
        await wait_for_status(settings, JOB_ID, "SUCCESS")

    current = await store.current(JOB_ID)
    assert [p.name for p in folder.iterdir()] == [f"{current.file_storage_id}.csv"]


async def test_the_retrial_producer_outlives_a_database_outage(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Only a retrial can rescue this job: no kickoff of it is on the topic.
    await claimed_elsewhere(settings, lease=0.5)
    refusals = iter(range(2))

    async def reach_after_an_outage(database_url: str) -> asyncpg.Connection:
        if next(refusals, None) is not None:
            raise DatabaseUnavailable("cannot reach PostgreSQL (a test's outage)")
        return await connect(database_url)

    monkeypatch.setattr(retrial, "connect", reach_after_an_outage)
    async with running_worker(fast(settings)):
        await wait_for_status(settings, JOB_ID, "SUCCESS", within=30)
