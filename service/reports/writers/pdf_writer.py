"""PDF: the header block on page 1, then the rows as a table, page by page.

The file is written here object by object rather than with ReportLab's canvas
or platypus, because both keep every finished page in memory until `save()`
(measured: RSS grows by about 55 MB per 100,000 rows, so a million-row report
would need well over half a gigabyte), and the other maintained libraries we
know of (fpdf2, pikepdf) also build the whole document before writing it.

A paged table needs little of PDF: plain PDF 1.4, the standard Helvetica fonts
with WinAnsiEncoding (so nothing is embedded), one Flate-compressed content
stream per page, written as soon as the page is full. What stays behind until
the end is one offset per object, for the cross-reference table, and one
object number per page, for the page tree: a few megabytes for a million rows.
ReportLab supplies only the glyph widths of the two fonts, which the layout
needs to truncate each cell to its column.
"""

import zlib
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property

from reportlab.pdfbase import pdfmetrics

from service.reports.writers.base import (
    ColumnKind,
    ReportColumn,
    ReportHeader,
    Row,
    as_text,
)

A4_SHORT, A4_LONG = 595.0, 842.0
MARGIN = 36.0
CELL_SIZE = 7.5
"""Font size of the table: the smallest that still prints readably."""
ROW_HEIGHT = 11.0
CELL_RISE = 3.0
"""From the bottom of a row to the baseline of its text."""
LABEL_ROW_HEIGHT = 14.0
CELL_PADDING = 4.0
HEADER_SIZE = 9.0
HEADER_LINE_HEIGHT = 12.0
HEADER_VALUE_LINES = 3
"""A long header value (many ext label values) wraps to this many lines."""
FOOTER_SIZE = 7.0
PAGES_PER_NODE = 1000
"""Pages under one node of the page tree: far below the 8,191 array elements
that Acrobat's documented limits allow, and a two-level tree lets a viewer
find page N of a 20,000-page report without reading every page's entry."""
MAX_COLUMN_CHARACTERS = 60
"""A wider column (free text) is laid out as if it were this wide."""
AVERAGE_CHARACTER = 0.55
"""Helvetica's average glyph width in ems, to turn characters into points."""
MAX_COLUMN_POINTS = MAX_COLUMN_CHARACTERS * AVERAGE_CHARACTER * CELL_SIZE
NO_ROWS = "No rows match this report."

ELLIPSIS = b"\x85"
"""The ellipsis in WinAnsiEncoding: what a truncated cell ends with."""
_SPACE_FOR_CONTROLS = bytes(b if b >= 0x20 else 0x20 for b in range(256))
_RIGHT_ALIGNED = {ColumnKind.INTEGER, ColumnKind.NUMBER}


class PdfWriter:
    """A printable table: landscape when the columns are wide, A4 paper.

    Every page repeats the column labels and carries its page number; a cell
    longer than its column is cut short with an ellipsis.
    """

    format = "PDF"
    extension = "pdf"
    content_type = "application/pdf"

    async def render(
        self, header: ReportHeader, batches: AsyncIterator[Sequence[Row]]
    ) -> AsyncIterator[bytes]:
        table = _PdfTable(header)
        yield table.start()
        async for batch in batches:
            if chunk := table.add_rows(batch):
                yield chunk
        yield table.finish()


class _Font:
    """A standard Type 1 font: its resource name and its glyph widths."""

    def __init__(self, resource: bytes, base_font: str) -> None:
        self.resource = resource
        self.base_font = base_font
        # 1/1000 em per WinAnsi byte, from the font's Adobe metrics.
        self._widths: list[int] = pdfmetrics.getFont(base_font).widths
        self._widest = max(self._widths)

    def width(self, text: bytes, size: float) -> float:
        """The width of encoded text in points."""
        return sum(map(self._widths.__getitem__, text)) * size / 1000

    def fit(self, text: bytes, size: float, room: float) -> bytes:
        """The text, cut short with an ellipsis if it is wider than `room`."""
        room_units = room * 1000 / size
        if len(text) * self._widest <= room_units:
            return text  # cannot overflow: skip the measuring
        if sum(map(self._widths.__getitem__, text)) <= room_units:
            return text
        used = self._widths[ELLIPSIS[0]]
        for end, byte in enumerate(text):
            used += self._widths[byte]
            if used > room_units:
                return text[:end] + ELLIPSIS
        return text


REGULAR = _Font(b"/F1", "Helvetica")
BOLD = _Font(b"/F2", "Helvetica-Bold")


def _encode(text: str) -> bytes:
    """Text in WinAnsiEncoding: other characters become `?`, controls spaces."""
    if text.isascii():  # most cells: the C codec is far faster than cp1252's
        return text.encode("ascii").translate(_SPACE_FOR_CONTROLS)
    return text.encode("cp1252", "replace").translate(_SPACE_FOR_CONTROLS)


def _literal(text: bytes) -> bytes:
    """Encoded text as a PDF string literal."""
    escaped = text.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")
    return b"(" + escaped + b")"


@dataclass(frozen=True)
class _Column:
    """Where one column sits on the page, in points."""

    left: float
    width: float
    right_aligned: bool

    # Cached: they are read for every cell.
    @cached_property
    def room(self) -> float:
        """The width its text may take."""
        return self.width - 2 * CELL_PADDING

    @cached_property
    def text_left(self) -> float:
        return self.left + CELL_PADDING


@dataclass(frozen=True)
class _Layout:
    """The page size and where each column goes: the same on every page."""

    page_width: float
    page_height: float
    columns: tuple[_Column, ...]

    @classmethod
    def for_columns(cls, columns: Sequence[ReportColumn]) -> "_Layout":
        natural = [_natural_width(column) for column in columns]
        landscape = sum(natural) > A4_SHORT - 2 * MARGIN
        page_width, page_height = (
            (A4_LONG, A4_SHORT) if landscape else (A4_SHORT, A4_LONG)
        )
        widths = _shrink_widest(natural, page_width - 2 * MARGIN)
        placed: list[_Column] = []
        left = MARGIN
        for column, width in zip(columns, widths, strict=True):
            placed.append(_Column(left, width, column.kind in _RIGHT_ALIGNED))
            left += width
        return cls(page_width, page_height, tuple(placed))

    @property
    def text_width(self) -> float:
        return self.page_width - 2 * MARGIN

    @property
    def table_width(self) -> float:
        return sum(column.width for column in self.columns)


def _natural_width(column: ReportColumn) -> float:
    """Points for the column's values or its label, whichever is wider."""
    values = min(column.width, MAX_COLUMN_CHARACTERS) * AVERAGE_CHARACTER * CELL_SIZE
    label = BOLD.width(_encode(column.label), CELL_SIZE)
    return min(max(values, label), MAX_COLUMN_POINTS) + 2 * CELL_PADDING


def _shrink_widest(widths: list[float], total: float) -> list[float]:
    """The widths, the widest cut to one cap so that they fit in `total`.

    Narrow columns (numbers, dates, flags) keep their width: cutting the wide
    text columns loses the least.
    """
    if sum(widths) <= total:
        return widths
    remaining, left_to_cap = total, len(widths)
    for width in sorted(widths):
        cap = remaining / left_to_cap
        if width > cap:
            break  # this column and every wider one get the cap
        remaining -= width
        left_to_cap -= 1
    return [min(width, cap) for width in widths]


class _PdfObjects:
    """Numbers the objects of one PDF file and writes them as bytes.

    Remembers only each object's byte offset, for the closing xref table.
    """

    def __init__(self) -> None:
        self._offsets: list[int] = []
        self._position = 0

    def reserve(self) -> int:
        """A number for an object to be written later."""
        self._offsets.append(0)
        return len(self._offsets)

    def start(self) -> bytes:
        # The binary comment tells transfer tools the file is not text.
        return self._emit(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")

    def write(self, number: int, body: bytes) -> bytes:
        self._offsets[number - 1] = self._position
        return self._emit(b"%d 0 obj\n%s\nendobj\n" % (number, body))

    def write_stream(self, number: int, data: bytes) -> bytes:
        packed = zlib.compress(data)
        head = b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(packed)
        return self.write(number, head + packed + b"\nendstream")

    def finish(self, root: int, info: int) -> bytes:
        """The xref table and trailer that close the file."""
        xref_at = self._position
        count = len(self._offsets) + 1
        entries = b"".join(b"%010d 00000 n \n" % at for at in self._offsets)
        return self._emit(
            b"xref\n0 %d\n0000000000 65535 f \n%s" % (count, entries)
            + b"trailer\n<< /Size %d /Root %d 0 R /Info %d 0 R >>\n"
            % (count, root, info)
            + b"startxref\n%d\n%%%%EOF\n" % xref_at
        )

    def _emit(self, data: bytes) -> bytes:
        self._position += len(data)
        return data


@dataclass(frozen=True)
class _HeaderBlock:
    """Page 1's header block: (label, value) literals, one pair per line."""

    lines: list[tuple[bytes, bytes]]
    value_left: float

    @property
    def height(self) -> float:
        # One blank line below it keeps the table apart.
        return (len(self.lines) + 1) * HEADER_LINE_HEIGHT


class _PdfTable:
    """One report as a PDF file, produced in pieces as its pages fill up."""

    def __init__(self, header: ReportHeader) -> None:
        self._layout = _Layout.for_columns(header.columns)
        self._header_block = _header_block(header, self._layout)
        self._labels = self._line_of_cells(BOLD, header.column_labels)
        self._report_name = header.report_name
        self._objects = _PdfObjects()
        self._page_tree = self._objects.reserve()
        self._page_nodes: list[int] = []
        """The page tree's inner nodes, each the parent of PAGES_PER_NODE pages."""
        self._page_ids: list[int] = []
        self._rows: list[bytes] = []
        """The text lines of the page being filled, without their heights."""

    def start(self) -> bytes:
        return self._objects.start()

    def add_rows(self, rows: Sequence[Row]) -> bytes:
        """The pages these rows fill up, as bytes; the rest waits for more rows."""
        finished = bytearray()
        for row in rows:
            self._rows.append(self._line_of_cells(REGULAR, map(as_text, row)))
            if len(self._rows) == self._capacity():
                finished += self._write_page()
        return bytes(finished)

    def finish(self) -> bytes:
        """The last page (or the only one, saying there are no rows) and the end."""
        last_page = b""
        if self._rows or not self._page_ids:
            last_page = self._write_page()
        return last_page + self._write_document_objects()

    def _line_of_cells(self, font: _Font, texts: Iterable[str]) -> bytes:
        """Text operators that show one row's cells, each fitted to its column.

        The line starts at the page's left edge and each cell moves right from
        the one before (`Td` is relative), so the row is made once, when it
        arrives, and placed on the page by one `Tm` with its height.
        """
        ops: list[bytes] = []
        previous = 0.0
        for text, column in zip(texts, self._layout.columns, strict=True):
            fitted = font.fit(_encode(text), CELL_SIZE, column.room)
            if not fitted:
                continue
            left = column.text_left
            if column.right_aligned:
                left += column.room - font.width(fitted, CELL_SIZE)
            ops.append(b"%.2f 0 Td %s Tj\n" % (left - previous, _literal(fitted)))
            previous = left
        return b"".join(ops)

    def _capacity(self) -> int:
        """How many rows the page being filled holds."""
        room = self._table_top(len(self._page_ids) + 1) - LABEL_ROW_HEIGHT - MARGIN
        # A header block taller than the page still leaves one row.
        return max(1, int(room // ROW_HEIGHT))

    def _table_top(self, page_number: int) -> float:
        top = self._layout.page_height - MARGIN
        if page_number == 1:
            top -= self._header_block.height
        return top

    def _write_page(self) -> bytes:
        content = self._draw_page(len(self._page_ids) + 1)
        self._rows = []
        if len(self._page_ids) % PAGES_PER_NODE == 0:
            self._page_nodes.append(self._objects.reserve())
        content_id, page_id = self._objects.reserve(), self._objects.reserve()
        self._page_ids.append(page_id)
        page = b"<< /Type /Page /Parent %d 0 R /Contents %d 0 R >>" % (
            self._page_nodes[-1],
            content_id,
        )
        content_object = self._objects.write_stream(content_id, content)
        return content_object + self._objects.write(page_id, page)

    def _draw_page(self, number: int) -> bytes:
        layout, top = self._layout, self._table_top(number)
        parts = [_draw_stripes(layout, top, len(self._rows))]
        if number == 1:
            parts.append(_draw_header_block(self._header_block, layout))
        parts.append(_draw_column_labels(self._labels, layout, top))
        if self._rows:
            parts.append(_draw_rows(self._rows, top))
        else:
            parts.append(_draw_no_rows(top))
        parts.append(_draw_footer(self._report_name, number, layout))
        return b"".join(parts)

    def _write_document_objects(self) -> bytes:
        """Fonts, page tree, catalog and info: what points at the pages."""
        objects = self._objects
        fonts = {font: objects.reserve() for font in (REGULAR, BOLD)}
        catalog, info = objects.reserve(), objects.reserve()
        written = [objects.write(fonts[font], _font_dict(font)) for font in fonts]
        written += self._write_page_nodes()
        written += [
            objects.write(self._page_tree, self._page_tree_dict(fonts)),
            objects.write(catalog, _catalog_dict(self._page_tree)),
            objects.write(info, _info_dict(self._report_name)),
        ]
        return b"".join(written) + objects.finish(catalog, info)

    def _write_page_nodes(self) -> list[bytes]:
        written = []
        for index, node in enumerate(self._page_nodes):
            start = index * PAGES_PER_NODE
            pages = self._page_ids[start : start + PAGES_PER_NODE]
            body = b"<< /Type /Pages /Parent %d 0 R /Count %d /Kids [%s] >>" % (
                self._page_tree,
                len(pages),
                _references(pages),
            )
            written.append(self._objects.write(node, body))
        return written

    def _page_tree_dict(self, fonts: dict[_Font, int]) -> bytes:
        # Every page inherits MediaBox and Resources from the root.
        font_refs = b" ".join(b"%s %d 0 R" % (f.resource, n) for f, n in fonts.items())
        size = _numbers(self._layout.page_width, self._layout.page_height)
        return b"<< /Type /Pages /Count %d /Kids [%s]\n" % (
            len(self._page_ids),
            _references(self._page_nodes),
        ) + b"/MediaBox [0 0 %s] /Resources << /Font << %s >> >> >>" % (size, font_refs)


def _header_block(header: ReportHeader, layout: _Layout) -> _HeaderBlock:
    """Page 1's header block, its long values wrapped to the page width."""
    pairs = [
        (_encode(f"{label}:"), _encode(text)) for label, text in header.header_lines()
    ]
    value_left = MARGIN + max(BOLD.width(label, HEADER_SIZE) for label, _ in pairs)
    value_left += HEADER_SIZE
    room = layout.page_width - MARGIN - value_left
    lines: list[tuple[bytes, bytes]] = []
    for label, text in pairs:
        for index, part in enumerate(_wrap(text, room)):
            lines.append((_literal(b"" if index else label), _literal(part)))
    return _HeaderBlock(lines, value_left)


def _wrap(text: bytes, room: float) -> list[bytes]:
    """Text broken at spaces into lines of `room`, the last cut short if need be."""
    lines: list[bytes] = []
    line = b""
    for word in text.split(b" "):
        joined = line + b" " + word if line else word
        if line and REGULAR.width(joined, HEADER_SIZE) > room:
            lines.append(line)
            line = word
        else:
            line = joined
    lines.append(line)
    if len(lines) > HEADER_VALUE_LINES:
        # The rest joins the last line shown, which then ends in an ellipsis.
        lines[HEADER_VALUE_LINES - 1 :] = [b" ".join(lines[HEADER_VALUE_LINES - 1 :])]
    return [REGULAR.fit(line, HEADER_SIZE, room) for line in lines]


def _draw_header_block(block: _HeaderBlock, layout: _Layout) -> bytes:
    ops = [b"BT 0 g\n"]
    for index, (label, value) in enumerate(block.lines):
        baseline = (
            layout.page_height - MARGIN - HEADER_SIZE - index * HEADER_LINE_HEIGHT
        )
        ops.append(_text_op(BOLD, HEADER_SIZE, MARGIN, baseline, label))
        ops.append(_text_op(REGULAR, HEADER_SIZE, block.value_left, baseline, value))
    ops.append(b"ET\n")
    return b"".join(ops)


def _draw_column_labels(labels: bytes, layout: _Layout, top: float) -> bytes:
    bottom = top - LABEL_ROW_HEIGHT
    box = _numbers(MARGIN, bottom, layout.table_width, LABEL_ROW_HEIGHT)
    ops = [
        b"0.82 0.86 0.92 rg %s re f\nBT 0 g %s %s Tf\n"
        % (box, BOLD.resource, _numbers(CELL_SIZE))
    ]
    baseline = bottom + (LABEL_ROW_HEIGHT - CELL_SIZE) / 2 + 1
    ops += [b"1 0 0 1 0 %.2f Tm\n" % baseline, labels, b"ET\n"]
    return b"".join(ops)


def _draw_stripes(layout: _Layout, top: float, rows: int) -> bytes:
    """A light band behind every other row, so a line is easy to follow."""
    first = top - LABEL_ROW_HEIGHT - 2 * ROW_HEIGHT
    bands = [
        b"%s re\n"
        % _numbers(MARGIN, first - index * ROW_HEIGHT, layout.table_width, ROW_HEIGHT)
        for index in range(0, rows - 1, 2)
    ]
    return b"0.94 0.95 0.97 rg\n" + b"".join(bands) + b"f\n" if bands else b""


def _draw_rows(rows: list[bytes], top: float) -> bytes:
    ops = [b"BT 0 g %s %s Tf\n" % (REGULAR.resource, _numbers(CELL_SIZE))]
    for index, line in enumerate(rows):
        baseline = top - LABEL_ROW_HEIGHT - (index + 1) * ROW_HEIGHT + CELL_RISE
        ops += [b"1 0 0 1 0 %.2f Tm\n" % baseline, line]
    ops.append(b"ET\n")
    return b"".join(ops)


def _draw_no_rows(top: float) -> bytes:
    baseline = top - LABEL_ROW_HEIGHT - ROW_HEIGHT + CELL_RISE
    text = _literal(_encode(NO_ROWS))
    return (
        b"BT 0 g\n"
        + _text_op(REGULAR, CELL_SIZE, MARGIN + CELL_PADDING, baseline, text)
        + b"ET\n"
    )


def _draw_footer(report_name: str, number: int, layout: _Layout) -> bytes:
    """The report's name on the left, `Page N` on the right, in grey."""
    baseline = MARGIN - 2 * FOOTER_SIZE
    page = _encode(f"Page {number}")
    page_left = layout.page_width - MARGIN - REGULAR.width(page, FOOTER_SIZE)
    name = REGULAR.fit(_encode(report_name), FOOTER_SIZE, layout.text_width / 2)
    return (
        b"BT 0.4 g\n"
        + _text_op(REGULAR, FOOTER_SIZE, MARGIN, baseline, _literal(name))
        + _text_op(REGULAR, FOOTER_SIZE, page_left, baseline, _literal(page))
        + b"ET\n"
    )


def _text_op(
    font: _Font, size: float, left: float, baseline: float, text: bytes
) -> bytes:
    """Operators that show a string literal at a point, inside BT ... ET."""
    return b"%s %s Tf 1 0 0 1 %s Tm %s Tj\n" % (
        font.resource,
        _numbers(size),
        _numbers(left, baseline),
        text,
    )


def _catalog_dict(page_tree: int) -> bytes:
    return b"<< /Type /Catalog /Pages %d 0 R >>" % page_tree


def _references(numbers: Iterable[int]) -> bytes:
    return b" ".join(b"%d 0 R" % number for number in numbers)


def _numbers(*values: float) -> bytes:
    return b" ".join(b"%.2f" % value for value in values)


def _font_dict(font: _Font) -> bytes:
    return (
        b"<< /Type /Font /Subtype /Type1 /BaseFont /%s /Encoding /WinAnsiEncoding >>"
        % (font.base_font.encode("ascii"))
    )


def _info_dict(title: str) -> bytes:
    # UTF-16 with a byte order mark: the title may hold any character.
    utf16 = (b"\xfe\xff" + title.encode("utf-16-be")).hex().encode("ascii")
    return b"<< /Title <%s> /Producer (report-worker) >>" % utf16
