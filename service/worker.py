"""The worker: consumes kickoffs, runs their jobs, relays completion events.

A record's offset is committed only after the database commit of what it
carried (a job's finished attempt or nothing), so a crash replays it and the
job store's version check makes the replay harmless.
"""

import asyncio
import contextlib
import os
import socket
from dataclasses import dataclass
from typing import TypeAlias

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError
from aiokafka.structs import ConsumerRecord

from service import __version__
from service.cloudevents import header_value
from service.database import OUTAGES, Pool, create_pool
from service.dead_letter import DeadLetters
from service.errors import InvalidKickoff, ServiceError
from service.job_runner import JobRunner
from service.job_store import JobStore
from service.kafka_clients import ensure_topics, kickoff_consumer, producer
from service.kickoff import parse_kickoff
from service.outbox_relay import OutboxRelay
from service.reports.templates import builtin_templates
from service.retry_policy import RetryPolicy
from service.settings import Settings
from service.storage import ReportStorage

log = structlog.get_logger(__name__)

Record: TypeAlias = ConsumerRecord[bytes, bytes]

MAX_HANDLING_ATTEMPTS = 3
"""Tries of a record that fails unexpectedly before it is dead-lettered."""


def software_version_number() -> float:
    """`major.minor` of the installed package, as the ExecutionLog's number."""
    major, _, rest = __version__.partition(".")
    minor = rest.partition(".")[0] or "0"
    return float(f"{int(major)}.{int(minor)}")


def worker_id() -> str:
    return f"{socket.gethostname()}/{os.getpid()}"


@dataclass
class _Failures:
    """Unexpected failures per record, for retry and then dead letter."""

    counts: dict[tuple[str, int, int], int]

    def add(self, record: Record) -> int:
        key = (record.topic, record.partition, record.offset)
        self.counts[key] = self.counts.get(key, 0) + 1
        return self.counts[key]

    def forget(self, record: Record) -> None:
        self.counts.pop((record.topic, record.partition, record.offset), None)


class Worker:
    """One member of the consumer group, from start-up to a clean stop."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._failures = _Failures({})
        self._retry_pause = 1.0

    async def run(self, stop: asyncio.Event) -> None:
        """Work until `stop` is set, then finish or hand back in-flight work."""
        settings = self._settings
        await ensure_topics(settings)
        pool = await create_pool(settings.database_url, max_size=4)
        kafka_producer = producer(settings)
        consumer = kickoff_consumer(settings)
        try:
            await kafka_producer.start()
            await consumer.start()
            relay = OutboxRelay(
                pool,
                kafka_producer,
                topic=settings.completion_topic,
                source=settings.cloudevents_source,
                poll_seconds=settings.relay_poll_seconds,
            )
            runner = self._runner(pool, relay)
            dead_letters = DeadLetters(
                kafka_producer, settings.dead_letter_topic, settings.cloudevents_source
            )
            log.info("worker_started", worker=worker_id(), topic=settings.kickoff_topic)
            await self._serve(stop, consumer, runner, dead_letters, relay)
        finally:
            await consumer.stop()
            await kafka_producer.stop()
            await pool.close()
            log.info("worker_stopped")

    def _runner(self, pool: Pool, relay: OutboxRelay) -> JobRunner:
        settings = self._settings
        store = JobStore(
            pool,
            cloudevents_source=settings.cloudevents_source,
            software_version=software_version_number(),
        )
        return JobRunner(
            store=store,
            pool=pool,
            storage=ReportStorage(settings.storage_url),
            catalogue=builtin_templates(),
            policy=RetryPolicy(max_attempts=settings.max_attempts),
            owner=worker_id(),
            lease_seconds=settings.lease_seconds,
            on_finished=relay.wake,
        )

    async def _serve(
        self,
        stop: asyncio.Event,
        consumer: AIOKafkaConsumer,
        runner: JobRunner,
        dead_letters: DeadLetters,
        relay: OutboxRelay,
    ) -> None:
        relay_task = (
            asyncio.create_task(relay.run()) if self._settings.relay_enabled else None
        )
        consuming = asyncio.create_task(
            self._consume(stop, consumer, runner, dead_letters)
        )
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait({consuming, stopping}, return_when=asyncio.FIRST_COMPLETED)
        await self._drain(consuming)
        stopping.cancel()
        if relay_task is not None:
            await self._stop_relay(relay, relay_task)

    async def _drain(self, consuming: "asyncio.Task[None]") -> None:
        """Let the record in hand finish; past the grace period, hand it back."""
        grace = self._settings.shutdown_grace_seconds
        done, _ = await asyncio.wait({consuming}, timeout=grace)
        if not done:
            log.warning("shutdown_grace_expired", grace_seconds=grace)
            consuming.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await consuming

    async def _stop_relay(
        self, relay: OutboxRelay, relay_task: "asyncio.Task[None]"
    ) -> None:
        relay_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await relay_task
        # Publish what the last attempts queued; whatever fails here stays in
        # the outbox for the next worker's relay.
        with contextlib.suppress(Exception):
            async with asyncio.timeout(10):
                while await relay.publish_pending():
                    pass

    async def _consume(
        self,
        stop: asyncio.Event,
        consumer: AIOKafkaConsumer,
        runner: JobRunner,
        dead_letters: DeadLetters,
    ) -> None:
        while not stop.is_set():
            batches = await consumer.getmany(timeout_ms=500)
            for partition, records in batches.items():
                for record in records:
                    if stop.is_set():
                        return
                    if not await self._handle(record, runner, dead_letters):
                        # Not done: read it again after a pause.
                        consumer.seek(partition, record.offset)
                        await asyncio.sleep(self._retry_pause)
                        break
                    await _commit(consumer, partition, record.offset + 1)

    async def _handle(
        self, record: Record, runner: JobRunner, dead_letters: DeadLetters
    ) -> bool:
        """Process one record; False when it must be read again later."""
        coordinates = {
            "topic": record.topic,
            "partition": record.partition,
            "offset": record.offset,
        }
        with structlog.contextvars.bound_contextvars(**coordinates):
            try:
                await self._process(record, runner, dead_letters)
            except (KafkaError, *OUTAGES) as exc:
                log.warning("kickoff_deferred", error=repr(exc), retry_in=1.0)
                return False
            except ServiceError as exc:
                if not exc.retryable:
                    return await self._unexpected(record, exc, dead_letters)
                log.warning("kickoff_deferred", error=exc.message, retry_in=1.0)
                return False
            except Exception as exc:
                return await self._unexpected(record, exc, dead_letters)
        self._failures.forget(record)
        return True

    async def _process(
        self, record: Record, runner: JobRunner, dead_letters: DeadLetters
    ) -> None:
        try:
            event = parse_kickoff(record.value)
        except InvalidKickoff as invalid:
            await dead_letters.send(record, invalid)
            return
        with structlog.contextvars.bound_contextvars(job_id=event.job_id):
            try:
                await runner.run(event, header_value(record.headers, "traceparent"))
            except InvalidKickoff as invalid:
                await dead_letters.send(record, invalid)

    async def _unexpected(
        self, record: Record, exc: Exception, dead_letters: DeadLetters
    ) -> bool:
        """A bug or an unforeseen error: retry a few times, then dead-letter."""
        tries = self._failures.add(record)
        if tries < MAX_HANDLING_ATTEMPTS:
            log.warning("kickoff_failed_unexpectedly", tries=tries, exc_info=exc)
            return False
        log.error("kickoff_given_up", tries=tries, exc_info=exc)
        message = f"processing failed {tries} times: {type(exc).__name__}: {exc}"
        error = InvalidKickoff(message, error_type="ProcessingError")
        await dead_letters.send(record, error)
        self._failures.forget(record)
        return True


async def _commit(
    consumer: AIOKafkaConsumer, partition: TopicPartition, offset: int
) -> None:
    try:
        await consumer.commit({partition: offset})
    except (CommitFailedError, IllegalStateError) as exc:
        # The partition moved to another member during a rebalance; it will
        # read this record again and find the job already recorded.
        log.warning("offset_commit_failed", error=repr(exc), offset=offset)
