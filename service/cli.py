"""`report-worker`: the command line of the service.

Exit codes: 0 success, 1 runtime failure, 2 bad usage or input, 3 not found.
"""

import argparse
import asyncio
import contextlib
import json
import signal
import sys
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from typing import Any

import structlog
from aiokafka.errors import KafkaError

from service import __version__
from service.database import OUTAGES, connect, create_pool
from service.demo_data import DatasetSize, seed
from service.errors import BadInput, ConfigurationError, JobNotFound, ServiceError
from service.execution_log import ExecutionLog
from service.job_store import JobStore
from service.kafka_clients import producer
from service.kickoff_publisher import build_kickoff, publish_kickoff
from service.logs import configure_logging
from service.migrations import migrate
from service.purge import parse_age, purge_files
from service.reports.templates import ReportTemplate, builtin_templates
from service.settings import Settings, load_settings
from service.storage import ReportStorage
from service.wire_types import normalize_guid
from service.worker import Worker, retrial_producer, software_version_number

EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_NOT_FOUND = 0, 1, 2, 3

log = structlog.get_logger(__name__)

Command = Callable[[argparse.Namespace, Settings], Coroutine[Any, Any, int]]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `report-worker` console script."""
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
    except ConfigurationError as exc:
        print(f"report-worker: {exc.message}", file=sys.stderr)
        return EXIT_USAGE
    configure_logging(settings)
    command: Command = args.command
    try:
        return asyncio.run(command(args, settings))
    except (BadInput, ConfigurationError) as exc:
        return _fail(exc.message, EXIT_USAGE)
    except JobNotFound as exc:
        return _fail(exc.message, EXIT_NOT_FOUND)
    except ServiceError as exc:
        return _fail(exc.message, EXIT_FAILURE)
    except (KafkaError, *OUTAGES) as exc:
        return _fail(f"{type(exc).__name__}: {exc}", EXIT_FAILURE)


def _fail(message: str, code: int) -> int:
    print(f"report-worker: {message}", file=sys.stderr)
    return code


async def _migrate(args: argparse.Namespace, settings: Settings) -> int:
    conn = await connect(settings.database_url)
    try:
        applied = await migrate(conn)
    finally:
        await conn.close()
    names = ", ".join(f"{m.version:04d}_{m.name}" for m in applied) or "none"
    print(f"migrations applied: {names}")
    return EXIT_OK


async def _seed(args: argparse.Namespace, settings: Settings) -> int:
    size = DatasetSize(subjects=args.subjects)
    conn = await connect(settings.database_url)
    try:
        counts = await seed(conn, seed=args.seed, size=size)
    finally:
        await conn.close()
    print("seeded: " + ", ".join(f"{n} {table} rows" for table, n in counts.items()))
    return EXIT_OK


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    await Worker(settings).run(_stop_on_signals())
    return EXIT_OK


async def _retrial(args: argparse.Namespace, settings: Settings) -> int:
    stop = _stop_on_signals()
    pool = await create_pool(settings.database_url, max_size=2)
    kafka = producer(settings)
    try:
        await kafka.start()
        retrials = asyncio.create_task(retrial_producer(settings, pool, kafka).run())
        await stop.wait()
        retrials.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await retrials
    finally:
        await kafka.stop()
        await pool.close()
    return EXIT_OK


def _stop_on_signals() -> asyncio.Event:
    """An event set by SIGTERM or SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, _on_signal, stop, signum)
    return stop


def _on_signal(stop: asyncio.Event, signum: int) -> None:
    log.info("stop_requested", signal=signal.Signals(signum).name)
    stop.set()


async def _kickoff(args: argparse.Namespace, settings: Settings) -> int:
    event = build_kickoff(
        file=args.file,
        overrides={
            "jobId": args.job_id,
            "mode": args.mode,
            "studyId": args.study_id,
            "rptId": args.rpt_id,
            "rptFormat": args.format,
            "userId": args.user_id,
            "comment": args.comment,
            "rptName": args.name,
        },
        filters=args.filter,
        labels=args.label,
    )
    sent = await publish_kickoff(settings, event, traceparent=args.traceparent)
    if args.json:
        print(json.dumps(sent))
    else:
        print(
            f"kickoff for job {sent['jobId']} sent to {sent['topic']} "
            f"partition {sent['partition']} offset {sent['offset']}"
        )
    return EXIT_OK


async def _status(args: argparse.Namespace, settings: Settings) -> int:
    async with _store(settings) as store:
        current = await store.current(args.job_id)
        stored = await store.report_file(args.job_id)
    if args.json:
        print(json.dumps(current.to_json(), indent=2))
        return EXIT_OK
    _print_fields(current)
    if stored is not None:
        print(f"{'file':>23}: {stored.size_bytes} bytes, {stored.content_type}")
        print(f"{'sha256':>23}: {stored.sha256}")
    return EXIT_OK


async def _history(args: argparse.Namespace, settings: Settings) -> int:
    async with _store(settings) as store:
        versions = await store.history(args.job_id)
    if args.json:
        print(json.dumps([v.to_json() for v in versions], indent=2))
        return EXIT_OK
    print(
        f"{'ver':>3}  {'status':<11}  {'versionStart':<24}  {'versionEnd':<24}  reason"
    )
    for v in versions:
        shown = v.to_json()
        print(
            f"{v.object_version_number:>3}  {v.rpt_stat_cd.value:<11}  "
            f"{shown['versionStart']:<24}  {shown['versionEnd']:<24}  {v.reason or ''}"
        )
    return EXIT_OK


async def _purge(args: argparse.Namespace, settings: Settings) -> int:
    older_than = parse_age(args.older_than)
    async with _store(settings) as store:
        result = await purge_files(
            store, ReportStorage(settings.storage_url), older_than, dry_run=args.dry_run
        )
    verb = "would purge" if args.dry_run else "purged"
    print(f"{verb} the report files of {len(result.purged)} jobs")
    for job_id in result.purged:
        print(f"  {job_id}")
    if result.skipped:
        print(f"{result.skipped} jobs changed meanwhile and were left alone")
    return EXIT_OK


async def _templates(args: argparse.Namespace, settings: Settings) -> int:
    templates = list(builtin_templates())
    if args.json:
        print(json.dumps([_template_json(t) for t in templates], indent=2))
        return EXIT_OK
    for t in templates:
        print(f"{t.rpt_id}  {t.name} ({t.level.value} level)")
        print(f"    formats: {', '.join(t.formats)}; sorted by {t.sort_spec()}")
        for name, field in t.fields.items():
            print(f"    filter {name} ({field.type.value}): {field.label}")
    return EXIT_OK


def _template_json(template: ReportTemplate) -> dict[str, object]:
    return {
        "rptId": template.rpt_id,
        "name": template.name,
        "description": template.description,
        "level": template.level.value,
        "formats": template.formats,
        "defaultSort": template.sort_spec(),
        "fields": [
            {"fieldName": name, "fieldType": f.type.value, "label": f.label}
            for name, f in template.fields.items()
        ],
        "columns": [{"name": c.name, "label": c.label} for c in template.columns],
    }


@contextlib.asynccontextmanager
async def _store(settings: Settings) -> AsyncIterator[JobStore]:
    pool = await create_pool(settings.database_url, max_size=1)
    try:
        yield JobStore(
            pool,
            cloudevents_source=settings.cloudevents_source,
            software_version=software_version_number(),
        )
    finally:
        await pool.close()


def _print_fields(version: ExecutionLog) -> None:
    for name, value in version.to_json().items():
        print(f"{name:>23}: {'' if value is None else value}")


def _job_id(text: str) -> str:
    try:
        return normalize_guid(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a job id: give 32 hex digits or a dashed UUID"
        ) from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="report-worker",
        description="Turns report kickoff events into versioned jobs and files. "
        "Settings come from REPORTS_* environment variables (see README).",
    )
    parser.add_argument("--version", action="version", version=__version__)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    def add(name: str, handler: Command, help: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help, description=help)
        sub.set_defaults(command=handler)
        return sub

    add("migrate", _migrate, "create or upgrade the database schema")
    seeding = add("seed", _seed, "load the deterministic demo clinical dataset")
    seeding.add_argument("--seed", type=int, default=1, help="random seed")
    seeding.add_argument(
        "--subjects",
        type=int,
        default=DatasetSize.subjects,
        help="how many subjects, each with six visits (default %(default)s)",
    )
    add("run", _run, "consume kickoffs and run jobs until SIGTERM or SIGINT")
    add(
        "retrial",
        _retrial,
        "only re-publish due failed and stalled jobs, until SIGTERM or SIGINT",
    )
    _kickoff_arguments(add("kickoff", _kickoff, "publish one kickoff event"))
    for name, handler, text in (
        ("status", _status, "the current ExecutionLog of a job"),
        ("history", _history, "every version of a job's ExecutionLog"),
    ):
        sub = add(name, handler, text)
        sub.add_argument("job_id", metavar="JOBID", type=_job_id)
        sub.add_argument("--json", action="store_true", help="print JSON")
    purging = add("purge", _purge, "delete old report files, recorded on their jobs")
    purging.add_argument(
        "--older-than", required=True, metavar="AGE", help="e.g. 30d, 12h"
    )
    purging.add_argument("--dry-run", action="store_true", help="only list them")
    listing = add("templates", _templates, "the report templates")
    listing.add_argument("--json", action="store_true", help="print JSON")
    return parser


def _kickoff_arguments(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--file", help="a kickoff event as JSON ('-' for stdin)")
    sub.add_argument(
        "--job-id", type=_job_id, help="default: the file's, else a new GUID"
    )
    sub.add_argument("--mode", choices=["test", "active", "training"])
    sub.add_argument("--study-id", help="omit for a tenant report")
    sub.add_argument("--rpt-id", help="the template's rptId")
    sub.add_argument("--format", help="PDF, XLSX, CSV, ...")
    sub.add_argument("--user-id", help="the requesting user's GUID")
    sub.add_argument("--comment")
    sub.add_argument("--name", help="report name (default: the template's)")
    sub.add_argument(
        "--filter",
        action="append",
        default=[],
        metavar="NAME:TYPE:VALUE[,VALUE]",
        help="a field spec to filter by, e.g. ruleState:list:approved",
    )
    sub.add_argument(
        "--label",
        action="append",
        default=[],
        metavar="NAME:TYPE:VALUE[,VALUE]",
        help="a display label for the report header (extFieldSpecsList)",
    )
    sub.add_argument("--traceparent", help="a W3C traceparent to pass on")
    sub.add_argument("--json", action="store_true", help="print JSON")


if __name__ == "__main__":
    sys.exit(main())
