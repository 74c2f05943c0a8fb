"""HTML: one self-contained page, the header block above a streamed table."""

from collections.abc import AsyncIterator, Sequence
from html import escape

from service.reports.writers.base import (
    ColumnKind,
    ReportColumn,
    ReportHeader,
    Row,
    as_text,
)

NUMERIC_KINDS = frozenset({ColumnKind.INTEGER, ColumnKind.NUMBER})

# The policy forbids scripts and every outside resource, so the page stays
# inert even if a value were ever to slip past escaping.
HEAD = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" \
content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
"""

STYLE = """
body { font: 13px/1.4 system-ui, sans-serif; color: #111; margin: 1.5em; }
h1 { font-size: 1.4em; margin: 0 0 .5em; }
dl { display: grid; grid-template-columns: max-content auto; gap: .1em 1em;
  margin: 0 0 1.5em; }
dt { font-weight: 600; }
dd { margin: 0; }
table { border-collapse: collapse; }
th, td { border: 1px solid #ccc; padding: .2em .5em; text-align: left;
  vertical-align: top; }
thead th { position: sticky; top: 0; background: #eee;
  box-shadow: inset 0 -2px 0 #666; }
tbody tr:nth-child(even) { background: #f8f8f8; }
@media print {
  body { margin: 0; font-size: 9pt; }
  thead { display: table-header-group; }
  thead th { position: static; border-bottom: 2px solid #666; box-shadow: none; }
  tr { break-inside: avoid; }
}
"""

TAIL = "</tbody>\n</table>\n</body>\n</html>\n"


class HtmlWriter:
    """A page any browser shows and prints, with no scripts or links out.

    The table is sent as its rows arrive; only the current batch is held.
    """

    format = "HTML"
    extension = "html"
    content_type = "text/html; charset=utf-8"

    async def render(
        self, header: ReportHeader, batches: AsyncIterator[Sequence[Row]]
    ) -> AsyncIterator[bytes]:
        yield _page_head(header).encode("utf-8")
        async for batch in batches:
            yield _table_rows(batch).encode("utf-8")
        yield TAIL.encode("utf-8")


def _page_head(header: ReportHeader) -> str:
    """Everything up to and including the opening `<tbody>`."""
    title = escape(header.report_name)
    return "".join(
        [
            HEAD,
            f"<title>{title}</title>\n",
            f"<style>{STYLE}{_alignment_rules(header.columns)}</style>\n",
            f"</head>\n<body>\n<h1>{title}</h1>\n",
            _header_block(header),
            "<table>\n<thead>\n<tr>",
            "".join(f"<th>{escape(column.label)}</th>" for column in header.columns),
            "</tr>\n</thead>\n<tbody>\n",
        ]
    )


def _header_block(header: ReportHeader) -> str:
    items = "".join(
        f"<dt>{escape(label)}</dt><dd>{escape(text)}</dd>\n"
        for label, text in header.header_lines()
    )
    return f"<dl>\n{items}</dl>\n"


def _alignment_rules(columns: Sequence[ReportColumn]) -> str:
    # One rule per numeric column in the head, rather than a class on every
    # cell, keeps a million-row page several megabytes smaller.
    selectors = [
        f"td:nth-child({index}), th:nth-child({index})"
        for index, column in enumerate(columns, start=1)
        if column.kind in NUMERIC_KINDS
    ]
    if not selectors:
        return ""
    rule = "text-align: right; font-variant-numeric: tabular-nums;"
    return ",\n".join(selectors) + " { " + rule + " }\n"


def _table_rows(rows: Sequence[Row]) -> str:
    return "".join(
        "<tr><td>"
        + "</td><td>".join(escape(as_text(value)) for value in row)
        + "</td></tr>\n"
        for row in rows
    )
