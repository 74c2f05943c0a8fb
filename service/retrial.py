"""The retrial producer: re-publishes the kickoffs of jobs due another attempt.

Two kinds of job are due: FAILED ones whose backoff has passed (they failed
with a retryable error and attempts remain), and IN_PROGRESS ones whose
worker stopped heartbeating past its lease. Their kickoffs go back on the
kickoff topic, and whichever worker consumes them claims the job again.
A stalled job that has used every attempt is failed for good instead.

It runs inside every `report-worker run` (or alone as `report-worker
retrial`), but only one instance is active at a time: the one holding a
PostgreSQL advisory lock. The lock belongs to a connection, so when the
active process dies another one takes over at its next poll.
"""

import asyncio
import json
import uuid
from datetime import UTC, datetime

import asyncpg
import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from service.cloudevents import KICKOFF_TYPE, CloudEvent
from service.database import OUTAGES, DatabaseUnavailable, Pool, connect
from service.errors import JobNotFound, VersionConflict
from service.execution_log import JobStatus
from service.job_store import Attempt, JobStore, Outcome
from service.sql import statements
from service.wire_types import uuid_to_guid

log = structlog.get_logger(__name__)

SQL = statements("retrials")
_NAMESPACE = uuid.UUID("6C0B6F0E-5A51-4A53-9F57-1C8B3E1A2D44")


class RetrialProducer:
    """Finds due jobs and puts their kickoffs back on the topic."""

    def __init__(
        self,
        *,
        database_url: str,
        pool: Pool,
        store: JobStore,
        producer: AIOKafkaProducer,
        kickoff_topic: str,
        source: str,
        max_attempts: int,
        poll_seconds: float,
        batch_size: int = 200,
    ) -> None:
        self._database_url = database_url
        self._pool = pool
        self._store = store
        self._producer = producer
        self._topic = kickoff_topic
        self._source = source
        self._max_attempts = max_attempts
        self._poll_seconds = poll_seconds
        self._batch_size = batch_size

    async def run(self) -> None:
        """Stand by, or produce while holding the lock; until cancelled."""
        while True:
            try:
                await self._lead_or_wait()
            except (KafkaError, DatabaseUnavailable, *OUTAGES) as exc:
                # connect() reports an unreachable server as DatabaseUnavailable:
                # wait it out like any outage, or no job is ever retried again.
                log.warning("retrial_producer_interrupted", error=repr(exc))
            await asyncio.sleep(self._poll_seconds)

    async def _lead_or_wait(self) -> None:
        lock_holder = await connect(self._database_url)
        try:
            if not await lock_holder.fetchval(SQL["try_lock"]):
                log.debug("retrial_producer_standing_by")
                return
            log.info("retrial_producer_active")
            while True:
                await self.republish_due()
                await lock_holder.execute("SELECT 1")  # still holding the lock?
                await asyncio.sleep(self._poll_seconds)
        finally:
            await lock_holder.close()

    async def republish_due(self) -> int:
        """One pass: re-publish (or give up on) every due job; return how many."""
        rows = await self._pool.fetch(SQL["due"], self._batch_size)
        republished = []
        for row in rows:
            job_id = uuid_to_guid(row["id"])
            with structlog.contextvars.bound_contextvars(job_id=job_id):
                if self._exhausted(row):
                    await self._give_up(job_id, row["attempt"])
                    continue
                await self._republish(row)
                republished.append(row["id"])
        if republished:
            await self._pool.execute(SQL["mark_republished"], republished)
        return len(rows)

    def _exhausted(self, row: asyncpg.Record) -> bool:
        stalled = row["rpt_stat_cd"] == JobStatus.IN_PROGRESS.value
        return stalled and bool(row["attempt"] >= self._max_attempts)

    async def _republish(self, row: asyncpg.Record) -> None:
        job_id = uuid_to_guid(row["id"])
        event = {
            "jobId": job_id,
            "mode": row["mode"],
            "studyId": uuid_to_guid(row["study_id"]) if row["study_id"] else None,
            "fieldSpecsList": row["field_specs"],
            "extFieldSpecsList": row["ext_field_specs"],
        }
        cloud_event = CloudEvent(
            # The same retrial of the same attempt always has the same id.
            id=uuid.uuid5(_NAMESPACE, f"{job_id}/{row['attempt']}").hex.upper(),
            type=KICKOFF_TYPE,
            source=self._source,
            time=datetime.now(UTC),
            subject=job_id,
        )
        await self._producer.send_and_wait(
            self._topic,
            key=job_id.encode(),
            value=json.dumps(event).encode(),
            headers=cloud_event.headers(),
        )
        log.info(
            "kickoff_republished",
            status=row["rpt_stat_cd"],
            attempts_so_far=row["attempt"],
        )

    async def _give_up(self, job_id: str, attempts: int) -> None:
        """Fail a job whose every attempt stalled: it is not tried again."""
        try:
            current = await self._store.current(job_id)
            reason = (
                f"abandoned after {attempts} attempts: each time, the worker "
                "running it stopped before finishing"
            )
            outcome = Outcome(JobStatus.FAILED, final=True, changes={"reason": reason})
            await self._store.finish(Attempt(current, attempts), outcome)
        except (JobNotFound, VersionConflict):
            return  # it moved on meanwhile
        log.error("job_abandoned", attempts=attempts)
