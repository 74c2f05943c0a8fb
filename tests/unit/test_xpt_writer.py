"""The XPORT writer, checked by reading its files back with pyreadstat."""

import math
import re
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyreadstat
import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.reports.writers.base import ColumnKind, ReportColumn, ReportHeader, Row
from service.reports.writers.xpt_writer import (
    SAS_MISSING,
    XptWriter,
    dataset_name,
    ibm_double,
    sas_names,
)

RUN_AT = datetime(2025, 10, 27, 10, 0, tzinfo=UTC)
SAS_NAME = re.compile(r"^[A-Z_][A-Z0-9_]{0,7}$")


def header(*columns: ReportColumn, report_name: str = "Rule Listing") -> ReportHeader:
    return ReportHeader(
        report_name=report_name,
        template_name="Rule Listing",
        mode="TEST",
        study=None,
        run_at=RUN_AT,
        user_id="123E4567E89B12D3A456426614174000",
        search_spec="",
        columns=columns,
        ext_labels=[("ruleState", ["a", "b"])],
    )


async def batches_of(*batches: Sequence[Row]) -> AsyncIterator[Sequence[Row]]:
    for batch in batches:
        yield batch


async def render(report: ReportHeader, *batches: Sequence[Row]) -> bytes:
    chunks = XptWriter().render(report, batches_of(*batches))
    return b"".join([chunk async for chunk in chunks])


async def read_back(
    tmp_path: Path, report: ReportHeader, *batches: Sequence[Row]
) -> tuple[dict[str, list[Any]], Any]:
    """The columns and metadata pyreadstat reads from the rendered file."""
    path = tmp_path / "report.xpt"
    path.write_bytes(await render(report, *batches))
    data, meta = pyreadstat.read_xport(path, output_format="dict", encoding="latin1")
    return dict(data), meta


def from_ibm(data: bytes) -> float:
    """An IBM/360 double as a Python float, written independently of the writer."""
    sign = -1.0 if data[0] & 0x80 else 1.0
    exponent = (data[0] & 0x7F) - 64
    return sign * math.ldexp(int.from_bytes(data[1:], "big"), 4 * exponent - 56)


async def test_variable_names_are_valid_sas_names_derived_and_deduplicated(
    tmp_path: Path,
) -> None:
    report = header(
        ReportColumn("subject_number", "Subject number"),
        ReportColumn("subject_name", "Subject name"),
        ReportColumn("subject_site", "Site"),
        ReportColumn("2nd visit", "Second visit"),
        ReportColumn("form", "Form"),
    )

    _, meta = await read_back(tmp_path, report, [("1", "a", "b", "c", "d")])

    names = ["SUBJECT_", "SUBJECT1", "SUBJECT2", "_2ND_VIS", "FORM"]
    assert meta.column_names == names
    assert all(SAS_NAME.match(name) for name in meta.column_names)
    assert meta.column_labels == [
        "Subject number",
        "Subject name",
        "Site",
        "Second visit",
        "Form",
    ]


def test_deduplicated_names_stay_within_eight_characters() -> None:
    names = sas_names(["visit_date_" + str(n) for n in range(12)])

    assert len(set(names)) == 12
    assert names[:3] == ["VISIT_DA", "VISIT_D1", "VISIT_D2"]
    assert names[11] == "VISIT_11"


async def test_labels_are_cut_to_forty_characters(tmp_path: Path) -> None:
    report = header(ReportColumn("form", "F" * 50), report_name="R" * 50)

    _, meta = await read_back(tmp_path, report, [("x",)])

    assert meta.column_labels == ["F" * 40]
    assert meta.file_label == "R" * 40


async def test_dataset_is_named_for_the_template_and_labelled_with_the_report(
    tmp_path: Path,
) -> None:
    report = header(ReportColumn("form", "Form"), report_name="Rules of study 7")

    _, meta = await read_back(tmp_path, report, [("x",)])

    assert meta.table_name == "RULELIST"
    assert meta.file_label == "Rules of study 7"


def test_dataset_name_is_a_sas_name_for_any_template_name() -> None:
    assert dataset_name("Subject listing (v2)") == "SUBJECTL"
    assert dataset_name("2025 visits") == "_2025VIS"
    assert dataset_name("Überblick") == "BERBLICK"
    assert dataset_name("—") == "REPORT"


async def test_every_row_given_is_read_back_across_batches(tmp_path: Path) -> None:
    report = header(
        ReportColumn("n", "N", ColumnKind.INTEGER),
        ReportColumn("form", "Form", width=3),
    )
    rows = [(n, f"F{n}") for n in range(25)]

    data, meta = await read_back(tmp_path, report, rows[:10], [], rows[10:])

    assert meta.number_rows == 25
    assert data["N"] == list(range(25))
    assert data["FORM"] == [f"F{n}" for n in range(25)]


async def test_numbers_read_back_equal(tmp_path: Path) -> None:
    report = header(ReportColumn("x", "X", ColumnKind.NUMBER))
    values: list[float | Decimal] = [
        0,
        1,
        -1,
        2**53,
        Decimal("0.1"),
        Decimal("-123456.789"),
        1e10,
        1e-70,
    ]

    data, _ = await read_back(tmp_path, report, [(value,) for value in values])

    assert data["X"] == [pytest.approx(float(v), rel=1e-12) for v in values]


async def test_dates_read_back_as_dates_with_the_date9_format(tmp_path: Path) -> None:
    report = header(ReportColumn("visit", "Visit", ColumnKind.DATE))
    days = [date(1960, 1, 1), date(1959, 12, 31), date(2025, 10, 27)]

    data, meta = await read_back(tmp_path, report, [(day,) for day in days])

    assert data["VISIT"] == days
    assert meta.original_variable_types == {"VISIT": "DATE9."}


async def test_date_times_read_back_as_utc_times_with_a_datetime_format(
    tmp_path: Path,
) -> None:
    report = header(ReportColumn("updated_at", "Updated", ColumnKind.DATE_TIME))
    paris = timezone(timedelta(hours=1))
    moments = [
        datetime(1960, 1, 1, tzinfo=UTC),
        datetime(2025, 10, 27, 11, 0, 0, 250000, tzinfo=paris),
    ]

    data, meta = await read_back(tmp_path, report, [(moment,) for moment in moments])

    assert data["UPDATED_"] == [m.astimezone(UTC).replace(tzinfo=None) for m in moments]
    assert meta.original_variable_types == {"UPDATED_": "DATETIME20."}


async def test_booleans_read_back_as_one_and_zero(tmp_path: Path) -> None:
    report = header(ReportColumn("active", "Active", ColumnKind.BOOLEAN))

    data, _ = await read_back(tmp_path, report, [(True,), (False,)])

    assert data["ACTIVE"] == [1.0, 0.0]


async def test_text_longer_than_its_width_is_cut_to_it(tmp_path: Path) -> None:
    report = header(
        ReportColumn("code", "Code", width=4),
        ReportColumn("note", "Note", width=500),
    )
    guid = uuid.UUID("6a7c29dd-0112-41df-be1b-64399283c860")

    data, meta = await read_back(tmp_path, report, [(guid, "n" * 300)])

    assert data["CODE"] == ["6a7c"]
    assert data["NOTE"] == ["n" * 200]
    assert meta.variable_storage_width == {"CODE": 4, "NOTE": 200}


async def test_text_outside_latin1_becomes_question_marks(tmp_path: Path) -> None:
    report = header(ReportColumn("name", "Name", width=8))

    data, _ = await read_back(tmp_path, report, [("Zoë ☃",)])

    assert data["NAME"] == ["Zoë ?"]


async def test_missing_values_read_back_as_missing(tmp_path: Path) -> None:
    kinds = list(ColumnKind)
    report = header(*(ReportColumn(f"c_{kind.name}", kind, kind) for kind in kinds))
    first = ("a", 1, Decimal(2), date(2025, 1, 1), RUN_AT, True)

    data, _ = await read_back(tmp_path, report, [first, (None,) * len(kinds)])

    assert [values[1] for values in data.values()] == ["", *[None] * 5]


async def test_file_is_whole_80_byte_records(tmp_path: Path) -> None:
    report = header(ReportColumn("n", "N", ColumnKind.INTEGER))

    content = await render(report, [(1,), (2,), (3,)])

    assert len(content) % 80 == 0
    assert content.endswith(b" " * (80 - 3 * 8))


async def test_header_is_sent_before_any_row_is_read() -> None:
    report = header(ReportColumn("n", "N", ColumnKind.INTEGER))
    batches_read = 0

    async def batches() -> AsyncIterator[Sequence[Row]]:
        nonlocal batches_read
        for batch in ([(1,)], [(2,)]):
            batches_read += 1
            yield batch

    chunks = XptWriter().render(report, batches())
    first = await anext(chunks)

    assert first.startswith(b"HEADER RECORD*******LIBRARY")
    assert batches_read == 0
    assert [chunk async for chunk in chunks][:2] == [ibm_double(1), ibm_double(2)]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.0, "0000000000000000"),
        (1.0, "4110000000000000"),
        (-1.0, "C110000000000000"),
        (0.1, "401999999999999A"),
        (100.0, "4264000000000000"),
        (1e10, "492540BE40000000"),
    ],
)
def test_ibm_double_matches_known_encodings(value: float, expected: str) -> None:
    assert ibm_double(value).hex().upper() == expected


@given(
    st.floats(min_value=1e-78, max_value=7e75),
    st.booleans(),
)
def test_ibm_double_is_exact_across_its_range(magnitude: float, negative: bool) -> None:
    value = -magnitude if negative else magnitude

    assert from_ibm(ibm_double(value)) == value


def test_ibm_double_sends_values_it_cannot_hold_to_zero_missing_or_an_error() -> None:
    assert ibm_double(1e-80) == bytes(8)
    assert ibm_double(math.nan) == SAS_MISSING
    assert ibm_double(math.inf) == SAS_MISSING
    with pytest.raises(ValueError, match="beyond the SAS transport range"):
        ibm_double(1e76)
