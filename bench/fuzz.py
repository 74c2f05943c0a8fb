"""Dead-letter throughput: fuzzed kickoffs, nine in ten malformed, through one
worker, until every one is dead-lettered or completed.

    python -m bench.fuzz --events 10000

needs the services of `make services` (or REPORTS_* pointing at others). It
works in a database and topics of its own and removes them after.

The events come from the strategies in tests/fuzz_strategies.py: every kind of
malformed kickoff in equal shares, and valid Rule Listing kickoffs. They are
drawn under `@given` with a fixed seed (`fuzz_strategies.examples`), so every
run publishes the same bytes; `strategy.example()` warns outside a REPL and
cannot be seeded. Drawing is not timed; the clock runs from the first publish
to the last dead letter or completion event, after one warm-up job.
"""

import argparse
import asyncio
import json
import math
import random
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from tempfile import TemporaryDirectory
from urllib.parse import urlsplit

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from bench.pipeline import kickoff
from bench.throwaway import create_seeded_database, delete_topics, remove_database
from service.kafka_clients import ensure_topics
from service.logs import configure_logging
from service.settings import Settings
from service.worker import Worker
from tests import fuzz_strategies as fuzz

VALID_SHARE = 0.1
IDLE_SECONDS = 30.0
"""Give up when neither a dead letter nor a completion came for this long."""


@dataclass(frozen=True)
class Events:
    """What is published, in publishing order, and what each should become."""

    records: list[tuple[bytes, bytes]]  # (key, value)
    malformed: Counter[bytes]
    valid: set[str]  # job ids


@dataclass
class Outcome:
    """What came out on the dead-letter and completion topics."""

    dead_letters: Counter[bytes] = field(default_factory=Counter)
    completed: set[str] = field(default_factory=set)
    failed: set[str] = field(default_factory=set)
    seconds: float = 0.0

    @property
    def completions(self) -> int:
        return len(self.completed) + len(self.failed)


def draw_events(count: int, seed_value: int) -> Events:
    """`count` events, about nine in ten malformed, mixed in a seeded order."""
    valid_count = round(count * VALID_SHARE)
    malformed_count = count - valid_count
    kinds = len(fuzz.malformed_kinds())
    per_kind = math.ceil(malformed_count / kinds)
    malformed = fuzz.malformed_examples(per_kind, seed_value)[:malformed_count]
    # Hypothesis reuses drawn job ids across examples: draw plenty, keep distinct.
    drawn = fuzz.examples(fuzz.valid_kickoffs(), 4 * valid_count, seed_value)
    valid = fuzz.distinct_jobs(drawn, valid_count)

    records = [(f"malformed-{i}".encode(), raw) for i, raw in enumerate(malformed)]
    records += [(fuzz.job_id_of(raw).encode(), raw) for raw in valid]
    random.Random(seed_value).shuffle(records)
    return Events(records, Counter(malformed), {fuzz.job_id_of(r) for r in valid})


async def run(settings: Settings, events: Events) -> Outcome:
    """Publish every event to one worker and collect what comes out."""
    await ensure_topics(settings)
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers)
    consumer = AIOKafkaConsumer(
        settings.dead_letter_topic,
        settings.completion_topic,
        bootstrap_servers=settings.kafka_bootstrap_servers,
        auto_offset_reset="earliest",
    )
    await producer.start()
    await consumer.start()
    stop = asyncio.Event()
    worker = asyncio.create_task(Worker(settings).run(stop))
    try:
        warm_up = uuid.uuid4().hex.upper()  # a fresh job, none of the drawn ones
        await producer.send_and_wait(
            settings.kickoff_topic, kickoff(warm_up), key=warm_up.encode()
        )
        await _collect(consumer, settings, Outcome(), expected=1)

        outcome = Outcome()
        started = time.perf_counter()
        await _publish(producer, settings, events)
        await _collect(consumer, settings, outcome, expected=len(events.records))
        outcome.seconds = time.perf_counter() - started
        # Anything arriving late is a stray: a repeat or an event never sent.
        await _collect(consumer, settings, outcome, expected=None, within=1.0)
    finally:
        stop.set()
        await worker
        await consumer.stop()
        await producer.stop()
    return outcome


async def _publish(
    producer: AIOKafkaProducer, settings: Settings, events: Events
) -> None:
    for key, value in events.records:
        await producer.send(settings.kickoff_topic, value, key=key)
    await producer.flush()


async def _collect(
    consumer: AIOKafkaConsumer,
    settings: Settings,
    outcome: Outcome,
    *,
    expected: int | None,
    within: float = IDLE_SECONDS,
) -> None:
    """Read until `expected` records are in, or nothing came for `within` s."""
    seen = sum(outcome.dead_letters.values()) + outcome.completions
    last_progress = time.monotonic()
    while (expected is None or seen < expected) and (
        time.monotonic() - last_progress < within
    ):
        batches = await consumer.getmany(timeout_ms=200)
        for partition, records in batches.items():
            for record in records:
                if partition.topic == settings.dead_letter_topic:
                    outcome.dead_letters[record.value] += 1
                else:
                    _record_completion(outcome, record.value)
                seen += 1
                last_progress = time.monotonic()


def _record_completion(outcome: Outcome, value: bytes) -> None:
    event = json.loads(value)
    if event["status"] == "SUCCESS":
        outcome.completed.add(event["jobId"])
    else:
        outcome.failed.add(event["jobId"])


def lost(events: Events, outcome: Outcome) -> int:
    """Events that neither came back as a dead letter nor completed."""
    missing_letters = events.malformed - outcome.dead_letters
    return missing_letters.total() + len(events.valid - outcome.completed)


def problems(events: Events, outcome: Outcome) -> list[str]:
    """Every way the outcome differs from one dead letter per malformed event
    (byte for byte) and one SUCCESS per valid one."""
    found = []
    if lost(events, outcome):
        found.append(f"{lost(events, outcome)} events lost")
    strays = outcome.dead_letters - events.malformed
    if strays:
        found.append(f"{strays.total()} dead letters that match no malformed event")
    if outcome.failed:
        found.append(f"{len(outcome.failed)} valid jobs FAILED")
    if outcome.completed - events.valid:
        found.append(f"{len(outcome.completed - events.valid)} unknown completions")
    return found


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=20261203)
    args = parser.parse_args(argv)
    base = Settings()
    # Every dead letter is a WARNING: at that level the log would be the run.
    configure_logging(base.model_copy(update={"log_level": "error"}))

    drawing = time.perf_counter()
    events = draw_events(args.events, args.seed)
    drawn_in = time.perf_counter() - drawing
    suffix = uuid.uuid4().hex[:8]
    url = await create_seeded_database(
        base.database_url, f"reports_bench_fuzz_{suffix}"
    )
    with TemporaryDirectory() as folder:
        settings = _settings(base, url, Path(folder), suffix)
        try:
            outcome = await run(settings, events)
        finally:
            await _remove(settings, base.database_url)

    print(f"\ndrew {len(events.records)} events (seed {args.seed}) in {drawn_in:.1f} s")
    print_table(events, outcome)
    found = problems(events, outcome)
    for problem in found:
        print(f"FAILED: {problem}", file=sys.stderr)
    return 1 if found else 0


async def _remove(settings: Settings, admin_url: str) -> None:
    """Drop the bench's database and topics (with ~60 MB of kickoffs in them)."""
    await remove_database(admin_url, urlsplit(settings.database_url).path.lstrip("/"))
    await delete_topics(settings)


def _settings(base: Settings, database_url: str, folder: Path, suffix: str) -> Settings:
    return base.model_copy(
        update={
            "database_url": database_url,
            "storage_url": folder.as_uri(),
            "kickoff_topic": f"bench-fuzz-kickoff-{suffix}",
            "completion_topic": f"bench-fuzz-completed-{suffix}",
            "dead_letter_topic": f"bench-fuzz-dlq-{suffix}",
            "consumer_group": f"bench-fuzz-{suffix}",
            "relay_poll_seconds": 0.1,
        }
    )


def print_table(events: Events, outcome: Outcome) -> None:
    count = len(events.records)
    print(
        f"{'events':>7} {'malformed':>9} {'valid':>6} {'seconds':>8} "
        f"{'events/s':>9} {'dead letters':>12} {'completions':>11} {'lost':>5}"
    )
    print(
        f"{count:>7} {events.malformed.total():>9} {len(events.valid):>6} "
        f"{outcome.seconds:>8.2f} {count / outcome.seconds:>9.1f} "
        f"{outcome.dead_letters.total():>12} {outcome.completions:>11} "
        f"{lost(events, outcome):>5}"
    )


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
