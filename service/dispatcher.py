"""Consumes kickoffs with bounded concurrency and commits what is finished.

Records of different jobs run at once, up to `max_in_flight`; records with
the same key (the jobId) run one after the other, in offset order. An offset
is committed only up to the contiguous finished prefix of its partition.
When the limit is reached the partitions are paused (the consumer keeps
polling, so the group does not think it died). On revocation and on stop,
in-flight records get a grace period to finish; the rest are cancelled, their
jobs handed back, and their offsets left uncommitted for the next owner.
"""

import asyncio
import contextlib
from collections.abc import Collection
from dataclasses import dataclass

import structlog
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError

from service.offset_tracker import OffsetTracker
from service.record_handler import Record, RecordHandler

log = structlog.get_logger(__name__)

POLL_MS = 200


@dataclass(frozen=True)
class _InFlight:
    partition: TopicPartition
    offset: int
    key: bytes | None


class Dispatcher:
    """Runs the records of one consumer as tasks, in order per key."""

    def __init__(
        self,
        consumer: AIOKafkaConsumer,
        handler: RecordHandler,
        *,
        max_in_flight: int,
        grace_seconds: float,
    ) -> None:
        self._consumer = consumer
        self._handler = handler
        self._max_in_flight = max_in_flight
        self._grace_seconds = grace_seconds
        self._tracker: OffsetTracker[TopicPartition] = OffsetTracker()
        self._tasks: dict[asyncio.Task[None], _InFlight] = {}
        self._last_by_key: dict[bytes, asyncio.Task[None]] = {}

    def subscribe(self, topic: str) -> None:
        self._consumer.subscribe([topic], listener=_Rebalance(self))

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until `stop` is set, then drain and commit."""
        try:
            while not stop.is_set():
                room = self._max_in_flight - len(self._tasks)
                if room > 0:
                    self._resume()
                    await self._fetch(room)
                else:
                    self._pause()
                    await self._wait_for_room()
                await self._commit()
        finally:
            await self._settle(self._tasks, reason="shutdown")
            await self._commit()

    async def release(self, partitions: Collection[TopicPartition]) -> None:
        """Finish or hand back the work of partitions this member loses."""
        revoked = {t: f for t, f in self._tasks.items() if f.partition in partitions}
        await self._settle(revoked, reason="revocation")
        await self._commit()
        for partition in partitions:
            self._tracker.forget(partition)

    def _dispatch(self, partition: TopicPartition, record: Record) -> None:
        self._tracker.start(partition, record.offset)
        previous = self._last_by_key.get(record.key) if record.key else None
        task = asyncio.create_task(self._in_order(previous, record))
        self._tasks[task] = _InFlight(partition, record.offset, record.key)
        if record.key:
            self._last_by_key[record.key] = task
        task.add_done_callback(self._finished)

    async def _in_order(
        self, previous: asyncio.Task[None] | None, record: Record
    ) -> None:
        if previous is not None:
            # Wait for the earlier record of this job; its outcome is its own.
            await asyncio.wait({previous})
        await self._handler.handle(record)

    def _finished(self, task: asyncio.Task[None]) -> None:
        in_flight = self._tasks.pop(task)
        if in_flight.key and self._last_by_key.get(in_flight.key) is task:
            del self._last_by_key[in_flight.key]
        if task.cancelled():
            return  # not done: the offset stays uncommitted for the next owner
        if task.exception() is not None:
            log.error("record_task_crashed", exc_info=task.exception())
            return
        self._tracker.finish(in_flight.partition, in_flight.offset)

    async def _fetch(self, room: int) -> None:
        batches = await self._consumer.getmany(timeout_ms=POLL_MS, max_records=room)
        for partition, records in batches.items():
            for record in records:
                self._dispatch(partition, record)

    async def _wait_for_room(self) -> None:
        """Until a record finishes; polling the paused consumer meanwhile, so
        the group does not count this member as gone."""
        await asyncio.wait(
            self._tasks, timeout=POLL_MS / 1000, return_when=asyncio.FIRST_COMPLETED
        )
        await self._consumer.getmany(timeout_ms=0)

    def _pause(self) -> None:
        if not self._consumer.paused():
            log.debug("partitions_paused", in_flight=len(self._tasks))
        self._consumer.pause(*self._consumer.assignment())

    def _resume(self) -> None:
        if paused := self._consumer.paused():
            self._consumer.resume(*paused)

    async def _settle(
        self,
        tasks: dict[asyncio.Task[None], _InFlight],
        *,
        reason: str,
    ) -> None:
        """Give running records the grace period, then cancel the rest."""
        running = set(tasks)
        if not running:
            return
        _, late = await asyncio.wait(running, timeout=self._grace_seconds)
        if late:
            log.warning("in_flight_work_handed_back", reason=reason, records=len(late))
            for task in late:
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait(late)

    async def _commit(self) -> None:
        offsets = self._tracker.committable()
        if not offsets:
            return
        try:
            await self._consumer.commit(offsets)
        except (CommitFailedError, IllegalStateError, KafkaError) as exc:
            # A rebalance moved a partition away; its new owner reads these
            # records again and finds their jobs already recorded.
            log.warning("offset_commit_failed", error=repr(exc))
            return
        self._tracker.committed(offsets)


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, dispatcher: Dispatcher) -> None:
        self._dispatcher = dispatcher

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        if revoked:
            log.warning("partitions_revoked", partitions=_names(revoked))
            await self._dispatcher.release(revoked)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        log.info("partitions_assigned", partitions=_names(assigned))


def _names(partitions: Collection[TopicPartition]) -> list[str]:
    return sorted(f"{p.topic}[{p.partition}]" for p in partitions)
