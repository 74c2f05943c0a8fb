"""One semantics per fieldType, and the canonical currSearchSpec."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from service.errors import ReportFailed
from service.kickoff import FieldSpec, FieldType, Mode
from service.reports.search_spec import (
    MAX_SEARCH_SPEC_LENGTH,
    TemplateField,
    build_filters,
    render_search_spec,
)

OFFERED = {
    "SITEID": TemplateField("SITEID", "site_id", FieldType.LIST, guid=True),
    "ruleState": TemplateField("ruleState", "state", FieldType.LIST),
    "form": TemplateField("form", "form", FieldType.STRING),
    "birthYear": TemplateField("birthYear", "birth_year", FieldType.NUMBER),
    "dateRange": TemplateField("dateRange", "visit_date", FieldType.DATE),
    "updatedAt": TemplateField("updatedAt", "updated_at", FieldType.DATE_TIME),
    "randomized": TemplateField("randomized", "randomized", FieldType.BOOLEAN),
}


def spec(name: str, kind: str, *values: str, sequence: int | None = None) -> FieldSpec:
    return FieldSpec.model_validate(
        {
            "fieldName": name,
            "fieldType": kind,
            "fieldSequence": sequence,
            "fieldValueList": list(values),
        },
        strict=False,
    )


def one_filter(*specs: FieldSpec) -> tuple[str, list[object], str]:
    (only,) = build_filters(OFFERED, specs, "Test")
    sql, params = only.sql(3)
    return sql, params, only.render()


def test_list_is_any_of_the_values() -> None:
    sql, params, text = one_filter(spec("ruleState", "list", "published", "approved"))
    assert sql == "src.state = ANY($3::text[])"
    assert params == [["approved", "published"]]
    assert text == "ruleState IN ('approved', 'published')"


def test_list_of_guids_compares_as_uuids() -> None:
    sql, params, _ = one_filter(
        spec("SITEID", "list", "c36a3197-fdee-433f-b554-7ee83de99e4b")
    )
    assert sql == "src.site_id = ANY($3::uuid[])"
    assert params == [["C36A3197FDEE433FB5547EE83DE99E4B"]]


def test_string_is_equality() -> None:
    sql, params, text = one_filter(spec("form", "string", "Vital Signs"))
    assert params == [["Vital Signs"]]
    assert sql == "src.form = ANY($3::text[])"
    assert text == "form = 'Vital Signs'"


def test_number_is_equality_or_inclusive_range() -> None:
    assert one_filter(spec("birthYear", "number", "1980"))[1] == [[Decimal(1980)]]
    sql, params, text = one_filter(spec("birthYear", "number", "1950", "1960.5"))
    assert sql == "src.birth_year BETWEEN $3 AND $4"
    assert params == [Decimal(1950), Decimal("1960.5")]
    assert text == "birthYear BETWEEN '1950' AND '1960.5'"


def test_date_is_that_day_or_an_inclusive_range() -> None:
    sql, params, _ = one_filter(spec("dateRange", "date", "2025-01-31"))
    assert (sql, params) == ("src.visit_date = ANY($3::date[])", [[date(2025, 1, 31)]])
    sql, params, _ = one_filter(spec("dateRange", "date", "2025-01-01", "2025-03-31"))
    assert sql == "src.visit_date BETWEEN $3 AND $4"
    assert params == [date(2025, 1, 1), date(2025, 3, 31)]


def test_date_time_accepts_offsets_and_renders_utc() -> None:
    _, params, text = one_filter(
        spec("updatedAt", "date-time", "2025-10-27T12:00:00+02:00", "2025-10-28T00:00Z")
    )
    assert params[0] == datetime(2025, 10, 27, 10, tzinfo=UTC)
    assert text == (
        "updatedAt BETWEEN '2025-10-27T10:00:00.000Z' AND '2025-10-28T00:00:00.000Z'"
    )


def test_boolean_takes_true_or_false() -> None:
    assert one_filter(spec("randomized", "boolean", "TRUE"))[1] == [[True]]


@pytest.mark.parametrize(
    ("bad", "words"),
    [
        (spec("birthYear", "number", "nineteen"), "'nineteen' of field 'birthYear'"),
        (spec("birthYear", "number", "NaN"), "of field 'birthYear' is not a number"),
        (spec("dateRange", "date", "31/01/2025"), "is not a date (YYYY-MM-DD)"),
        (spec("updatedAt", "date-time", "2025-10-27T10:00:00"), "with an offset"),
        (spec("randomized", "boolean", "yes"), "is not a boolean"),
        (spec("SITEID", "list", "site-1"), "is not a GUID"),
        (spec("birthYear", "number", "1", "2", "3"), "takes one value or two"),
        (spec("randomized", "boolean", "true", "false"), "takes exactly one value"),
        (spec("visitDay", "date", "2025-01-01"), "field 'visitDay' is not offered"),
        (spec("form", "list", "x"), "has fieldType 'string', not 'list'"),
    ],
)
def test_bad_filters_fail_the_job_naming_field_and_value(
    bad: FieldSpec, words: str
) -> None:
    with pytest.raises(ReportFailed) as caught:
        build_filters(OFFERED, [bad], "Test")
    assert words in caught.value.message
    assert not caught.value.retryable


def test_search_spec_is_canonical_whatever_the_input_order() -> None:
    first = [
        spec("form", "string", "Labs", sequence=2),
        spec("ruleState", "list", "b", "a", sequence=1),
    ]
    text = render_search_spec(
        Mode.TEST,
        "CFD8129A430A473C8A02F4BA5DAAD865",
        build_filters(OFFERED, first, "T"),
    )
    again = render_search_spec(
        Mode.TEST,
        "CFD8129A430A473C8A02F4BA5DAAD865",
        build_filters(OFFERED, list(reversed(first)), "T"),
    )
    assert (
        text
        == again
        == (
            "mode = 'test' AND studyId = 'CFD8129A430A473C8A02F4BA5DAAD865' "
            "AND ruleState IN ('a', 'b') AND form = 'Labs'"
        )
    )


def test_quotes_in_values_are_doubled_in_the_search_spec() -> None:
    text = one_filter(spec("form", "string", "O'Brien"))[2]
    assert text == "form = 'O''Brien'"


def test_a_search_spec_over_32000_characters_fails_the_job() -> None:
    values = [f"{n:0256d}" for n in range(130)]
    filters = build_filters(OFFERED, [spec("ruleState", "list", *values)], "T")
    with pytest.raises(ReportFailed, match=str(MAX_SEARCH_SPEC_LENGTH)):
        render_search_spec(Mode.ACTIVE, None, filters)
