"""Job throughput: the whole path (Kafka, job store, outbox) against the bare
report engine producing the same reports, side by side in one run.

    python -m bench.pipeline --jobs 200

needs the services of `make services` (or REPORTS_* pointing at others). It
works in a database and topics of its own and removes the database after.
"""

import argparse
import asyncio
import json
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from tempfile import TemporaryDirectory

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from bench.throwaway import create_seeded_database, remove_database
from service.database import create_pool
from service.kafka_clients import ensure_topics
from service.logs import configure_logging
from service.reports.engine import generate, plan_report
from service.reports.templates import builtin_templates
from service.settings import Settings
from service.storage import ReportStorage
from service.worker import Worker
from tests.helpers import job_request

RULE_LISTING = "AABB1234DD884FA1A9DC1AFDECBA1A35"
STUDY_ID = "CFD8129A430A473C8A02F4BA5DAAD865"
USER_ID = "123E4567E89B12D3A456426614174000"


@dataclass(frozen=True)
class Result:
    path: str
    jobs: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.jobs / self.seconds


def kickoff(job_id: str) -> bytes:
    return json.dumps(
        {
            "jobId": job_id,
            "mode": "test",
            "studyId": STUDY_ID,
            "report": {"rptId": RULE_LISTING, "rptFormat": "CSV", "userId": USER_ID},
        }
    ).encode()


async def bare_engine(settings: Settings, jobs: int) -> Result:
    """The report engine alone: plan, query, write CSV, store; no job state."""
    pool = await create_pool(settings.database_url, max_size=2)
    storage = ReportStorage(settings.storage_url)
    request = job_request(job_id=uuid.uuid4().hex.upper())
    plan = plan_report(builtin_templates(), request)
    started = time.perf_counter()
    for _ in range(jobs):
        await generate(pool, storage, plan, request, uuid.uuid4().hex.upper())
    elapsed = time.perf_counter() - started
    await pool.close()
    return Result("bare report engine", jobs, elapsed)


async def whole_path(settings: Settings, jobs: int, in_flight: int) -> Result:
    """Kickoffs on the topic to completion events on the topic, one worker.

    The clock starts after one warm-up job, so group join and connection set-up
    are not counted.
    """
    suffix = uuid.uuid4().hex[:8]
    settings = settings.model_copy(
        update={
            "max_in_flight": in_flight,
            "kickoff_topic": f"bench-kickoff-{suffix}",
            "completion_topic": f"bench-completed-{suffix}",
            "dead_letter_topic": f"bench-dlq-{suffix}",
            "consumer_group": f"bench-{suffix}",
        }
    )
    await ensure_topics(settings)
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers)
    consumer = AIOKafkaConsumer(
        settings.completion_topic,
        bootstrap_servers=settings.kafka_bootstrap_servers,
        auto_offset_reset="earliest",
    )
    await producer.start()
    await consumer.start()
    stop = asyncio.Event()
    worker = asyncio.create_task(Worker(settings).run(stop))
    try:
        await _publish(producer, settings, 1)
        await _await_completions(consumer, 1)
        started = time.perf_counter()
        await _publish(producer, settings, jobs)
        await _await_completions(consumer, jobs)
        elapsed = time.perf_counter() - started
    finally:
        stop.set()
        await worker
        await consumer.stop()
        await producer.stop()
    return Result(f"whole path, {in_flight} in flight", jobs, elapsed)


async def _publish(producer: AIOKafkaProducer, settings: Settings, jobs: int) -> None:
    for _ in range(jobs):
        job_id = uuid.uuid4().hex.upper()
        await producer.send(
            settings.kickoff_topic, kickoff(job_id), key=job_id.encode()
        )
    await producer.flush()


async def _await_completions(consumer: AIOKafkaConsumer, count: int) -> None:
    seen = 0
    while seen < count:
        batches = await consumer.getmany(timeout_ms=500)
        seen += sum(len(batch) for batch in batches.values())


async def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=300)
    parser.add_argument("--in-flight", type=int, nargs="+", default=[1, 4, 8])
    args = parser.parse_args(argv)
    base = Settings()
    configure_logging(base.model_copy(update={"log_level": "warning"}))
    name = f"reports_bench_{uuid.uuid4().hex[:8]}"
    url = await create_seeded_database(base.database_url, name)
    try:
        with TemporaryDirectory() as folder:
            settings = base.model_copy(
                update={
                    "database_url": url,
                    "storage_url": Path(folder).as_uri(),
                    "relay_poll_seconds": 0.1,
                }
            )
            results = [await bare_engine(settings, args.jobs)]
            for in_flight in args.in_flight:
                results.append(await whole_path(settings, args.jobs, in_flight))
    finally:
        await remove_database(base.database_url, name)
    print_table(results)


def print_table(results: list[Result]) -> None:
    baseline = results[0].rate
    print(f"\n{'path':<36} {'jobs':>6} {'seconds':>8} {'jobs/s':>8} {'ratio':>6}")
    for r in results:
        print(
            f"{r.path:<36} {r.jobs:>6} {r.seconds:>8.2f} {r.rate:>8.1f} "
            f"{r.rate / baseline:>6.2f}"
        )


if __name__ == "__main__":
    asyncio.run(main())
