"""What every report writer shares: the header, the protocol, cell text."""

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol

from service.wire_types import format_time

Row = Sequence[object]


@dataclass(frozen=True)
class ReportHeader:
    """What a report says about itself above its table."""

    report_name: str
    template_name: str
    mode: str
    study: str | None
    run_at: datetime
    user_id: str
    search_spec: str
    column_labels: Sequence[str]
    ext_labels: Sequence[tuple[str, Sequence[str]]] = field(default_factory=tuple)


class ReportWriter(Protocol):
    """Turns a header and batches of rows into the bytes of one file."""

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
    if isinstance(value, date | Decimal):
        return str(value)
    return str(value)
