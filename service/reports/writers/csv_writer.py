"""CSV: RFC 4180, UTF-8, one header row of column labels, then the rows."""

import csv
import io
from collections.abc import AsyncIterator, Sequence

from service.reports.writers.base import (
    ColumnKind,
    ReportColumn,
    ReportHeader,
    Row,
    as_text,
)

# The csv module already writes str, int, Decimal, date and None (as empty) the
# way the contract wants; only these kinds need converting, so the common rows
# pass through untouched (the writer keeps up with the bare csv loop this way).
_CONVERTED = (ColumnKind.BOOLEAN, ColumnKind.DATE_TIME)


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
        converted = _converted_columns(header.columns)
        async for batch in batches:
            if converted:
                batch = [_convert(row, converted) for row in batch]
            yield _lines(batch)


def _converted_columns(columns: Sequence[ReportColumn]) -> list[int]:
    return [n for n, column in enumerate(columns) if column.kind in _CONVERTED]


def _convert(row: Row, columns: list[int]) -> list[object]:
    cells = list(row)
    for n in columns:
        cells[n] = as_text(cells[n])
    return cells


def _lines(rows: Sequence[Sequence[object]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode("utf-8")
