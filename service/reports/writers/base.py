"""What every report writer shares: the header, the columns, the protocol."""

import os
import tempfile
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import BinaryIO, Protocol

from service.wire_types import format_time

Row = Sequence[object]
"""One row as the database returns it: str, int, Decimal, date, aware
datetime, bool, UUID or None, in the order of the report's columns."""

FILE_CHUNK_BYTES = 1024 * 1024


class ColumnKind(StrEnum):
    """What a column holds, so a writer can type its cells."""

    TEXT = "text"
    INTEGER = "integer"
    NUMBER = "number"
    DATE = "date"
    DATE_TIME = "date-time"
    BOOLEAN = "boolean"


@dataclass(frozen=True)
class ReportColumn:
    """One column of a report: its name, display label, kind and text width."""

    name: str
    label: str
    kind: ColumnKind = ColumnKind.TEXT
    width: int = 32
    """The most characters a value shows; fixed-width formats truncate to it."""


@dataclass(frozen=True)
class ReportHeader:
    """What a report says about itself above its table."""

    report_name: str
    template_name: str
    mode: str
    study: str | None
    """The study GUID, or None for a tenant report over all studies."""
    run_at: datetime
    user_id: str
    search_spec: str
    columns: Sequence[ReportColumn]
    ext_labels: Sequence[tuple[str, Sequence[str]]] = field(default_factory=tuple)
    """(fieldName, values) of extFieldSpecsList: shown, never filtered by."""

    @property
    def column_labels(self) -> list[str]:
        return [column.label for column in self.columns]

    def header_lines(self) -> list[tuple[str, str]]:
        """The header block as (label, text) pairs, in the order shown."""
        lines = [
            ("Report", self.report_name),
            ("Template", self.template_name),
            ("Study", self.study or "All studies (tenant report)"),
            ("Mode", self.mode),
            ("Run at", format_time(self.run_at)),
            ("Requested by", self.user_id),
        ]
        lines.extend((name, ", ".join(values)) for name, values in self.ext_labels)
        return lines


class ReportWriter(Protocol):
    """Turns a header and batches of rows into the bytes of one file.

    `render` must hold only a bounded part of the report in memory at once
    (spill to a temporary file when the format needs the whole file first).
    """

    format: str
    extension: str
    content_type: str

    def render(
        self, header: ReportHeader, batches: AsyncIterator[Sequence[Row]]
    ) -> AsyncIterator[bytes]: ...


def as_text(value: object) -> str:
    """A cell as text, in the contract's formats; NULL is empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return format_time(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def spill_file() -> BinaryIO:
    """A temporary file for writers that must finish a file before sending it."""
    return tempfile.TemporaryFile(prefix="report-", suffix=".part")


def read_chunks(file: BinaryIO) -> Iterator[bytes]:
    """The file's bytes from the start, a megabyte at a time."""
    file.flush()
    file.seek(0, os.SEEK_SET)
    while chunk := file.read(FILE_CHUNK_BYTES):
        yield chunk
