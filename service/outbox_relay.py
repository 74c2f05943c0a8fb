"""The outbox relay: publishes committed completion events to Kafka.

An event is stamped published only after the broker acknowledged it, so a
crash in between publishes it again, with the same `ce_id`, and never loses it.
"""

import asyncio
import contextlib

import asyncpg
import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from service.cloudevents import CloudEvent
from service.database import OUTAGES, Pool
from service.sql import statements
from service.wire_types import uuid_to_guid

log = structlog.get_logger(__name__)

SQL = statements("outbox")


class OutboxRelay:
    """Publishes pending outbox rows until cancelled."""

    def __init__(
        self,
        pool: Pool,
        producer: AIOKafkaProducer,
        *,
        topic: str,
        source: str,
        poll_seconds: float,
        batch_size: int = 100,
    ) -> None:
        self._pool = pool
        self._producer = producer
        self._topic = topic
        self._source = source
        self._poll_seconds = poll_seconds
        self._batch_size = batch_size
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Publish soon: a transition was just committed."""
        self._wake.set()

    async def run(self) -> None:
        """Publish, then wait for a wake-up or the poll interval; forever."""
        backoff = self._poll_seconds
        while True:
            try:
                published = await self.publish_pending()
                backoff = self._poll_seconds
            except (KafkaError, *OUTAGES) as exc:
                log.warning("outbox_publish_failed", error=repr(exc), retry_in=backoff)
                published = 0
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 30.0)
            if published < self._batch_size:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._poll_seconds)
                self._wake.clear()

    async def publish_pending(self) -> int:
        """Publish one batch of pending events; return how many."""
        async with self._pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(SQL["pending"], self._batch_size)
            if not rows:
                return 0
            sent = [await self._send(row) for row in rows]
            await asyncio.gather(*sent)
            await conn.execute(SQL["mark_published"], [row["seq"] for row in rows])
        log.debug("outbox_published", count=len(rows))
        return len(rows)

    async def _send(self, row: asyncpg.Record) -> "asyncio.Future[object]":
        job_id = uuid_to_guid(row["job_id"])
        event = CloudEvent(
            id=uuid_to_guid(row["ce_id"]),
            type=row["ce_type"],
            source=self._source,
            time=row["ce_time"],
            subject=job_id,
            traceparent=row["traceparent"],
        )
        future: asyncio.Future[object] = await self._producer.send(
            self._topic,
            key=job_id.encode(),
            value=bytes(row["payload"]),
            headers=event.headers(),
        )
        return future
