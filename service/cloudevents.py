"""CloudEvents 1.0 binary-mode Kafka headers for every event this service writes."""

from dataclasses import dataclass
from datetime import datetime

from service.wire_types import format_time

SPEC_VERSION = "1.0"
KICKOFF_TYPE = "ec.reporting.report.job.kickoff.v1"
COMPLETED_TYPE = "ec.reporting.report.job.completed.v1"
DEAD_LETTER_TYPE = "ec.reporting.report.job.kickoff.dead-lettered.v1"
CONTENT_TYPE = "application/json"

KafkaHeaders = list[tuple[str, bytes]]


@dataclass(frozen=True)
class CloudEvent:
    """The attributes of one event; the value travels as the Kafka value."""

    id: str
    type: str
    source: str
    time: datetime
    subject: str | None = None
    traceparent: str | None = None
    content_type: str = CONTENT_TYPE

    def headers(self) -> KafkaHeaders:
        pairs = [
            ("ce_specversion", SPEC_VERSION),
            ("ce_id", self.id),
            ("ce_source", self.source),
            ("ce_type", self.type),
            ("ce_time", format_time(self.time)),
            ("content-type", self.content_type),
        ]
        if self.subject is not None:
            pairs.append(("ce_subject", self.subject))
        if self.traceparent is not None:
            pairs.append(("traceparent", self.traceparent))
        return [(name, value.encode()) for name, value in pairs]


def header_value(headers: KafkaHeaders | None, name: str) -> str | None:
    """The text of a header, or None when absent or not UTF-8."""
    for key, value in headers or ():
        if key == name and value is not None:
            try:
                return value.decode()
            except UnicodeDecodeError:
                return None
    return None
