import io
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import UUID

from pypdf import PdfReader

from service.reports.writers.base import ColumnKind, ReportColumn, ReportHeader, Row
from service.reports.writers.pdf_writer import PdfWriter

COLUMNS = (
    ReportColumn("subject", "Subject", ColumnKind.TEXT, 12),
    ReportColumn("visit", "Visit number", ColumnKind.INTEGER, 4),
    ReportColumn("dose", "Dose mg", ColumnKind.NUMBER, 8),
    ReportColumn("born", "Born on", ColumnKind.DATE, 10),
    ReportColumn("seen", "Seen at", ColumnKind.DATE_TIME, 24),
    ReportColumn("consented", "Consented", ColumnKind.BOOLEAN, 5),
    ReportColumn("record", "Record id", ColumnKind.TEXT, 36),
)


def header(columns: Sequence[ReportColumn] = COLUMNS) -> ReportHeader:
    return ReportHeader(
        report_name="Weekly adverse events",
        template_name="Rule Listing",
        mode="STUDY",
        study="CFD8129A430A473C8A02F4BA5DAAD865",
        run_at=datetime(2025, 10, 27, 10, 0, tzinfo=UTC),
        user_id="123E4567E89B12D3A456426614174000",
        search_spec="ruleState in (a)",
        columns=columns,
        ext_labels=[("siteRegion", ["EMEA", "APAC"])],
    )


def row(number: int) -> Row:
    return (
        f"S-{number:05d}",
        number,
        Decimal(number) / 4,
        date(1980, 1, 1 + number % 28),
        datetime(2025, 10, 27, 9, number % 60, tzinfo=UTC),
        number % 2 == 0,
        UUID(int=number),
    )


async def batches_of(rows: Sequence[Row], size: int = 40) -> AsyncIterator[list[Row]]:
    for start in range(0, len(rows), size):
        yield list(rows[start : start + size])


async def render(report: ReportHeader, rows: Sequence[Row]) -> PdfReader:
    chunks = [chunk async for chunk in PdfWriter().render(report, batches_of(rows))]
    # strict: a malformed xref or object would raise rather than be repaired.
    return PdfReader(io.BytesIO(b"".join(chunks)), strict=True)


def page_texts(reader: PdfReader) -> list[str]:
    return [page.extract_text() for page in reader.pages]


async def test_report_reads_back_with_its_header_labels_and_values() -> None:
    rows = [row(1), row(2), (None, None, None, None, None, None, None)]

    reader = await render(header(), rows)

    text = page_texts(reader)[0]
    assert "Report: Weekly adverse events" in text
    assert "Template: Rule Listing" in text
    assert "Study: CFD8129A430A473C8A02F4BA5DAAD865" in text
    assert "Run at: 2025-10-27T10:00:00.000Z" in text
    assert "siteRegion: EMEA, APAC" in text
    for column in COLUMNS:
        assert column.label in text
    for value in ["S-00002", "0.5", "1980-01-03", "2025-10-27T09:02:00.000Z"]:
        assert value in text
    assert "true" in text
    assert "false" in text
    assert str(UUID(int=2)) in text
    assert reader.metadata is not None
    assert reader.metadata.title == "Weekly adverse events"


async def test_more_rows_make_more_pages_each_with_labels_and_its_number() -> None:
    few = await render(header(), [row(n) for n in range(10)])
    many = await render(header(), [row(n) for n in range(400)])

    assert len(few.pages) == 1
    assert len(many.pages) > 4
    for number, text in enumerate(page_texts(many), start=1):
        assert all(column.label in text for column in COLUMNS)
        assert f"Page {number}" in text
    every_value = "".join(page_texts(many))
    assert all(f"S-{n:05d}" in every_value for n in range(400))


async def test_wide_report_is_landscape_and_narrow_report_is_portrait() -> None:
    wide = [ReportColumn(f"c{n}", f"Column {n}", width=30) for n in range(8)]

    landscape = (await render(header(wide), [("x",) * 8])).pages[0].mediabox
    portrait = (await render(header(), [row(1)])).pages[0].mediabox

    assert landscape.width > landscape.height
    assert portrait.width < portrait.height


async def test_empty_report_is_a_valid_pdf_saying_there_are_no_rows() -> None:
    reader = await render(header(), [])

    assert len(reader.pages) == 1
    text = page_texts(reader)[0]
    assert "Report: Weekly adverse events" in text
    assert "Record id" in text
    assert "No rows match this report." in text
    assert "Page 1" in text


async def test_odd_characters_are_escaped_or_replaced_without_breaking_it() -> None:
    columns = [ReportColumn("note", "Note (free \\ text)", width=60)]
    rows: list[Row] = [
        ("Zürich (Mitte) \\ ward 7",),
        ("Москва 東京 🙂",),
        ("tab\there\nnewline ) ( \\",),
    ]

    text = page_texts(await render(header(columns), rows))[0]

    assert "Note (free \\ text)" in text
    assert "Zürich (Mitte) \\ ward 7" in text
    assert "?????? ?? ?" in text
    assert "tab here newline ) ( \\" in text


async def test_value_wider_than_its_column_is_cut_short_with_an_ellipsis() -> None:
    columns = [
        ReportColumn("code", "Code", width=6),
        ReportColumn("next", "Next", width=6),
    ]
    long_value = "ABCDEFGHIJKLMNOPQRSTUVWXYZ" * 2

    text = page_texts(await render(header(columns), [(long_value, "after")]))[0]

    assert long_value not in text
    assert "ABC…" in text
    assert "after" in text


async def test_pages_are_yielded_while_later_batches_are_still_to_come() -> None:
    taken = 0

    async def counted() -> AsyncIterator[list[Row]]:
        nonlocal taken
        for start in range(0, 1000, 200):
            taken += 1
            yield [row(n) for n in range(start, start + 200)]

    chunks = PdfWriter().render(header(), counted())
    await anext(chunks)  # the file's first line, before any row
    first_pages = await anext(chunks)

    assert taken == 1
    assert first_pages.count(b"/Type /Page ") >= 2
    assert [chunk async for chunk in chunks]
    assert taken == 5
