"""XLSX: one workbook of typed cells, the header block above the table.

XlsxWriter runs in `constant_memory` mode: each row goes to a temporary file
as soon as the next one starts, so memory stays flat however long the report.
The zip container can only be built once every row is in, so the workbook is
spilled to a temporary file and sent after `close`.
"""

import asyncio
import tempfile
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, BinaryIO

import xlsxwriter

from service.reports.writers.base import (
    ColumnKind,
    ReportColumn,
    ReportHeader,
    Row,
    as_text,
    read_chunks,
    spill_file,
)

SHEET_ROWS = 1_048_576
"""Excel's rows per worksheet; a longer report continues on the next sheet."""

SHEET_NAME = "Report"

MAX_COLUMN_WIDTH = 60
"""Widest column in characters, so one long text column leaves the rest in view."""

EXACT_INTEGER_LIMIT = 10**15
"""Excel keeps 15 significant digits; a longer integer is written as text."""

EXCEL_FIRST_YEAR = 1900

DATE_FORMAT = "yyyy-mm-dd"
DATE_TIME_FORMAT = "yyyy-mm-dd hh:mm:ss.000"

Sheet = Any
"""An `xlsxwriter.worksheet.Worksheet`; the package ships no type stubs."""

CellWriter = Callable[[Sheet, int, int, object], None]


class XlsxWriter:
    """A workbook that opens in Excel with real numbers, dates and booleans.

    Times are written in UTC, since Excel cells carry no time zone; the
    labels of date-time columns say so.
    """

    format = "XLSX"
    extension = "xlsx"
    content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

    async def render(
        self, header: ReportHeader, batches: AsyncIterator[Sequence[Row]]
    ) -> AsyncIterator[bytes]:
        # ignore_cleanup_errors: a cancelled render may leave XlsxWriter's
        # thread writing into the directory while it is being removed.
        with (
            tempfile.TemporaryDirectory(
                prefix="report-xlsx-", ignore_cleanup_errors=True
            ) as parts_dir,
            spill_file() as spill,
        ):
            await _write_workbook(header, batches, spill, parts_dir)
            for chunk in read_chunks(spill):
                yield chunk


async def _write_workbook(
    header: ReportHeader,
    batches: AsyncIterator[Sequence[Row]],
    file: BinaryIO,
    parts_dir: str,
) -> None:
    """Write every row, then the finished workbook into `file`."""
    workbook = _Workbook(header, file, parts_dir)
    try:
        # Threads keep the event loop (and the Kafka heartbeat) running while
        # rows are formatted and, above all, while `close` zips the parts.
        async for batch in batches:
            await asyncio.to_thread(workbook.write_rows, batch)
        await asyncio.to_thread(workbook.close)
    finally:
        workbook.release()


class _Workbook:
    """The workbook being written: its styles, current sheet and next row."""

    _header_row: int
    """The row of column labels on the current sheet."""

    def __init__(self, header: ReportHeader, file: BinaryIO, parts_dir: str) -> None:
        self._book = xlsxwriter.Workbook(
            file,
            {
                "constant_memory": True,
                "tmpdir": parts_dir,
                # PostgreSQL numeric has NaN and ±Infinity; show #NUM!, not fail.
                "nan_inf_to_errors": True,
                # A full sheet of long text can pass 4 GB of XML; zip64 records
                # are only written for the parts that need them.
                "use_zip64": True,
            },
        )
        self._columns = header.columns
        self._title = self._book.add_format({"bold": True, "font_size": 14})
        self._label = self._book.add_format({"bold": True, "bottom": 1})
        self._cells = [
            _cell_writer(column.kind, self._book) for column in header.columns
        ]
        self._sheet = self._new_sheet(SHEET_NAME)
        self._row = _write_header_block(self._sheet, header, self._title)
        self._begin_table()

    def write_rows(self, rows: Sequence[Row]) -> None:
        """Append rows in order, moving to a new sheet when one is full."""
        for values in rows:
            if self._row >= SHEET_ROWS:
                self._continue_on_new_sheet()
            for col, value in enumerate(values):
                if value is not None:
                    self._cells[col](self._sheet, self._row, col, value)
            self._row += 1

    def close(self) -> None:
        """Finish the last sheet and write the zip container to the file."""
        self._end_table()
        self._book.close()

    def release(self) -> None:
        """Close the sheets' row files, which only `close` does otherwise."""
        for sheet in self._book.worksheets():
            sheet.row_data_fh.close()  # closing twice is harmless

    def _new_sheet(self, name: str) -> Sheet:
        sheet = self._book.add_worksheet(name)
        for col, column in enumerate(self._columns):
            sheet.set_column(col, col, _column_width(column))
        return sheet

    def _begin_table(self) -> None:
        labels = [_column_label(column) for column in self._columns]
        for col, label in enumerate(labels):
            self._sheet.write_string(self._row, col, label, self._label)
        self._header_row = self._row
        self._row += 1
        self._sheet.freeze_panes(self._row, 0)

    def _end_table(self) -> None:
        # The filter's range is only known once the sheet's last row is in.
        last_row = max(self._header_row, self._row - 1)
        if self._columns:
            last_col = len(self._columns) - 1
            self._sheet.autofilter(self._header_row, 0, last_row, last_col)

    def _continue_on_new_sheet(self) -> None:
        self._end_table()
        number = len(self._book.worksheets()) + 1
        self._sheet = self._new_sheet(f"{SHEET_NAME} ({number})")
        self._row = 0
        self._begin_table()


def _write_header_block(sheet: Sheet, header: ReportHeader, title: Any) -> int:
    """Write the title and the header lines; return the row of the table."""
    sheet.write_string(0, 0, header.report_name, title)
    row = 1
    for label, text in header.header_lines():
        sheet.write_string(row, 0, f"{label}: {text}")
        row += 1
    return row + 1  # a blank row between the block and the table


def _column_label(column: ReportColumn) -> str:
    if column.kind is ColumnKind.DATE_TIME:
        return f"{column.label} (UTC)"
    return column.label


def _column_width(column: ReportColumn) -> int:
    wanted = max(column.width, len(_column_label(column)))
    return min(wanted, MAX_COLUMN_WIDTH) + 2  # room for the filter button


def _cell_writer(kind: ColumnKind, book: Any) -> CellWriter:
    """How a column of `kind` writes one non-NULL value."""
    if kind is ColumnKind.INTEGER or kind is ColumnKind.NUMBER:
        return _write_number
    if kind is ColumnKind.DATE:
        return _date_writer(book.add_format({"num_format": DATE_FORMAT}))
    if kind is ColumnKind.DATE_TIME:
        return _date_writer(book.add_format({"num_format": DATE_TIME_FORMAT}))
    if kind is ColumnKind.BOOLEAN:
        return _write_boolean
    return _write_text


def _write_text(sheet: Sheet, row: int, col: int, value: object) -> None:
    # write_string, never write: text such as '=1+1' or '0012' stays text.
    sheet.write_string(row, col, as_text(value))


def _write_number(sheet: Sheet, row: int, col: int, value: object) -> None:
    # Excel holds doubles: a Decimal becomes a float (15 significant digits),
    # and an integer too long to survive that is kept as text, digit for digit.
    if type(value) is int and -EXACT_INTEGER_LIMIT < value < EXACT_INTEGER_LIMIT:
        sheet.write_number(row, col, value)
    elif isinstance(value, Decimal | float):
        sheet.write_number(row, col, float(value))
    else:
        _write_text(sheet, row, col, value)


def _write_boolean(sheet: Sheet, row: int, col: int, value: object) -> None:
    if isinstance(value, bool):
        sheet.write_boolean(row, col, value)
    else:
        _write_text(sheet, row, col, value)


def _date_writer(number_format: Any) -> CellWriter:
    """Write dates as Excel dates in `number_format`, date-times in UTC."""

    def write(sheet: Sheet, row: int, col: int, value: object) -> None:
        excel_value = value
        if isinstance(value, datetime) and value.tzinfo is not None:
            excel_value = value.astimezone(UTC).replace(tzinfo=None)
        # Excel has no dates before 1900; those are kept as text.
        if isinstance(excel_value, date) and excel_value.year >= EXCEL_FIRST_YEAR:
            sheet.write_datetime(row, col, excel_value, number_format)
        else:
            _write_text(sheet, row, col, value)

    return write
