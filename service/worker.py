"""The worker: consumes kickoffs, runs their jobs, relays completion events.

A record's offset is committed only after the database commit of what it
carried (a job's finished attempt or nothing), so a crash replays it and the
job store's version check makes the replay harmless.
"""

import asyncio
import contextlib
import os
import socket

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from service import __version__
from service.database import Pool, create_pool
from service.dead_letter import DeadLetters
from service.dispatcher import Dispatcher
from service.job_runner import JobRunner
from service.job_store import JobStore
from service.kafka_clients import ensure_topics, kickoff_consumer, producer
from service.outbox_relay import OutboxRelay
from service.record_handler import RecordHandler
from service.reports.templates import builtin_templates
from service.retrial import RetrialProducer
from service.retry_policy import RetryPolicy
from service.settings import Settings
from service.storage import ReportStorage

log = structlog.get_logger(__name__)


def software_version_number() -> float:
    """`major.minor` of the installed package, as the ExecutionLog's number."""
    major, _, rest = __version__.partition(".")
    minor = rest.partition(".")[0] or "0"
    return float(f"{int(major)}.{int(minor)}")


def worker_id() -> str:
    return f"{socket.gethostname()}/{os.getpid()}"


class Worker:
    """One member of the consumer group, from start-up to a clean stop."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    async def run(self, stop: asyncio.Event) -> None:
        """Work until `stop` is set, then finish or hand back in-flight work."""
        settings = self._settings
        await ensure_topics(settings)
        # a connection per job in flight, and two for the relay and retrials
        pool = await create_pool(
            settings.database_url, max_size=settings.max_in_flight + 2
        )
        kafka_producer = producer(settings)
        consumer = kickoff_consumer(settings)
        try:
            await kafka_producer.start()
            log.info("worker_started", worker=worker_id(), topic=settings.kickoff_topic)
            await self._serve(stop, pool, kafka_producer, consumer)
        finally:
            await consumer.stop()
            await kafka_producer.stop()
            await pool.close()
            log.info("worker_stopped")

    async def _serve(
        self,
        stop: asyncio.Event,
        pool: Pool,
        kafka_producer: AIOKafkaProducer,
        consumer: AIOKafkaConsumer,
    ) -> None:
        settings = self._settings
        relay = OutboxRelay(
            pool,
            kafka_producer,
            topic=settings.completion_topic,
            source=settings.cloudevents_source,
            poll_seconds=settings.relay_poll_seconds,
        )
        background = []
        if settings.relay_enabled:
            background.append(asyncio.create_task(relay.run()))
        if settings.retrial_enabled:
            retrials = retrial_producer(settings, pool, kafka_producer)
            background.append(asyncio.create_task(retrials.run()))
        dispatcher = Dispatcher(
            consumer,
            self._handler(pool, kafka_producer, relay),
            max_in_flight=settings.max_in_flight,
            grace_seconds=settings.shutdown_grace_seconds,
        )
        dispatcher.subscribe(settings.kickoff_topic)
        await consumer.start()
        try:
            await dispatcher.run(stop)
        finally:
            for task in background:
                task.cancel()
            await asyncio.gather(*background, return_exceptions=True)
            if settings.relay_enabled:
                await _flush(relay)

    def _handler(
        self, pool: Pool, kafka_producer: AIOKafkaProducer, relay: OutboxRelay
    ) -> RecordHandler:
        settings = self._settings
        runner = JobRunner(
            store=job_store(settings, pool),
            pool=pool,
            storage=ReportStorage(settings.storage_url),
            catalogue=builtin_templates(),
            policy=RetryPolicy(max_attempts=settings.max_attempts),
            owner=worker_id(),
            lease_seconds=settings.lease_seconds,
            on_finished=relay.wake,
        )
        dead_letters = DeadLetters(
            kafka_producer, settings.dead_letter_topic, settings.cloudevents_source
        )
        return RecordHandler(runner, dead_letters)


def job_store(settings: Settings, pool: Pool) -> JobStore:
    return JobStore(
        pool,
        cloudevents_source=settings.cloudevents_source,
        software_version=software_version_number(),
    )


def retrial_producer(
    settings: Settings, pool: Pool, kafka_producer: AIOKafkaProducer
) -> RetrialProducer:
    return RetrialProducer(
        database_url=settings.database_url,
        pool=pool,
        store=job_store(settings, pool),
        producer=kafka_producer,
        kickoff_topic=settings.kickoff_topic,
        source=settings.cloudevents_source,
        max_attempts=settings.max_attempts,
        poll_seconds=settings.retrial_poll_seconds,
    )


async def _flush(relay: OutboxRelay) -> None:
    """Publish what the last attempts queued; whatever fails here stays in the
    outbox for the next worker's relay."""
    with contextlib.suppress(Exception):
        async with asyncio.timeout(10):
            while await relay.publish_pending():
                pass
