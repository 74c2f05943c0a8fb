"""Small tools the integration and acceptance tests share."""

import asyncio
import contextlib
import dataclasses
import json
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any, TypeAlias

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.structs import ConsumerRecord

from service.execution_log import ExecutionLog, JobStatus
from service.kafka_clients import ensure_topics
from service.kickoff import FieldSpec, Mode
from service.reports.engine import JobRequest
from service.settings import Settings
from service.wire_types import END_OF_TIME
from service.worker import Worker

Record: TypeAlias = ConsumerRecord[bytes, bytes]

JOB_ID = "6A7C29DD011241DFBE1B64399283C860"
STUDY_ID = "CFD8129A430A473C8A02F4BA5DAAD865"
RULE_LISTING = "AABB1234DD884FA1A9DC1AFDECBA1A35"
SUBJECT_LISTING = "5E1F0C6A2B7D4E8F9A0B1C2D3E4F5A6B"
USER_ID = "123E4567E89B12D3A456426614174000"
REFERENCE_TIME = datetime(2025, 10, 27, 10, 0, 0, 123000, tzinfo=UTC)


def execution_log(
    status: JobStatus, *, version: int = 1, at: datetime = REFERENCE_TIME
) -> ExecutionLog:
    """The current version of the reference example's job, in `status`."""
    return ExecutionLog(
        id=JOB_ID,
        object_version_number=version,
        rpt_id=RULE_LISTING,
        rpt_name="Rule Listing",
        rpt_format="CSV",
        rpt_stat_cd=status,
        rpt_kickoff_datetime=at,
        user_id=USER_ID,
        version_start=at,
        version_end=END_OF_TIME,
    )


def job_request(*specs: dict[str, Any], **changes: Any) -> JobRequest:
    """The reference example's job as the report engine takes it: Rule
    Listing, CSV, filtered by `specs`, with `changes` laid over."""
    reference = JobRequest(
        job_id=JOB_ID,
        mode=Mode.TEST,
        study_id=STUDY_ID,
        field_specs=[FieldSpec.model_validate(s, strict=False) for s in specs],
        ext_field_specs=[],
        rpt_id=RULE_LISTING,
        rpt_format="CSV",
        rpt_name="Rule Listing",
        user_id=USER_ID,
        kickoff_at=REFERENCE_TIME,
    )
    return dataclasses.replace(reference, **changes)


def kickoff(job_id: str = JOB_ID, **changes: Any) -> dict[str, Any]:
    """The reference page's example kickoff, as CSV, with `changes` laid over."""
    document: dict[str, Any] = {
        "jobId": job_id,
        "mode": "test",
        "studyId": STUDY_ID,
        "fieldSpecsList": [
            {
                "fieldName": "ruleState",
                "fieldType": "list",
                "fieldSequence": 1,
                "fieldValueList": ["approved"],
            }
        ],
        "extFieldSpecsList": [
            {
                "fieldName": "Rule state",
                "fieldType": "list",
                "fieldValueList": ["Approved"],
            }
        ],
        "report": {"rptId": RULE_LISTING, "rptFormat": "CSV", "userId": USER_ID},
    }
    document.update(changes)
    return document


async def publish(
    settings: Settings,
    *values: bytes | dict[str, Any],
    key: bytes | None = None,
    headers: list[tuple[str, bytes]] | None = None,
) -> None:
    """Publish kickoffs, keyed by their jobId when they have one."""
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers)
    await producer.start()
    try:
        for value in values:
            raw = json.dumps(value).encode() if isinstance(value, dict) else value
            record_key = key
            if record_key is None and isinstance(value, dict):
                record_key = str(value.get("jobId", "")).encode()
            await producer.send_and_wait(
                settings.kickoff_topic, raw, key=record_key, headers=headers or []
            )
    finally:
        await producer.stop()


async def read_topic(
    settings: Settings,
    topic: str,
    until: Callable[[list[Record]], bool],
    within: float = 60.0,
) -> list[Record]:
    """Read `topic` from the start until `until(records)` holds or time runs out."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers, enable_auto_commit=False
    )
    await consumer.start()
    records: list[Record] = []
    try:
        partitions = [
            TopicPartition(topic, p) for p in range(settings.topic_partitions)
        ]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        deadline = time.monotonic() + within
        while not until(records) and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=200)
            for batch in batches.values():
                records.extend(batch)
    finally:
        await consumer.stop()
    return records


async def completions(
    settings: Settings, count: int, within: float = 60.0
) -> list[Record]:
    return await read_topic(
        settings, settings.completion_topic, lambda r: len(r) >= count, within
    )


async def dead_letters(
    settings: Settings, count: int, within: float = 60.0
) -> list[Record]:
    return await read_topic(
        settings, settings.dead_letter_topic, lambda r: len(r) >= count, within
    )


def headers_of(record: Record) -> dict[str, str]:
    return {key: value.decode() for key, value in record.headers}


@contextlib.asynccontextmanager
async def running_worker(settings: Settings) -> AsyncIterator[None]:
    """A worker in this event loop, stopped as SIGTERM would stop it."""
    await ensure_topics(settings)
    stop = asyncio.Event()
    task = asyncio.create_task(Worker(settings).run(stop))
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, 60)


async def wait_for_status(
    settings: Settings, job_id: str, status: str, within: float = 60.0
) -> None:
    """Wait until the job's current version has `status`."""
    conn = await asyncpg.connect(settings.database_url)
    try:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            current = await conn.fetchval(
                "SELECT rpt_stat_cd FROM execution_log"
                " WHERE id = $1 AND version_end = '3099-12-31'",
                job_id,
            )
            if current == status:
                return
            await asyncio.sleep(0.1)
        raise AssertionError(f"job {job_id} is {current}, not {status}")
    finally:
        await conn.close()
