"""CSV: RFC 4180, UTF-8, one header row of column labels, then the rows."""

import csv
import io
from collections.abc import AsyncIterator, Sequence

from service.reports.writers.base import ReportHeader, Row, as_text


class CsvWriter:
    """A plain table a spreadsheet or the csv module reads as it is.

    The header block (report name, scope, ext labels) is left out on purpose:
    lines above the table would break every CSV reader's row count.
    """

    format = "CSV"
    extension = "csv"
    content_type = "text/csv; charset=utf-8"

    async def render(
        self, header: ReportHeader, batches: AsyncIterator[Sequence[Row]]
    ) -> AsyncIterator[bytes]:
        yield _lines([header.column_labels])
        async for batch in batches:
            yield _lines([[as_text(value) for value in row] for row in batch])


def _lines(rows: Sequence[Sequence[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode("utf-8")
