"""One kickoff record, taken to the end: dead-lettered, skipped or run.

`handle` returns only when the record is done, so its offset may be
committed. Outages (database, broker, storage) are waited out with capped
backoff; an unforeseen error is retried a few times and then dead-lettered
with its reason, so no record can stop the consumer.
"""

import asyncio
from typing import TypeAlias

import structlog
from aiokafka.errors import KafkaError
from aiokafka.structs import ConsumerRecord

from service.cloudevents import header_value
from service.database import OUTAGES
from service.dead_letter import DeadLetters
from service.errors import InvalidKickoff, ServiceError
from service.job_runner import JobRunner
from service.kickoff import parse_kickoff

log = structlog.get_logger(__name__)

Record: TypeAlias = ConsumerRecord[bytes, bytes]

MAX_UNEXPECTED_FAILURES = 3
"""Tries of a record that fails unexpectedly before it is dead-lettered."""


class RecordHandler:
    """Takes records to the end; safe to run for many records at once."""

    def __init__(
        self,
        runner: JobRunner,
        dead_letters: DeadLetters,
        *,
        first_pause: float = 0.5,
        longest_pause: float = 30.0,
    ) -> None:
        self._runner = runner
        self._dead_letters = dead_letters
        self._first_pause = first_pause
        self._longest_pause = longest_pause

    async def handle(self, record: Record) -> None:
        coordinates = {
            "topic": record.topic,
            "partition": record.partition,
            "offset": record.offset,
        }
        with structlog.contextvars.bound_contextvars(**coordinates):
            await self._until_done(record)

    async def _until_done(self, record: Record) -> None:
        pause = self._first_pause
        failures = 0
        while True:
            try:
                await self._process(record)
                return
            except (KafkaError, *OUTAGES) as exc:
                log.warning("kickoff_deferred", error=repr(exc), retry_in=pause)
            except ServiceError as exc:
                if exc.retryable:
                    log.warning("kickoff_deferred", error=exc.message, retry_in=pause)
                else:
                    failures += 1
                    if await self._unexpected(record, exc, failures):
                        return
            except Exception as exc:
                failures += 1
                if await self._unexpected(record, exc, failures):
                    return
            await asyncio.sleep(pause)
            pause = min(pause * 2, self._longest_pause)

    async def _process(self, record: Record) -> None:
        try:
            event = parse_kickoff(record.value)
        except InvalidKickoff as invalid:
            await self._dead_letters.send(record, invalid)
            return
        with structlog.contextvars.bound_contextvars(job_id=event.job_id):
            try:
                await self._runner.run(
                    event, header_value(record.headers, "traceparent")
                )
            except InvalidKickoff as invalid:
                await self._dead_letters.send(record, invalid)

    async def _unexpected(self, record: Record, exc: Exception, failures: int) -> bool:
        """Log a bug or an unforeseen error; dead-letter after the last try."""
        if failures < MAX_UNEXPECTED_FAILURES:
            log.warning("kickoff_failed_unexpectedly", tries=failures, exc_info=exc)
            return False
        log.error("kickoff_given_up", tries=failures, exc_info=exc)
        message = f"processing failed {failures} times: {type(exc).__name__}: {exc}"
        await self._dead_letters.send(
            record, InvalidKickoff(message, error_type="ProcessingError")
        )
        return True
