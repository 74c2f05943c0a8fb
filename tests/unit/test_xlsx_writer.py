"""The XLSX writer, read back with openpyxl as an independent reader."""

import io
import tempfile
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import openpyxl
import pytest

from service.reports.writers import xlsx_writer
from service.reports.writers.base import ColumnKind, ReportColumn, ReportHeader, Row
from service.reports.writers.xlsx_writer import XlsxWriter

COLUMNS = [
    ReportColumn("rule_name", "Rule", ColumnKind.TEXT, 40),
    ReportColumn("hits", "Hits", ColumnKind.INTEGER, 8),
    ReportColumn("score", "Score", ColumnKind.NUMBER, 10),
    ReportColumn("due", "Due", ColumnKind.DATE, 10),
    ReportColumn("updated_at", "Updated", ColumnKind.DATE_TIME, 24),
    ReportColumn("active", "Active", ColumnKind.BOOLEAN, 5),
    ReportColumn("rule_id", "Rule id", ColumnKind.TEXT, 32),
]
HEADER = ReportHeader(
    report_name="Rule Listing",
    template_name="Rule Listing",
    mode="test",
    study="CFD8129A430A473C8A02F4BA5DAAD865",
    run_at=datetime(2025, 10, 27, 10, 0, 0, 123000, tzinfo=UTC),
    user_id="123E4567E89B12D3A456426614174000",
    search_spec="ruleState in (approved)",
    columns=COLUMNS,
    ext_labels=[("Rule state", ["Approved", "Rejected"])],
)
CEST = timezone(timedelta(hours=2))
ROWS: list[Row] = [
    (
        "=1+1",
        42,
        Decimal("3.25"),
        date(2025, 1, 31),
        datetime(2025, 10, 27, 12, 30, tzinfo=CEST),
        True,
        UUID("6a7c29dd-0112-41df-be1b-64399283c860"),
    ),
    ("0012", 10**18, None, None, None, False, None),
    ("plain", -1, Decimal("-0.5"), date(1850, 6, 1), None, None, "x"),
]
HEADER_ROW = 10
"""Row of the column labels: title, 7 header lines, a blank row, then this."""


async def batches_of(rows: Sequence[Row], size: int = 2) -> AsyncIterator[list[Row]]:
    for start in range(0, len(rows), size):
        yield list(rows[start : start + size])


async def render(header: ReportHeader, rows: Sequence[Row]) -> Any:
    chunks = [chunk async for chunk in XlsxWriter().render(header, batches_of(rows))]
    return openpyxl.load_workbook(io.BytesIO(b"".join(chunks)))


def column_values(sheet: Any, col: int, first_row: int) -> list[Any]:
    return [
        row[col - 1] for row in sheet.iter_rows(min_row=first_row, values_only=True)
    ]


async def test_header_block_shows_title_and_ext_labels() -> None:
    sheet = (await render(HEADER, ROWS)).active

    block = column_values(sheet, 1, 1)[: HEADER_ROW - 2]
    assert block[0] == "Rule Listing"
    assert sheet["A1"].font.b
    assert "Mode: test" in block
    assert "Run at: 2025-10-27T10:00:00.123Z" in block
    assert "Rule state: Approved, Rejected" in block


async def test_header_row_is_bold_frozen_and_filtered() -> None:
    sheet = (await render(HEADER, ROWS)).active

    labels = [cell.value for cell in sheet[HEADER_ROW]]
    assert labels == [
        "Rule",
        "Hits",
        "Score",
        "Due",
        "Updated (UTC)",
        "Active",
        "Rule id",
    ]
    assert all(cell.font.b for cell in sheet[HEADER_ROW])
    assert sheet.freeze_panes == f"A{HEADER_ROW + 1}"
    assert sheet.auto_filter.ref == f"A{HEADER_ROW}:G{HEADER_ROW + len(ROWS)}"


async def test_one_sheet_row_per_row_given() -> None:
    book = await render(HEADER, ROWS)

    assert book.sheetnames == ["Report"]
    assert book.active.max_row == HEADER_ROW + len(ROWS)


async def test_cells_are_typed_by_column_kind() -> None:
    sheet = (await render(HEADER, ROWS)).active
    first, second = sheet[HEADER_ROW + 1], sheet[HEADER_ROW + 2]

    assert (first[1].value, first[1].data_type) == (42, "n")
    assert first[2].value == pytest.approx(3.25)
    assert first[3].value == datetime(2025, 1, 31)
    assert first[3].is_date
    assert first[4].value == datetime(2025, 10, 27, 10, 30)
    assert first[5].value is True
    assert second[5].value is False
    assert first[6].value == "6a7c29dd-0112-41df-be1b-64399283c860"


async def test_text_that_looks_like_a_formula_or_number_stays_text() -> None:
    sheet = (await render(HEADER, ROWS)).active
    first, second = sheet[HEADER_ROW + 1], sheet[HEADER_ROW + 2]

    assert (first[0].value, first[0].data_type) == ("=1+1", "s")
    assert (second[0].value, second[0].data_type) == ("0012", "s")


async def test_values_excel_cannot_hold_exactly_are_kept_as_text() -> None:
    sheet = (await render(HEADER, ROWS)).active
    second, third = sheet[HEADER_ROW + 2], sheet[HEADER_ROW + 3]

    assert second[1].value == str(10**18)
    assert third[3].value == "1850-06-01"


async def test_null_values_leave_cells_empty() -> None:
    sheet = (await render(HEADER, ROWS)).active
    second = sheet[HEADER_ROW + 2]

    assert [second[n].value for n in (2, 3, 4, 6)] == [None, None, None, None]


async def test_rows_past_the_sheet_limit_continue_on_new_sheets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(xlsx_writer, "SHEET_ROWS", HEADER_ROW + 3)
    rows = [(f"rule {n}", n, None, None, None, None, None) for n in range(20)]

    book = await render(HEADER, rows)

    assert book.sheetnames == ["Report", "Report (2)", "Report (3)"]
    first, *rest = book.worksheets
    hits = column_values(first, 2, HEADER_ROW + 1)
    for sheet in rest:
        assert [cell.value for cell in sheet[1]][:2] == ["Rule", "Hits"]
        assert sheet.freeze_panes == "A2"
        hits += column_values(sheet, 2, 2)
    assert hits == list(range(20))


async def test_a_failed_render_leaves_no_temporary_files(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))

    async def failing() -> AsyncIterator[list[Row]]:
        yield ROWS
        raise ConnectionResetError("cursor lost")

    with pytest.raises(ConnectionResetError):
        async for _ in XlsxWriter().render(HEADER, failing()):
            pass

    assert list(tmp_path.iterdir()) == []
