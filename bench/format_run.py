"""One measured report run, in a process of its own (see bench.formats).

    python -m bench.format_run DATABASE_URL FORMAT ROWS engine|raw

prints {"rows", "seconds", "peak_rss_mb", "size_bytes"} as JSON. `engine` is the
worker's path (plan, cursor, writer, storage); `raw` reads the same rows with
the same cursor and writes them with the bare library loop.
"""

import asyncio
import csv
import html
import json
import resource
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import asyncpg

from service.database import create_pool
from service.kickoff import FieldSpec, Mode
from service.reports.engine import JobRequest, ReportPlan, generate, plan_report
from service.reports.templates import builtin_templates
from service.reports.writers.xpt_writer import sas_names
from service.storage import ReportStorage

SUBJECT_VISITS = "8F4E6A2B9C0D4E1F8A7B6C5D4E3F2A10"
STUDY_ID = "CFD8129A430A473C8A02F4BA5DAAD865"
BATCH = 2_000

Row = Sequence[object]
RawLoop = Callable[[Path, list[str], AsyncIterator[list[Row]]], Awaitable[int]]


async def raw_csv(
    path: Path, labels: list[str], batches: AsyncIterator[list[Row]]
) -> int:
    rows = 0
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(labels)
        async for batch in batches:
            writer.writerows(batch)
            rows += len(batch)
    return rows


async def raw_xpt(
    path: Path, labels: list[str], batches: AsyncIterator[list[Row]]
) -> int:
    """pyreadstat writes XPORT from a whole DataFrame: gather, then write."""
    import pandas  # here, so the worker's runs do not pay for importing it
    import pyreadstat

    rows = [row async for batch in batches for row in batch]
    frame = pandas.DataFrame.from_records(rows, columns=sas_names(labels))
    for name in frame.columns:
        if (
            frame[name].dtype == object
            and rows
            and isinstance(frame[name].iloc[0], date)
        ):
            frame[name] = pandas.to_datetime(frame[name])
    pyreadstat.write_xport(frame, str(path), file_format_version=5)
    return len(rows)


async def raw_xlsx(
    path: Path, labels: list[str], batches: AsyncIterator[list[Row]]
) -> int:
    """The bare XlsxWriter loop: constant memory, one write_row per row."""
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, labels)
    rows = 0
    async for batch in batches:
        for row in batch:
            rows += 1
            sheet.write_row(rows, 0, row)
    book.close()
    return rows


async def raw_html(
    path: Path, labels: list[str], batches: AsyncIterator[list[Row]]
) -> int:
    """The bare loop: html.escape and an f-string per cell, a write per batch."""
    rows = 0
    with path.open("w", encoding="utf-8") as file:
        head = "".join(f"<th>{html.escape(label)}</th>" for label in labels)
        file.write(f"<table><thead><tr>{head}</tr></thead><tbody>\n")
        async for batch in batches:
            file.write(
                "".join(
                    "<tr>"
                    + "".join(f"<td>{html.escape(str(c))}</td>" for c in row)
                    + "</tr>\n"
                    for row in batch
                )
            )
            rows += len(batch)
        file.write("</tbody></table>\n")
    return rows


async def raw_pdf(
    path: Path, labels: list[str], batches: AsyncIterator[list[Row]]
) -> int:
    """The bare ReportLab canvas loop: drawString per cell, 40 rows a page."""
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.pdfgen.canvas import Canvas

    canvas = Canvas(str(path), pagesize=landscape(A4))
    canvas.setFont("Helvetica", 7)
    step = 780 / len(labels)
    rows = 0
    async for batch in batches:
        for row in batch:
            line = rows % 40
            if line == 0 and rows:
                canvas.showPage()
                canvas.setFont("Helvetica", 7)
            for n, cell in enumerate(row):
                canvas.drawString(30 + n * step, 560 - 13 * line, str(cell))
            rows += 1
    canvas.save()
    return rows


RAW_LOOPS: dict[str, RawLoop] = {
    "CSV": raw_csv,
    "XLSX": raw_xlsx,
    "PDF": raw_pdf,
    "HTML": raw_html,
    "XPT": raw_xpt,
}


async def cutoff_for(conn: asyncpg.Connection, rows: int) -> str:
    """The last visit date that keeps the report at about `rows` rows."""
    day = await conn.fetchval(
        "SELECT visit_date FROM clinical.visit WHERE study_id = $1 AND mode = 'active'"
        " ORDER BY visit_date OFFSET $2 LIMIT 1",
        uuid.UUID(STUDY_ID),
        rows - 1,
    )
    return str(day) if day else "2100-01-01"


def job(report_format: str, last_day: str) -> JobRequest:
    spec = {"fieldName": "dateRange", "fieldType": "date",
            "fieldValueList": ["1900-01-01", last_day]}  # fmt: skip
    return JobRequest(
        job_id=uuid.uuid4().hex.upper(),
        mode=Mode.ACTIVE,
        study_id=STUDY_ID,
        field_specs=[FieldSpec.model_validate(spec, strict=False)],
        ext_field_specs=[],
        rpt_id=SUBJECT_VISITS,
        rpt_format=report_format,
        rpt_name="Subject Visits",
        user_id="123E4567E89B12D3A456426614174000",
        kickoff_at=datetime.now(UTC),
    )


async def run_engine(url: str, request: JobRequest, folder: Path) -> tuple[int, int]:
    pool = await create_pool(url, max_size=1)
    plan = plan_report(builtin_templates(), request)
    storage = ReportStorage(folder.as_uri())
    outcome = await generate(pool, storage, plan, request, uuid.uuid4().hex.upper())
    await pool.close()
    return outcome.rec_count, outcome.file.size_bytes


async def run_raw(url: str, request: JobRequest, folder: Path) -> tuple[int, int]:
    plan: ReportPlan = plan_report(builtin_templates(), request)
    sql, params = plan.template.query(
        request.mode.value, request.study_id, plan.filters
    )
    conn = await asyncpg.connect(url)
    path = folder / "raw.out"
    try:
        async with conn.transaction(readonly=True):
            rows = await RAW_LOOPS[request.rpt_format](
                path,
                [column.label for column in plan.template.columns],
                _batches(conn.cursor(sql, *params, prefetch=BATCH)),
            )
    finally:
        await conn.close()
    return rows, path.stat().st_size


async def _batches(cursor: Any) -> AsyncIterator[list[Row]]:
    batch: list[Row] = []
    async for record in cursor:
        batch.append(tuple(record))
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


async def main(url: str, report_format: str, rows: int, path: str) -> None:
    conn = await asyncpg.connect(url)
    last_day = await cutoff_for(conn, rows)
    await conn.close()
    request = job(report_format, last_day)
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        runner = run_engine if path == "engine" else run_raw
        count, size = await runner(url, request, Path(folder))
        seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"rows": count, "seconds": seconds, "peak_rss_mb": peak,
                      "size_bytes": size}))  # fmt: skip


if __name__ == "__main__":
    database_url, fmt, wanted, which = sys.argv[1:5]
    asyncio.run(main(database_url, fmt, int(wanted), which))
