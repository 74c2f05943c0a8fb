"""Runs one report: plan it from the template, stream its rows into a file."""

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime

import obstore.exceptions
import structlog

from service.cancellation import being_cancelled
from service.completion import ReportFile
from service.database import OUTAGES, Connection, Pool
from service.errors import ReportFailed
from service.kickoff import FieldSpec, Mode
from service.reports.search_spec import Filter, build_filters, render_search_spec
from service.reports.templates import Level, ReportTemplate, TemplateCatalogue
from service.reports.writers import ReportHeader, ReportWriter, Row, writer_for
from service.storage import ReportStorage, object_key

log = structlog.get_logger(__name__)

BATCH_ROWS = 2_000
"""Rows fetched from the server-side cursor and written per step."""


@dataclass(frozen=True)
class JobRequest:
    """Everything a job asks of its report, as stored when it was submitted."""

    job_id: str
    mode: Mode
    study_id: str | None
    field_specs: Sequence[FieldSpec]
    ext_field_specs: Sequence[FieldSpec]
    rpt_id: str | None
    rpt_format: str
    rpt_name: str
    user_id: str
    kickoff_at: datetime


@dataclass(frozen=True)
class ReportPlan:
    """A checked report: the template, writer and filters it will run with."""

    template: ReportTemplate
    writer: ReportWriter
    filters: list[Filter]
    search_spec: str
    sort_spec: str


@dataclass(frozen=True)
class ReportOutcome:
    file: ReportFile
    key: str
    rec_count: int


def plan_report(catalogue: TemplateCatalogue, job: JobRequest) -> ReportPlan:
    """Check the job against its template; a job that can never run fails here."""
    template = catalogue.get(job.rpt_id) if job.rpt_id else None
    if template is None:
        raise ReportFailed(
            f"rptId {job.rpt_id} is not a known report template; "
            "`report-worker templates` lists them"
        )
    if template.level is Level.STUDY and job.study_id is None:
        raise ReportFailed(
            f"template '{template.name}' is a study report and needs a studyId; "
            "only tenant templates run with studyId null"
        )
    writer = writer_for(job.rpt_format)
    if writer is None or writer.format not in template.formats:
        raise ReportFailed(
            f"rptFormat {job.rpt_format} is not offered by template "
            f"'{template.name}' (it offers: {', '.join(template.formats)})"
        )
    filters = build_filters(template.offered_fields(), job.field_specs, template.name)
    search_spec = render_search_spec(job.mode, job.study_id, filters)
    return ReportPlan(template, writer, filters, search_spec, template.sort_spec())


async def generate(
    pool: Pool,
    storage: ReportStorage,
    plan: ReportPlan,
    job: JobRequest,
    file_storage_id: str,
) -> ReportOutcome:
    """Query the rows and stream them through the writer into storage.

    A failure removes the partial file; a lost connection or storage outage is
    retryable, anything the query or writer rejects is not.
    """
    key = object_key(file_storage_id, plan.writer.extension)
    sql, params = plan.template.query(job.mode.value, job.study_id, plan.filters)
    counter = _RowCounter()
    try:
        async with (
            pool.acquire() as conn,
            conn.transaction(readonly=True, isolation="repeatable_read"),
        ):
            batches = counter.count(_fetch_batches(conn, sql, params))
            chunks = plan.writer.render(_header(plan, job), batches)
            stored = await storage.put_stream(key, chunks)
    except BaseException as exc:
        await asyncio.shield(storage.delete(key))
        if not isinstance(exc, Exception):
            raise
        if being_cancelled():
            # Cancelled mid-query: closing the connection's transaction may
            # raise ("another operation is in progress") in place of the
            # cancellation; the cancellation is what happened.
            raise asyncio.CancelledError from exc
        raise _classify(exc) from exc
    report_file = ReportFile(
        file_storage_id=file_storage_id,
        content_type=plan.writer.content_type,
        size_bytes=stored.size_bytes,
        sha256=stored.sha256,
    )
    return ReportOutcome(report_file, key, counter.rows)


async def _fetch_batches(
    conn: Connection, sql: str, params: list[object]
) -> AsyncIterator[list[Row]]:
    batch: list[Row] = []
    async for record in conn.cursor(sql, *params, prefetch=BATCH_ROWS):
        batch.append(tuple(record))
        if len(batch) == BATCH_ROWS:
            yield batch
            batch = []
    if batch:
        yield batch


class _RowCounter:
    def __init__(self) -> None:
        self.rows = 0

    async def count(
        self, batches: AsyncIterator[list[Row]]
    ) -> AsyncIterator[list[Row]]:
        async for batch in batches:
            self.rows += len(batch)
            yield batch


def _header(plan: ReportPlan, job: JobRequest) -> ReportHeader:
    return ReportHeader(
        report_name=job.rpt_name,
        template_name=plan.template.name,
        mode=job.mode.value,
        study=job.study_id,
        run_at=job.kickoff_at,
        user_id=job.user_id,
        search_spec=plan.search_spec,
        columns=[column.to_report_column() for column in plan.template.columns],
        ext_labels=[(s.field_name, s.values) for s in job.ext_field_specs],
    )


def _classify(exc: Exception) -> ReportFailed:
    """Outages are retryable; what the query or data rejects is not."""
    if isinstance(exc, ReportFailed):
        return exc
    retryable = isinstance(exc, (*OUTAGES, obstore.exceptions.GenericError))
    return ReportFailed(
        f"report generation failed: {type(exc).__name__}: {exc}"[:4000],
        retryable=retryable,
    )
