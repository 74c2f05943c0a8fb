"""The dead-letter topic: invalid kickoffs, byte for byte, with the reason."""

import uuid
from datetime import UTC, datetime

import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.structs import ConsumerRecord

from service import cloudevents
from service.cloudevents import CloudEvent, header_value
from service.errors import InvalidKickoff
from service.wire_types import normalize_guid

log = structlog.get_logger(__name__)

_NAMESPACE = uuid.UUID("0F1B9B7E-3C2A-4C51-9A57-5F0DB8E0C6A1")
MAX_MESSAGE_LENGTH = 4000


def dead_letter_id(topic: str, partition: int, offset: int) -> str:
    """One id per consumed record, so a repeated dead letter can be recognized."""
    return uuid.uuid5(_NAMESPACE, f"{topic}/{partition}/{offset}").hex.upper()


def dead_letter_headers(
    record: ConsumerRecord[bytes, bytes], error: InvalidKickoff, source: str
) -> cloudevents.KafkaHeaders:
    """CloudEvents headers plus the error and the record's coordinates."""
    event = CloudEvent(
        id=dead_letter_id(record.topic, record.partition, record.offset),
        type=cloudevents.DEAD_LETTER_TYPE,
        source=source,
        time=datetime.now(UTC),
        subject=_job_id_of(record),
        traceparent=header_value(record.headers, "traceparent"),
        content_type="application/octet-stream"
        if error.error_type == "NotJson"
        else cloudevents.CONTENT_TYPE,
    )
    return [
        *event.headers(),
        ("error.type", error.error_type.encode()),
        ("error.message", error.message[:MAX_MESSAGE_LENGTH].encode()),
        ("original.topic", record.topic.encode()),
        ("original.partition", str(record.partition).encode()),
        ("original.offset", str(record.offset).encode()),
    ]


class DeadLetters:
    """Publishes rejected kickoffs to the dead-letter topic."""

    def __init__(self, producer: AIOKafkaProducer, topic: str, source: str) -> None:
        self._producer = producer
        self._topic = topic
        self._source = source

    async def send(
        self, record: ConsumerRecord[bytes, bytes], error: InvalidKickoff
    ) -> None:
        """Publish and wait for the broker's acknowledgement."""
        await self._producer.send_and_wait(
            self._topic,
            key=record.key,
            value=record.value,
            headers=dead_letter_headers(record, error, self._source),
        )
        log.warning(
            "kickoff_dead_lettered",
            error_type=error.error_type,
            reason=error.message[:500],
            dead_letter_topic=self._topic,
        )


def _job_id_of(record: ConsumerRecord[bytes, bytes]) -> str | None:
    """The record key as a GUID, when it is one."""
    try:
        return normalize_guid((record.key or b"").decode())
    except (UnicodeDecodeError, ValueError):
        return None
