"""Builds a kickoff event from a file and flags, and publishes it."""

import json
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from service.cloudevents import KICKOFF_TYPE, CloudEvent
from service.errors import InvalidKickoff
from service.kafka_clients import producer
from service.kickoff import KickoffEvent, parse_kickoff
from service.settings import Settings

REPORT_KEYS = ("rptId", "rptFormat", "userId", "comment", "rptName")


def build_kickoff(
    *,
    file: str | None,
    overrides: dict[str, str | None],
    filters: list[str],
    labels: list[str],
) -> KickoffEvent:
    """The event of `file` (if any) with the flags laid over it, validated."""
    document = _read(file) if file else {}
    report: dict[str, Any] = dict(document.get("report") or {})
    for key, value in overrides.items():
        if value is None:
            continue
        if key in REPORT_KEYS:
            report[key] = value
        else:
            document[key] = value
    if report:
        document["report"] = report
    document.setdefault("jobId", uuid.uuid4().hex.upper())
    if filters:
        document["fieldSpecsList"] = [_spec(text, n) for n, text in enumerate(filters)]
    if labels:
        document["extFieldSpecsList"] = [_spec(text, None) for text in labels]
    return parse_kickoff(json.dumps(document).encode())


async def publish_kickoff(
    settings: Settings, event: KickoffEvent, *, traceparent: str | None = None
) -> dict[str, object]:
    """Publish to the kickoff topic, keyed by jobId; return where it landed."""
    cloud_event = CloudEvent(
        id=uuid.uuid4().hex.upper(),
        type=KICKOFF_TYPE,
        source=settings.cloudevents_source,
        time=datetime.now(UTC),
        subject=event.job_id,
        traceparent=traceparent,
    )
    kafka = producer(settings)
    await kafka.start()
    try:
        metadata = await kafka.send_and_wait(
            settings.kickoff_topic,
            key=event.job_id.encode(),
            value=event.model_dump_json(by_alias=True, exclude_none=True).encode(),
            headers=cloud_event.headers(),
        )
    finally:
        await kafka.stop()
    return {
        "jobId": event.job_id,
        "topic": metadata.topic,
        "partition": metadata.partition,
        "offset": metadata.offset,
    }


def _read(file: str) -> dict[str, Any]:
    try:
        text = sys.stdin.read() if file == "-" else Path(file).read_text()
        document = json.loads(text)
    except OSError as exc:
        raise InvalidKickoff(f"--file: cannot read {file}: {exc.strerror}") from exc
    except json.JSONDecodeError as exc:
        raise InvalidKickoff(f"--file: {file} is not valid JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise InvalidKickoff(f"--file: {file} must hold one JSON object")
    return document


def _spec(text: str, sequence: int | None) -> dict[str, Any]:
    name, kind, values = [*text.split(":", 2), "", ""][:3]
    if not name or not kind or not values:
        raise InvalidKickoff(
            f"filter {text!r}: write NAME:TYPE:VALUE[,VALUE], "
            "e.g. ruleState:list:approved,published"
        )
    spec: dict[str, Any] = {
        "fieldName": name,
        "fieldType": kind,
        "fieldValueList": values.split(","),
    }
    if sequence is not None:
        spec["fieldSequence"] = sequence
    return spec
