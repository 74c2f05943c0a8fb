"""Fault injection: workers SIGKILLed, the broker and PostgreSQL restarted while
jobs run, then the invariants that must hold after all of it.

    python -m bench.chaos --jobs 10000 --kills 10 --broker-restarts 1 --db-restarts 1

Needs the services of `deploy/services.sh` (restarts go through its
`restart-kafka` and `restart-postgres`, which keep the data). The run works in
a database, topics, consumer group and folder of its own, with two
`report-worker run` subprocesses logging to files in that folder; all of it is
removed afterwards unless an invariant failed (the folder stays) or `--keep`.

Faults strike when a given share of the jobs is finished, so they land while
work is going on whatever the machine's speed; the shares, the kinds' order,
the worker each kill hits and how long it stays down all follow from `--seed`.

A SIGKILLed worker keeps its partitions until the group's session timeout
(aiokafka's default, 10 s: the worker has no setting for it), and the
rebalance its restart starts waits for that too, so the whole group may pause
for up to 10 s; its claimed jobs wait for their lease (3 s here). A kill waits
up to 5 s for its worker to hold a job, so it cuts work short.

Checked at the end, from the database, the completion topic and the folder:
every job SUCCESS exactly once with versions 1..n end to start, none left
IN_PROGRESS; a completion event for every SUCCESS and FAILED version and one
`ce_id` per version, none for a version that does not exist; every report
file that of a current SUCCESS version, none missing; the outbox empty; no
worker exiting on its own, and exit code 0 for each on SIGTERM; no upload
staging file left behind ("partial uploads"): see `_check_files`.
"""

import argparse
import asyncio
import itertools
import json
import logging
import os
import random
import re
import shlex
import shutil
import signal
import socket
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import IO, TypeVar
from urllib.parse import urlsplit

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError
from aiokafka.structs import ConsumerRecord

from bench.throwaway import create_seeded_database, delete_topics, remove_database
from service.database import OUTAGES
from service.kafka_clients import ensure_topics
from service.logs import configure_logging
from service.settings import Settings, load_settings
from service.wire_types import END_OF_TIME
from tests.helpers import kickoff

ROOT = Path(__file__).resolve().parents[1]
SERVICES_SCRIPT = ROOT / "deploy" / "services.sh"


WORKER_SETTINGS = {
    "log_format": "json",
    "lease_seconds": 3.0,
    "retrial_poll_seconds": 0.5,
    "shutdown_grace_seconds": 5.0,
    "max_in_flight": 4,
}
"""What the workers of a chaos run get on top of the caller's settings."""

FAULT_SPAN = (0.05, 0.85)
"""By default, faults strike between these shares of jobs finished."""

STAGING_FILE = re.compile(r"#\d+$")
"""obstore's LocalStore uploads into `<key>#<n>` and renames it to `<key>`."""

T = TypeVar("T")

POLL_SECONDS = 0.2
WORKER_STARTED = b'"event": "worker_started"'
WORKER_START_SECONDS = 60.0
KILL_WAIT_SECONDS = 5.0
"""How long a kill waits for its worker to hold a job (then strikes anyway)."""
STOP_MARGIN_SECONDS = 30.0
"""How long past its grace period a SIGTERMed worker may take to exit."""


class ChaosError(Exception):
    """The harness itself could not go on (a restart failed, publishing failed)."""


class FaultKind(Enum):
    KILL_WORKER = "kill worker"
    RESTART_BROKER = "restart broker"
    RESTART_DATABASE = "restart database"


@dataclass(frozen=True)
class Fault:
    """One planned fault: what, and when (a share of the jobs finished)."""

    kind: FaultKind
    at_share: float
    worker: int = 0
    down_seconds: float = 0.0
    """How long a killed worker stays down before it is started again."""


@dataclass(frozen=True)
class StruckFault:
    fault: Fault
    finished_before: int
    at: float
    """Wall-clock time (epoch seconds) when it struck."""
    seconds: float
    """How long the injection took: the kill and restart, or the restart."""
    jobs_held: int = 0
    """Jobs the killed worker held a lease on when it died."""


@dataclass(frozen=True)
class ChaosPlan:
    """What a run does: how many jobs, which faults, how long it may take."""

    jobs: int = 10_000
    kills: int = 10
    broker_restarts: int = 1
    db_restarts: int = 1
    seed: int = 1
    workers: int = 2
    partitions: int = 6
    fault_span: tuple[float, float] = FAULT_SPAN
    """Faults strike between these shares of jobs finished."""
    publish_per_second: float | None = None
    """Pace the kickoffs (a small run then lasts long enough to be hit);
    None publishes them all at once."""
    stall_seconds: float = 120.0
    """Give up when no job finished for this long."""
    time_limit_seconds: float = 3600.0
    drain_seconds: float = 90.0
    """After the last job: how long the outbox may take to empty."""

    def faults(self) -> list[Fault]:
        return plan_faults(
            kills=self.kills,
            broker_restarts=self.broker_restarts,
            db_restarts=self.db_restarts,
            workers=self.workers,
            seed=self.seed,
            span=self.fault_span,
        )


def plan_faults(
    *,
    kills: int,
    broker_restarts: int,
    db_restarts: int,
    workers: int,
    seed: int,
    span: tuple[float, float] = FAULT_SPAN,
) -> list[Fault]:
    """The faults in the order they strike, the same for the same seed.

    The span of shares is cut into one slot per fault and each strikes at a
    random point of its slot, so they spread over the run.
    """
    rng = random.Random(seed)
    kinds = (
        [FaultKind.KILL_WORKER] * kills
        + [FaultKind.RESTART_BROKER] * broker_restarts
        + [FaultKind.RESTART_DATABASE] * db_restarts
    )
    rng.shuffle(kinds)
    low, high = span
    slot = (high - low) / max(len(kinds), 1)
    faults = []
    for i, kind in enumerate(kinds):
        at_share = round(low + slot * (i + rng.random()), 4)
        worker, down_seconds = rng.randrange(workers), round(rng.uniform(0.5, 2), 2)
        if kind is FaultKind.KILL_WORKER:
            faults.append(Fault(kind, at_share, worker, down_seconds))
        else:
            faults.append(Fault(kind, at_share))
    return faults


# ---------------------------------------------------------------------------
# Findings: what the database, the completion topic and the folder show
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Version:
    job_id: str
    number: int
    status: str
    start: datetime
    end: datetime
    file_storage_id: str | None
    rpt_format: str


@dataclass(frozen=True)
class CompletionSeen:
    """A completion event read back from the topic."""

    job_id: str
    version: int
    status: str
    ce_id: str


@dataclass
class Findings:
    """Invariant counts, with a few examples of each breach."""

    lost: int = 0
    doubled: int = 0
    broken_histories: int = 0
    in_progress: int = 0
    missing_events: int = 0
    duplicate_ce_ids: int = 0
    phantom_events: int = 0
    orphan_files: int = 0
    partial_uploads: int = 0
    """Staging files of uploads cut by SIGKILL: reported, not a breach."""
    missing_files: int = 0
    examples: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    def note(self, what: str, example: str) -> None:
        if len(self.examples[what]) < 5:
            self.examples[what].append(example)


def examine(
    published: Iterable[str],
    versions: Iterable[Version],
    events: Iterable[CompletionSeen],
    files: Iterable[str],
) -> Findings:
    """Check every invariant of a finished run against what it left behind."""
    findings = Findings()
    histories: dict[str, list[Version]] = defaultdict(list)
    for version in versions:
        histories[version.job_id].append(version)
    for history in histories.values():
        history.sort(key=lambda v: v.number)

    _check_jobs(findings, published, histories)
    _check_events(findings, histories, events)
    _check_files(findings, histories, files)
    return findings


def _check_jobs(
    findings: Findings, published: Iterable[str], histories: dict[str, list[Version]]
) -> None:
    for job_id in published:
        history = histories.get(job_id, [])
        if not history or history[-1].status != "SUCCESS":
            findings.lost += 1
            findings.note("lost", f"{job_id}: {[v.status for v in history]}")
    for job_id, history in histories.items():
        if sum(v.status == "SUCCESS" for v in history) > 1:
            findings.doubled += 1
            findings.note("doubled", job_id)
        if history[-1].status == "IN_PROGRESS":
            findings.in_progress += 1
        if not _contiguous(history):
            findings.broken_histories += 1
            findings.note("broken_histories", job_id)


def _contiguous(history: Sequence[Version]) -> bool:
    """Versions 1..n, each starting where the one before ended, the last open."""
    if [v.number for v in history] != list(range(1, len(history) + 1)):
        return False
    joined = all(a.end == b.start for a, b in itertools.pairwise(history))
    ended = all(v.end != END_OF_TIME for v in history[:-1])
    return joined and ended and history[-1].end == END_OF_TIME


def _check_events(
    findings: Findings,
    histories: dict[str, list[Version]],
    events: Iterable[CompletionSeen],
) -> None:
    ce_ids: dict[tuple[str, int], set[str]] = defaultdict(set)
    finished = {
        (v.job_id, v.number): v.status
        for history in histories.values()
        for v in history
        if v.status in ("SUCCESS", "FAILED")
    }
    for event in events:
        ce_ids[(event.job_id, event.version)].add(event.ce_id)
        if finished.get((event.job_id, event.version)) != event.status:
            findings.phantom_events += 1
            findings.note("phantom_events", f"{event.job_id} v{event.version}")
    for key, status in finished.items():
        if key not in ce_ids:
            findings.missing_events += 1
            findings.note("missing_events", f"{key[0]} v{key[1]} {status}")
    for key, ids in ce_ids.items():
        if len(ids) > 1:
            findings.duplicate_ce_ids += 1
            findings.note("duplicate_ce_ids", f"{key[0]} v{key[1]}: {sorted(ids)}")


def _check_files(
    findings: Findings, histories: dict[str, list[Version]], files: Iterable[str]
) -> None:
    """Every file is the report of a current SUCCESS version, and vice versa.

    Upload staging files (`<key>#<n>`: obstore's LocalStore writes there and
    renames when done) are counted as partial uploads: a worker SIGKILLed
    mid-upload leaves one, and the job's next attempt must remove it with the
    rest of what the killed attempt stored.
    """
    expected = {
        f"{current.file_storage_id}.{current.rpt_format.lower()}"
        for current in (history[-1] for history in histories.values())
        if current.status == "SUCCESS" and current.file_storage_id
    }
    present = set()
    for name in files:
        if STAGING_FILE.search(name):
            findings.partial_uploads += 1
        else:
            present.add(name)
    for name in sorted(present - expected):
        findings.orphan_files += 1
        findings.note("orphan_files", name)
    for name in sorted(expected - present):
        findings.missing_files += 1
        findings.note("missing_files", name)


# ---------------------------------------------------------------------------
# The result
# ---------------------------------------------------------------------------


BREACHES = (
    "lost",
    "doubled",
    "broken_histories",
    "in_progress",
    "missing_events",
    "duplicate_ce_ids",
    "phantom_events",
    "orphan_files",
    "missing_files",
    "partial_uploads",
)
"""The counts of Findings that must all be zero."""


@dataclass(frozen=True)
class ChaosResult:
    plan: ChaosPlan
    findings: Findings
    struck: list[StruckFault]
    unexpected_exits: list[str]
    """Workers that exited while nobody had asked them to."""
    stop_exit_codes: list[int | None]
    """Exit code of each worker stopped by SIGTERM at the end (None: hung)."""
    unpublished_events: int
    stuck: list[str]
    """When the run timed out: what the unfinished jobs were doing."""
    total_seconds: float
    recovery_seconds: float | None
    folder: Path

    def count(self, kind: FaultKind) -> int:
        return sum(s.fault.kind is kind for s in self.struck)

    def violations(self) -> list[str]:
        """Every invariant that does not hold, in words."""
        found = self.findings
        problems = [
            f"{name.replace('_', ' ')}: {getattr(found, name)}"
            f" (e.g. {', '.join(found.examples.get(name, [])) or '-'})"
            for name in BREACHES
            if getattr(found, name)
        ]
        if self.unpublished_events:
            problems.append(f"outbox rows never published: {self.unpublished_events}")
        problems += [f"worker exited on its own: {e}" for e in self.unexpected_exits]
        if any(code != 0 for code in self.stop_exit_codes):
            problems.append(f"exit codes on SIGTERM: {self.stop_exit_codes}")
        if len(self.struck) < len(self.plan.faults()):
            problems.append(f"faults struck: {len(self.struck)} of the plan's")
        problems += [f"stuck: {line}" for line in self.stuck]
        return problems

    @property
    def holds(self) -> bool:
        return not self.violations()

    def table(self) -> str:
        recovery = self.recovery_seconds
        columns = [
            ("jobs", self.plan.jobs),
            ("kills", self.count(FaultKind.KILL_WORKER)),
            ("broker restarts", self.count(FaultKind.RESTART_BROKER)),
            ("db restarts", self.count(FaultKind.RESTART_DATABASE)),
            ("lost", self.findings.lost),
            ("doubled", self.findings.doubled),
            ("duplicate ce_ids", self.findings.duplicate_ce_ids),
            ("orphan files", self.findings.orphan_files),
            ("partial uploads", self.findings.partial_uploads),
            ("total s", f"{self.total_seconds:.1f}"),
            ("recovery s", "-" if recovery is None else f"{recovery:.1f}"),
        ]
        widths = [max(len(name), len(str(value))) for name, value in columns]
        head = "  ".join(n.rjust(w) for (n, _), w in zip(columns, widths, strict=True))
        row = "  ".join(
            str(v).rjust(w) for (_, v), w in zip(columns, widths, strict=True)
        )
        return f"{head}\n{row}"

    def report(self) -> str:
        """The table, the faults as they struck, and the verdict."""
        lines = ["", self.table(), "", "faults:"]
        for s in self.struck:
            target = (
                f" {s.fault.worker}" if s.fault.kind is FaultKind.KILL_WORKER else ""
            )
            lines.append(
                f"  {s.fault.kind.value}{target} at {s.finished_before} jobs finished"
                f" (planned at {s.fault.at_share:.0%}), took {s.seconds:.1f} s"
                + (f", cut {s.jobs_held} jobs" if s.jobs_held else "")
            )
        lines.append(
            f"missing files {self.findings.missing_files}, broken histories "
            f"{self.findings.broken_histories}, in progress "
            f"{self.findings.in_progress}, missing events "
            f"{self.findings.missing_events}, phantom events "
            f"{self.findings.phantom_events}, exit codes {self.stop_exit_codes}"
        )
        problems = self.violations()
        lines.append("invariants hold" if not problems else "VIOLATIONS:")
        lines += [f"  {p}" for p in problems]
        lines.append(f"logs: {self.folder / 'logs'}")
        return "\n".join(lines)


# ---------------------------------------------------------------------------
# The services: are they ours to restart?
# ---------------------------------------------------------------------------


async def services_script(*args: str, log: IO[str] | None = None) -> tuple[int, str]:
    """Run deploy/services.sh; its exit code and standard output."""
    process = await asyncio.create_subprocess_exec(
        "bash",
        str(SERVICES_SCRIPT),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=log or asyncio.subprocess.DEVNULL,
    )
    out, _ = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode()


async def why_services_cannot_restart(settings: Settings) -> str | None:
    """None when `settings` point at the broker and PostgreSQL that
    deploy/services.sh started (so it can restart them); otherwise why not."""
    code, status = await services_script("status")
    running = [
        words[0]
        for words in map(str.split, status.splitlines())
        if words[1:2] == ["running,"]
    ]
    if code != 0 or running != ["kafka:", "postgres:"]:
        return f"deploy/services.sh does not run both services here: {status!r}"
    _, exported = await services_script("env")
    ours = _exports(exported)
    kafka = settings.kafka_bootstrap_servers.split(",")[0]
    if _address(kafka) != _address(ours["REPORTS_KAFKA_BOOTSTRAP_SERVERS"]):
        return f"REPORTS_KAFKA_BOOTSTRAP_SERVERS={kafka} is not deploy/services.sh's"
    database = urlsplit(settings.database_url)
    local = urlsplit(ours["REPORTS_DATABASE_URL"])
    if _address(f"{database.hostname}:{database.port or 5432}") != _address(
        f"{local.hostname}:{local.port or 5432}"
    ):
        return (
            f"REPORTS_DATABASE_URL points at {database.hostname}:{database.port},"
            f" not at deploy/services.sh's {local.hostname}:{local.port}"
        )
    return None


def _exports(text: str) -> dict[str, str]:
    found = {}
    for line in text.splitlines():
        words = shlex.split(line)
        if len(words) == 2 and words[0] == "export" and "=" in words[1]:
            name, _, value = words[1].partition("=")
            found[name] = value
    return found


def _address(host_port: str) -> str:
    host, _, port = host_port.rpartition(":")
    return f"{'127.0.0.1' if host == 'localhost' else host}:{port}"


# ---------------------------------------------------------------------------
# The workers
# ---------------------------------------------------------------------------


def worker_environment(settings: Settings) -> dict[str, str]:
    """The REPORTS_* of `settings` over the caller's environment."""
    env = dict(os.environ)
    for name, value in settings.model_dump().items():
        env[f"REPORTS_{name.upper()}"] = str(value)
    return env


class WorkerFleet:
    """`report-worker run` subprocesses, each one killable and restartable;
    every incarnation logs to its own file."""

    def __init__(self, settings: Settings, count: int, log_folder: Path) -> None:
        self._env = worker_environment(settings)
        self._log_folder = log_folder
        self._processes: list[asyncio.subprocess.Process | None] = [None] * count
        self._log_paths: list[Path | None] = [None] * count
        self._incarnations = Counter[int]()
        self.unexpected_exits: list[str] = []

    async def start_all(self) -> None:
        for index in range(len(self._processes)):
            await self.start(index)

    async def start(self, index: int) -> None:
        """Start the worker and wait until it runs: its signal handlers are in
        place only then (a SIGTERM while Python imports would kill it)."""
        self._incarnations[index] += 1
        path = self._log_folder / f"worker-{index}.{self._incarnations[index]}.log"
        self._log_paths[index] = path
        with path.open("wb") as log:  # the child keeps its own descriptor
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "service.cli",
                "run",
                cwd=ROOT,
                env=self._env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )
        self._processes[index] = process
        deadline = time.monotonic() + WORKER_START_SECONDS
        while WORKER_STARTED not in path.read_bytes():
            if process.returncode is not None or time.monotonic() > deadline:
                raise ChaosError(f"worker {index} did not start; see {path}")
            await asyncio.sleep(0.1)

    def pid(self, index: int) -> int:
        process = self._processes[index]
        assert process is not None
        return process.pid

    async def kill(self, index: int) -> None:
        """SIGKILL: no grace, no hand-back, no flush."""
        process = self._processes[index]
        assert process is not None
        if process.returncode is None:
            process.kill()
        await process.wait()

    async def restart_the_fallen(self) -> None:
        """Note and restart workers that exited while nobody asked them to."""
        for index, process in enumerate(self._processes):
            if process is not None and process.returncode is not None:
                self.unexpected_exits.append(
                    f"worker {index} (pid {process.pid}) exit code "
                    f"{process.returncode}, log {self._log_paths[index]}"
                )
                await self.start(index)

    async def stop_all(self, within: float) -> list[int | None]:
        """SIGTERM every worker; their exit codes, None for one that hung."""
        running = [p for p in self._processes if p is not None]
        for process in running:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
        return list(await asyncio.gather(*(_exit_code(p, within) for p in running)))


async def _exit_code(process: asyncio.subprocess.Process, within: float) -> int | None:
    try:
        return await asyncio.wait_for(process.wait(), within)
    except TimeoutError:
        process.kill()
        await process.wait()
        return None


# ---------------------------------------------------------------------------
# Kickoffs in, evidence out
# ---------------------------------------------------------------------------


def rule_listing_kickoff(job_id: str) -> bytes:
    """The reference example (Rule Listing, ruleState = approved) as CSV."""
    return json.dumps(kickoff(job_id)).encode()


async def publish_kickoffs(
    settings: Settings, job_ids: Sequence[str], per_second: float | None
) -> None:
    """Publish a kickoff per job, acknowledged by the broker, paced if asked.

    A batch the broker did not acknowledge (it may be restarting) is sent
    again: a repeated kickoff is one the service must shrug off anyway.
    """
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        acks="all",
        enable_idempotence=True,
    )
    await producer.start()
    try:
        size = max(1, round(per_second / 10)) if per_second else 500
        for first in range(0, len(job_ids), size):
            started = time.monotonic()
            batch = job_ids[first : first + size]
            await _send_until_acknowledged(producer, settings.kickoff_topic, batch)
            if per_second:
                spent = time.monotonic() - started
                await asyncio.sleep(max(0.0, len(batch) / per_second - spent))
    finally:
        await producer.stop()


async def _send_until_acknowledged(
    producer: AIOKafkaProducer, topic: str, job_ids: Sequence[str], tries: int = 5
) -> None:
    for attempt in range(1, tries + 1):
        try:
            sent = [
                await producer.send(topic, rule_listing_kickoff(j), key=j.encode())
                for j in job_ids
            ]
            await asyncio.gather(*sent)
            return
        except KafkaError as exc:
            if attempt == tries:
                raise ChaosError(f"kickoffs not acknowledged: {exc!r}") from exc
            await asyncio.sleep(2.0)


async def read_completions(
    settings: Settings, within: float = 120.0
) -> list[CompletionSeen]:
    """Every event on the completion topic, from the start to its end now."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers, enable_auto_commit=False
    )
    await consumer.start()
    seen: list[CompletionSeen] = []
    try:
        topic = settings.completion_topic
        partitions = [
            TopicPartition(topic, p) for p in range(settings.topic_partitions)
        ]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        deadline = time.monotonic() + within
        while await _behind(consumer, ends):
            if time.monotonic() > deadline:
                raise ChaosError(f"could not read {topic} to its end in {within} s")
            batches = await consumer.getmany(timeout_ms=500)
            seen += [_completion(r) for batch in batches.values() for r in batch]
    finally:
        await consumer.stop()
    return seen


async def _behind(consumer: AIOKafkaConsumer, ends: dict[TopicPartition, int]) -> bool:
    for partition, end in ends.items():
        if await consumer.position(partition) < end:
            return True
    return False


def _completion(record: ConsumerRecord[bytes, bytes]) -> CompletionSeen:
    value = json.loads(record.value)
    headers = dict(record.headers)
    return CompletionSeen(
        job_id=value["jobId"],
        version=value["executionLog"]["objectVersionNumber"],
        status=value["status"],
        ce_id=headers["ce_id"].decode(),
    )


async def read_versions(conn: asyncpg.Connection) -> list[Version]:
    rows = await conn.fetch(
        "SELECT id, object_version_number, rpt_stat_cd, version_start, version_end,"
        " file_storage_id, rpt_format FROM execution_log"
    )
    return [
        Version(
            job_id=row["id"].hex.upper(),
            number=row["object_version_number"],
            status=row["rpt_stat_cd"],
            start=row["version_start"],
            end=row["version_end"],
            file_storage_id=row["file_storage_id"].hex.upper()
            if row["file_storage_id"]
            else None,
            rpt_format=row["rpt_format"],
        )
        for row in rows
    ]


FINISHED_SQL = """
SELECT count(*) FROM execution_log
WHERE rpt_stat_cd = 'SUCCESS' AND version_end = '3099-12-31T00:00:00Z'
"""
UNPUBLISHED_SQL = "SELECT count(*) FROM outbox WHERE published_at IS NULL"
STUCK_SQL = """
SELECT log.id, log.rpt_stat_cd, log.object_version_number, job.attempt,
       job.lease_owner, job.lease_expires_at, job.next_attempt_at,
       job.republished_at, left(log.reason, 120) AS reason
FROM execution_log AS log JOIN report_job AS job ON job.id = log.id
WHERE log.version_end = '3099-12-31T00:00:00Z' AND log.rpt_stat_cd <> 'SUCCESS'
ORDER BY log.version_start
"""


async def describe_stuck(
    conn: asyncpg.Connection, published: Sequence[str]
) -> list[str]:
    """What the unfinished jobs are doing: counts by state and a few of them."""
    rows = await conn.fetch(STUCK_SQL)
    known = {r[0].hex.upper() for r in await conn.fetch("SELECT id FROM report_job")}
    never_seen = [job_id for job_id in published if job_id not in known]
    by_state = Counter(row["rpt_stat_cd"] for row in rows)
    lines = [f"{count} jobs {state}" for state, count in sorted(by_state.items())]
    if never_seen:
        lines.append(f"{len(never_seen)} kickoffs never consumed, e.g. {never_seen[0]}")
    lines += [
        f"{row['id'].hex.upper()} v{row['object_version_number']}"
        f" {row['rpt_stat_cd']} attempt {row['attempt']} lease "
        f"{row['lease_owner']} until {row['lease_expires_at']} next "
        f"{row['next_attempt_at']} republished {row['republished_at']}: "
        f"{row['reason']}"
        for row in rows[:5]
    ]
    return lines


# ---------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------


def _narrate_to_stderr(line: str) -> None:
    print(f"[chaos {time.strftime('%H:%M:%S')}] {line}", file=sys.stderr, flush=True)


class ChaosRun:
    """One run: workers, kickoffs, faults on schedule, then the evidence."""

    def __init__(
        self,
        plan: ChaosPlan,
        settings: Settings,
        folder: Path,
        narrate: Callable[[str], None],
    ) -> None:
        self._plan = plan
        self._settings = settings
        self._folder = folder
        self._narrate = narrate
        self._fleet = WorkerFleet(settings, plan.workers, folder / "logs")
        self._job_ids = [uuid.uuid4().hex.upper() for _ in range(plan.jobs)]
        self._struck: list[StruckFault] = []
        self._conn: asyncpg.Connection | None = None

    async def execute(self) -> ChaosResult:
        await ensure_topics(self._settings)
        await self._fleet.start_all()
        started = time.time()
        stuck: list[str] = []
        try:
            finished = await self._drive()
            if finished:
                finished = await self._await_outbox_drained()
            if not finished:
                stuck = await self._with_db(lambda c: describe_stuck(c, self._job_ids))
        finally:
            codes = await self._fleet.stop_all(
                self._settings.shutdown_grace_seconds + STOP_MARGIN_SECONDS
            )
            self._narrate(f"workers stopped by SIGTERM, exit codes {codes}")
        return await self._result(started, codes, stuck)

    async def _drive(self) -> bool:
        """Publish, strike each fault when its share of jobs is finished, and
        wait for every job; False when the run stalled or ran out of time."""
        publishing = asyncio.create_task(
            publish_kickoffs(
                self._settings, self._job_ids, self._plan.publish_per_second
            )
        )
        faults = self._plan.faults()
        jobs = self._plan.jobs
        began = last_change = time.monotonic()
        finished = reported = 0
        try:
            while True:
                await self._fleet.restart_the_fallen()
                now_finished = await self._count(FINISHED_SQL)
                if now_finished is not None and now_finished != finished:
                    finished, last_change = now_finished, time.monotonic()
                if finished >= reported + max(jobs // 10, 1):
                    reported = finished
                    self._narrate(f"{finished}/{jobs} jobs finished")
                if faults and finished >= min(faults[0].at_share * jobs, jobs):
                    await self._strike(faults.pop(0), finished)
                    last_change = time.monotonic()
                    continue
                if finished == jobs and publishing.done():
                    publishing.result()
                    return True
                if self._out_of_time(began, last_change):
                    return False
                await asyncio.sleep(POLL_SECONDS)
        finally:
            if not publishing.done():
                publishing.cancel()

    def _out_of_time(self, began: float, last_change: float) -> bool:
        now, plan = time.monotonic(), self._plan
        if now - last_change > plan.stall_seconds:
            self._narrate(f"no job finished for {plan.stall_seconds} s: giving up")
            return True
        if now - began > plan.time_limit_seconds:
            self._narrate(f"time limit of {plan.time_limit_seconds} s reached")
            return True
        return False

    async def _strike(self, fault: Fault, finished: int) -> None:
        began = time.monotonic()
        if fault.kind is FaultKind.KILL_WORKER:
            at, held = await self._kill(fault, finished)
        else:
            at, held = time.time(), 0
            await self._restart_service(fault.kind, finished)
        seconds = time.monotonic() - began
        self._struck.append(StruckFault(fault, finished, at, seconds, held))
        self._narrate(f"{fault.kind.value} done in {seconds:.1f} s")

    async def _kill(self, fault: Fault, finished: int) -> tuple[float, int]:
        """SIGKILL a worker, preferably holding jobs, and start it again after
        a pause; when it died, and how many jobs it held."""
        held = await self._jobs_in_hand(fault.worker, wait=KILL_WAIT_SECONDS)
        self._narrate(
            f"SIGKILL worker {fault.worker} at {finished} finished, holding {held} jobs"
        )
        at = time.time()
        await self._fleet.kill(fault.worker)
        await asyncio.sleep(fault.down_seconds)
        await self._fleet.start(fault.worker)
        return at, held

    async def _jobs_in_hand(self, worker: int, wait: float) -> int:
        """How many jobs `worker` holds a lease on, waiting up to `wait` seconds
        for it to hold one, so that a kill cuts work short."""
        owner = f"{socket.gethostname()}/{self._fleet.pid(worker)}"  # its worker_id()
        deadline = time.monotonic() + wait
        while True:
            held: int = await self._with_db(
                lambda c: c.fetchval(
                    "SELECT count(*) FROM report_job WHERE lease_owner = $1", owner
                )
            )
            if held or time.monotonic() > deadline:
                return held
            await asyncio.sleep(0.01)

    async def _restart_service(self, kind: FaultKind, finished: int) -> None:
        command = {
            FaultKind.RESTART_BROKER: "restart-kafka",
            FaultKind.RESTART_DATABASE: "restart-postgres",
        }[kind]
        self._narrate(f"{command} at {finished} finished")
        await self._forget_connection()  # the harness's own, dropped by a restart
        with (self._folder / "logs" / "services.log").open("a") as log:
            code, _ = await services_script(command, log=log)
        if code != 0:
            raise ChaosError(f"deploy/services.sh {command} failed with {code}")

    async def _await_outbox_drained(self) -> bool:
        deadline = time.monotonic() + self._plan.drain_seconds
        while time.monotonic() < deadline:
            pending = await self._count(UNPUBLISHED_SQL)
            if pending == 0:
                return True
            await asyncio.sleep(POLL_SECONDS)
        self._narrate(f"outbox not drained within {self._plan.drain_seconds} s")
        return False

    async def _count(self, sql: str) -> int | None:
        """A count from the run's database; None while PostgreSQL is away."""
        try:
            count: int = await self._with_db(lambda c: c.fetchval(sql))
        except OUTAGES:
            await self._forget_connection()
            return None
        return count

    async def _with_db(self, query: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
        if self._conn is None:
            self._conn = await asyncpg.connect(self._settings.database_url)
        return await query(self._conn)

    async def _forget_connection(self) -> None:
        if self._conn is not None:
            self._conn.terminate()
            self._conn = None

    async def _result(
        self, started: float, codes: list[int | None], stuck: list[str]
    ) -> ChaosResult:
        await self._forget_connection()
        conn = await asyncpg.connect(self._settings.database_url)
        try:
            versions = await read_versions(conn)
            unpublished = await conn.fetchval(UNPUBLISHED_SQL)
        finally:
            await conn.close()
        events = await read_completions(self._settings)
        files = [p.name for p in (self._folder / "reports").iterdir()]
        findings = examine(self._job_ids, versions, events, files)
        last_success = max(
            (v.start.timestamp() for v in versions if v.status == "SUCCESS"),
            default=time.time(),
        )
        last_fault = max((s.at for s in self._struck), default=None)
        return ChaosResult(
            plan=self._plan,
            findings=findings,
            struck=self._struck,
            unexpected_exits=self._fleet.unexpected_exits,
            stop_exit_codes=codes,
            unpublished_events=unpublished,
            stuck=stuck,
            total_seconds=(last_success if not stuck else time.time()) - started,
            recovery_seconds=None
            if last_fault is None
            else max(0.0, last_success - last_fault),
            folder=self._folder,
        )


def chaos_settings(
    base: Settings, plan: ChaosPlan, run_id: str, database_url: str, folder: Path
) -> Settings:
    """`base` with the run's own database, topics, group, folder and the
    workers' chaos settings (short lease, quick retrials)."""
    suffix = run_id
    return base.model_copy(
        update={
            **WORKER_SETTINGS,
            "database_url": database_url,
            "kickoff_topic": f"chaos-kickoff-{suffix}",
            "completion_topic": f"chaos-completed-{suffix}",
            "dead_letter_topic": f"chaos-dlq-{suffix}",
            "consumer_group": f"chaos-{suffix}",
            "storage_url": (folder / "reports").as_uri(),
            "topic_partitions": plan.partitions,
        }
    )


async def run_chaos(
    plan: ChaosPlan,
    base: Settings,
    *,
    folder: Path | None = None,
    keep: bool = False,
    narrate: Callable[[str], None] = _narrate_to_stderr,
) -> ChaosResult:
    """Run `plan` against the services `base` points at and check the
    invariants. `base.database_url` is the admin URL the run's own database is
    created from (and dropped, unless `keep`). Logs and report files go to
    `folder` (a new temporary folder when None)."""
    if plan.broker_restarts or plan.db_restarts:
        reason = await why_services_cannot_restart(base)
        if reason is not None:
            raise ChaosError(f"cannot restart the services: {reason}")
    folder = folder or Path(tempfile.mkdtemp(prefix="report-chaos-"))
    (folder / "logs").mkdir(parents=True, exist_ok=True)
    (folder / "reports").mkdir(exist_ok=True)
    run_id = uuid.uuid4().hex[:8]
    name = f"reports_chaos_{run_id}"
    narrate(f"database {name}, folder {folder}")

    url = await create_seeded_database(base.database_url, name)
    settings = chaos_settings(base, plan, run_id, url, folder)
    try:
        return await ChaosRun(plan, settings, folder, narrate).execute()
    finally:
        if not keep:
            await remove_database(base.database_url, name)
            await delete_topics(settings)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.chaos",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    defaults = ChaosPlan()
    parser.add_argument("--jobs", type=int, default=defaults.jobs)
    parser.add_argument("--kills", type=int, default=defaults.kills)
    parser.add_argument("--broker-restarts", type=int, default=defaults.broker_restarts)
    parser.add_argument("--db-restarts", type=int, default=defaults.db_restarts)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--partitions", type=int, default=defaults.partitions)
    parser.add_argument(
        "--fault-span",
        type=float,
        nargs=2,
        default=defaults.fault_span,
        metavar=("LOW", "HIGH"),
        help="faults strike between these shares of jobs finished "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--publish-per-second",
        type=float,
        default=None,
        help="pace the kickoffs (default: all at once)",
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the database, topics and folder for inspection",
    )
    return parser


async def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    plan = ChaosPlan(
        jobs=args.jobs,
        kills=args.kills,
        broker_restarts=args.broker_restarts,
        db_restarts=args.db_restarts,
        seed=args.seed,
        partitions=args.partitions,
        fault_span=tuple(args.fault_span),
        publish_per_second=args.publish_per_second,
    )
    base = load_settings()
    configure_logging(base.model_copy(update={"log_level": "warning"}))
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)  # the restarts
    try:
        result = await run_chaos(plan, base, keep=args.keep)
    except ChaosError as exc:
        print(f"chaos: {exc}", file=sys.stderr)
        return 2
    print(result.report())
    if result.holds and not args.keep:
        shutil.rmtree(result.folder, ignore_errors=True)
        print("(the folder is removed when the invariants hold; --keep keeps it)")
    return 0 if result.holds else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
