"""SAS Transport (XPORT) version 5: one dataset, the file regulators accept.

The file is written record by record as rows arrive, so a report of any size
needs memory for one batch only: no SAS library for Python writes XPORT
without the whole table in memory first. The layout follows SAS technical
note TS-140: 80-byte header records, one 140-byte namestr per variable, then
the observations back to back, padded with blanks to a multiple of 80 bytes.

What version 5 cannot hold, and so this file leaves out or cuts short:
variable names of more than 8 characters (derived and de-duplicated here),
labels of more than 40, text of more than 200 bytes, any character encoding
(there is no field for one: text is written as latin-1), numbers beyond
IBM floating point's 7.2e75, a row count (see `XptWriter.render`), and any
header block: the report name goes into the dataset label, the ext labels and
the other header lines are dropped.
"""

import math
import re
import struct
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from service.reports.writers.base import (
    ColumnKind,
    ReportColumn,
    ReportHeader,
    Row,
    as_text,
)

RECORD_BYTES = 80
MAX_NAME = 8
MAX_LABEL = 40
MAX_TEXT_BYTES = 200
NUMBER_BYTES = 8

SAS_MISSING = b"." + bytes(NUMBER_BYTES - 1)
"""The numeric missing value `.`: 0x2E then zeros."""

SAS_EPOCH = datetime(1960, 1, 1, tzinfo=UTC)
"""Day and second 0 of SAS dates and datetimes."""

SAS_VERSION = "9.4"
SAS_OS = "PYTHON"

NAMESTR = struct.Struct(">hhhh8s40s8shhh2s8shhi52s")
"""One variable's description (TS-140 `NAMESTR`), big-endian, 140 bytes:
type, hash, length, number, name, label, format name, width, decimals,
justification, fill, informat name, width, decimals, position in the
observation, and 52 reserved bytes."""

_NUMERIC = 1
_CHARACTER = 2

_MONTHS = "JANFEBMARAPRMAYJUNJULAUGSEPOCTNOVDEC"
"""Three letters a month, in English whatever the locale, as SAS writes them."""

Encode = Callable[[object], bytes]


class XptWriter:
    """One SAS dataset, named for the template and labelled with the report."""

    format = "XPT"
    extension = "xpt"
    content_type = "application/x-sas-xport"

    async def render(
        self, header: ReportHeader, batches: AsyncIterator[Sequence[Row]]
    ) -> AsyncIterator[bytes]:
        variables = _variables(header.columns)
        yield _file_header(header, variables)

        encoders = [variable.storage.encode for variable in variables]
        written = 0
        async for batch in batches:
            observations = _observations(encoders, batch)
            written += len(observations)
            yield observations

        # With no row count in the file, a reader takes a last observation that
        # is all blanks and shorter than a record for padding: a final row of
        # text columns only, all empty, is lost (pyreadstat drops it).
        if padding := _blanks(-written % RECORD_BYTES):
            yield padding


@dataclass(frozen=True)
class _Storage:
    """How SAS stores a column's cells: type, length, display format, encoder."""

    type: int
    length: int
    encode: Encode
    format: str = ""
    format_width: int = 0


@dataclass(frozen=True)
class _Variable:
    """A column as the namestr record describes it."""

    number: int
    name: str
    label: str
    position: int
    """Where its value starts in an observation."""
    storage: _Storage


def _variables(columns: Sequence[ReportColumn]) -> list[_Variable]:
    names = sas_names([column.name for column in columns])
    variables: list[_Variable] = []
    position = 0
    for name, column in zip(names, columns, strict=True):
        storage = _storage(column)
        number = len(variables) + 1
        variables.append(_Variable(number, name, column.label, position, storage))
        position += storage.length
    return variables


def _storage(column: ReportColumn) -> _Storage:
    if column.kind is ColumnKind.TEXT:
        length = max(1, min(column.width, MAX_TEXT_BYTES))
        return _Storage(_CHARACTER, length, _text_encoder(length))

    to_number, format_name, format_width = _NUMBER_KINDS[column.kind]
    encode = _number_encoder(to_number)
    return _Storage(_NUMERIC, NUMBER_BYTES, encode, format_name, format_width)


def _observations(encoders: Sequence[Encode], batch: Sequence[Row]) -> bytes:
    return b"".join(
        encode(value)
        for row in batch
        for encode, value in zip(encoders, row, strict=True)
    )


# Cells to bytes.


def _text_encoder(length: int) -> Encode:
    def encode(value: object) -> bytes:
        # Text longer than the column's width is cut to it: every observation
        # has the same length. SAS's missing text is blank, as NULL becomes.
        text = as_text(value)[:length]
        return _latin1(text).ljust(length, b" ")

    return encode


def _number_encoder(to_number: Callable[[object], float]) -> Encode:
    def encode(value: object) -> bytes:
        return SAS_MISSING if value is None else ibm_double(to_number(value))

    return encode


def _number(value: object) -> float:
    if isinstance(value, int | float | Decimal):
        return float(value)
    raise TypeError(f"a number column holds {type(value).__name__}: {value!r}")


def _sas_date(value: object) -> float:
    if isinstance(value, date):
        return float(value.toordinal() - SAS_EPOCH.toordinal())
    raise TypeError(f"a date column holds {type(value).__name__}: {value!r}")


def _sas_datetime(value: object) -> float:
    # SAS datetimes carry no zone; seconds are counted in UTC, as the
    # contract's times are.
    if isinstance(value, datetime):
        return (value - SAS_EPOCH).total_seconds()
    raise TypeError(f"a date-time column holds {type(value).__name__}: {value!r}")


def _flag(value: object) -> float:
    return 1.0 if value else 0.0


_NUMBER_KINDS: dict[ColumnKind, tuple[Callable[[object], float], str, int]] = {
    ColumnKind.INTEGER: (_number, "", 0),
    ColumnKind.NUMBER: (_number, "", 0),
    ColumnKind.DATE: (_sas_date, "DATE", 9),
    ColumnKind.DATE_TIME: (_sas_datetime, "DATETIME", 20),
    ColumnKind.BOOLEAN: (_flag, "", 0),
}
"""Numeric kinds: how a cell becomes a SAS number, and its display format."""


def ibm_double(value: float) -> bytes:
    """`value` as an IBM/360 double: sign, base-16 exponent + 64, 56-bit fraction.

    Exact for every finite double in range: 53 significant bits fit in the
    fraction whatever the hexadecimal normalisation shifts out.
    """
    if not math.isfinite(value):
        return SAS_MISSING  # SAS has no infinities or NaN; missing is closest
    if value == 0:
        return bytes(NUMBER_BYTES)

    # abs(value) = mantissa * 2**exponent, mantissa in [0.5, 1); as a base-16
    # fraction in [1/16, 1) that is mantissa / 2**shift * 16**hex_exponent.
    mantissa, exponent = math.frexp(abs(value))
    hex_exponent = -(-exponent // 4)  # ceil(exponent / 4)
    shift = 4 * hex_exponent - exponent  # 0 to 3 leading zero bits
    fraction = int(mantissa * 2**53) << (3 - shift)
    biased = hex_exponent + 64
    if biased < 0:
        return bytes(NUMBER_BYTES)  # below 16**-65: too small to tell from zero
    if biased > 127:
        raise ValueError(f"{value!r} is beyond the SAS transport range of 7.2e75")

    sign = 0x80 if value < 0 else 0
    return bytes([sign | biased]) + fraction.to_bytes(7, "big")


# Names SAS accepts.


def sas_names(names: Sequence[str]) -> list[str]:
    """Version 5 variable names for `names`: 8 upper-case characters, unique."""
    taken: set[str] = set()
    result = []
    for name in names:
        base = candidate = _sas_name(name)
        number = 1
        while candidate in taken:
            suffix = str(number)
            candidate = base[: MAX_NAME - len(suffix)] + suffix
            number += 1
        taken.add(candidate)
        result.append(candidate)
    return result


def _sas_name(name: str) -> str:
    cleaned = re.sub(r"[^A-Z0-9_]", "_", name.upper())
    if not cleaned[:1].isalpha() and not cleaned.startswith("_"):
        cleaned = "_" + cleaned
    return cleaned[:MAX_NAME]


def dataset_name(template_name: str) -> str:
    """The member name: the template's letters and digits, at most 8."""
    cleaned = re.sub(r"[^A-Z0-9]", "", template_name.upper())
    if not cleaned:
        return "REPORT"
    if cleaned[0].isdigit():
        cleaned = "_" + cleaned
    return cleaned[:MAX_NAME]


# Header records.


def _file_header(header: ReportHeader, variables: Sequence[_Variable]) -> bytes:
    """Everything before the first observation: library, member, variables."""
    stamp = _sas_timestamp(header.run_at)
    name = dataset_name(header.template_name)
    label = _field(header.report_name, MAX_LABEL)
    return b"".join(
        [
            _header_record("LIBRARY"),
            _field(f"SAS     SAS     SASLIB  {SAS_VERSION:8}{SAS_OS:8}", 64) + stamp,
            stamp + _blanks(64),
            _header_record("MEMBER", f"{0:017d}160{0:07d}{NAMESTR.size:03d}"),
            _header_record("DSCRPTR"),
            _field(f"SAS     {name:8}SASDATA {SAS_VERSION:8}{SAS_OS:8}", 64) + stamp,
            stamp + _blanks(16) + label + _blanks(8),
            _header_record("NAMESTR", f"{0:06d}{len(variables):04d}{0:020d}"),
            _padded(b"".join(_namestr(v) for v in variables)),
            _header_record("OBS"),
        ]
    )


def _header_record(kind: str, numbers: str = "0" * 30) -> bytes:
    return f"HEADER RECORD*******{kind:8}HEADER RECORD!!!!!!!{numbers}  ".encode()


def _namestr(variable: _Variable) -> bytes:
    storage = variable.storage
    return NAMESTR.pack(
        storage.type,
        0,
        storage.length,
        variable.number,
        _field(variable.name, MAX_NAME),
        _field(variable.label, MAX_LABEL),
        _field(storage.format, MAX_NAME),
        storage.format_width,
        0,
        0,
        bytes(2),
        _blanks(MAX_NAME),
        0,
        0,
        variable.position,
        bytes(52),
    )


def _sas_timestamp(moment: datetime) -> bytes:
    """`ddMMMyy:hh:mm:ss` in UTC, as the library and member headers want it."""
    utc = moment.astimezone(UTC)
    month = _MONTHS[3 * utc.month - 3 : 3 * utc.month]
    return f"{utc:%d}{month}{utc:%y:%H:%M:%S}".encode("ascii")


def _field(text: str, size: int) -> bytes:
    return _latin1(text[:size]).ljust(size, b" ")


def _latin1(text: str) -> bytes:
    # Version 5 has no field naming an encoding; latin-1 is what SAS assumes
    # most often, and a character outside it becomes `?`.
    return text.encode("latin-1", "replace")


def _blanks(size: int) -> bytes:
    return b" " * size


def _padded(records: bytes) -> bytes:
    """`records` with blanks up to the next multiple of 80 bytes."""
    return records + _blanks(-len(records) % RECORD_BYTES)
