"""The HTML writer, read back with the standard library's HTML parser."""

from collections import Counter
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from html.parser import HTMLParser

from service.reports.writers.base import ColumnKind, ReportColumn, ReportHeader, Row
from service.reports.writers.html_writer import HtmlWriter

COLUMNS = [
    ReportColumn("rule_name", "Rule <name>", ColumnKind.TEXT, 40),
    ReportColumn("hits", "Hits", ColumnKind.INTEGER, 8),
    ReportColumn("due", "Due", ColumnKind.DATE, 10),
    ReportColumn("score", "Score", ColumnKind.NUMBER, 10),
]
HEADER = ReportHeader(
    report_name="Rule Listing & more",
    template_name="Rule Listing",
    mode="test",
    study=None,
    run_at=datetime(2025, 10, 27, 10, 0, 0, 123000, tzinfo=UTC),
    user_id="123E4567E89B12D3A456426614174000",
    search_spec="ruleState in (approved)",
    columns=COLUMNS,
    ext_labels=[("Rule state", ["Approved", "Rejected"])],
)
SCRIPT = "<script>alert('x')</script>"
ROWS: list[Row] = [
    (SCRIPT, 1, date(2025, 1, 31), Decimal("3.25")),
    ("plain", None, None, None),
    ("a & b", 3, date(2025, 2, 1), Decimal("0")),
]
VOID_ELEMENTS = {"meta", "br", "hr", "img", "link", "col"}


class Page(HTMLParser):
    """What a reader of the page sees: title, header block, table cells."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: Counter[str] = Counter()
        self.open: list[str] = []
        self.title = ""
        self.header: dict[str, str] = {}
        self.labels: list[str] = []
        self.rows: list[list[str]] = []
        self._term = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] += 1
        if tag in VOID_ELEMENTS:
            return
        self.open.append(tag)
        if tag == "tr" and "tbody" in self.open:
            self.rows.append([])
        if tag == "td":
            self.rows[-1].append("")

    def handle_endtag(self, tag: str) -> None:
        assert self.open.pop() == tag

    def handle_data(self, data: str) -> None:
        where = self.open[-1] if self.open else ""
        if where == "title":
            self.title += data
        elif where == "dt":
            self._term = data
        elif where == "dd":
            self.header[self._term] = data
        elif where == "th":
            self.labels.append(data)
        elif where == "td":
            self.rows[-1][-1] += data


async def batches_of(rows: Sequence[Row], size: int = 2) -> AsyncIterator[list[Row]]:
    for start in range(0, len(rows), size):
        yield list(rows[start : start + size])


async def render_chunks(rows: Sequence[Row]) -> list[bytes]:
    return [chunk async for chunk in HtmlWriter().render(HEADER, batches_of(rows))]


async def read(rows: Sequence[Row]) -> Page:
    page = Page()
    page.feed(b"".join(await render_chunks(rows)).decode("utf-8"))
    page.close()
    return page


async def test_title_and_header_block_show_the_report_and_ext_labels() -> None:
    page = await read(ROWS)

    assert page.title == "Rule Listing & more"
    assert page.header["Study"] == "All studies (tenant report)"
    assert page.header["Run at"] == "2025-10-27T10:00:00.123Z"
    assert page.header["Rule state"] == "Approved, Rejected"


async def test_table_has_the_column_labels_and_one_row_per_row_given() -> None:
    page = await read(ROWS)

    assert page.labels == ["Rule <name>", "Hits", "Due", "Score"]
    assert page.rows == [
        [SCRIPT, "1", "2025-01-31", "3.25"],
        ["plain", "", "", ""],
        ["a & b", "3", "2025-02-01", "0"],
    ]


async def test_values_with_markup_are_escaped_not_run() -> None:
    chunks = await render_chunks(ROWS)
    page = await read(ROWS)

    assert b"<script" not in b"".join(chunks)
    assert page.tags["script"] == 0
    assert page.rows[0][0] == SCRIPT


async def test_page_needs_nothing_from_outside() -> None:
    text = b"".join(await render_chunks(ROWS)).decode("utf-8")

    assert "src=" not in text
    assert "href=" not in text
    assert "default-src 'none'" in text


async def test_rows_are_sent_batch_by_batch_between_head_and_tail() -> None:
    chunks = await render_chunks(ROWS)

    assert len(chunks) == 1 + 2 + 1
    assert chunks[0].endswith(b"<tbody>\n")
    assert chunks[1].count(b"<tr>") == 2
    assert chunks[-1].startswith(b"</tbody>")


async def test_numeric_columns_are_right_aligned() -> None:
    head = (await render_chunks(ROWS))[0].decode("utf-8")

    assert "td:nth-child(2), th:nth-child(2)" in head
    assert "td:nth-child(4), th:nth-child(4)" in head
    assert "nth-child(1)" not in head
    assert "nth-child(3)" not in head
