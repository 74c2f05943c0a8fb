"""The kickoff event's rules, from the reference page and the contract."""

import json
from typing import Any

import pytest

from service.errors import InvalidKickoff
from service.kickoff import FieldType, Mode, parse_kickoff
from tests.helpers import JOB_ID, STUDY_ID, kickoff


def reference_example() -> dict[str, Any]:
    """The reference page's example: its jobId, mode, studyId and filter."""
    document = kickoff()
    del document["extFieldSpecsList"]
    document["report"]["rptFormat"] = "csv"
    return document


def parse(document: object) -> Any:
    return parse_kickoff(json.dumps(document).encode())


def rejection(document: object) -> InvalidKickoff:
    with pytest.raises(InvalidKickoff) as caught:
        parse(document)
    return caught.value


def test_reference_example_is_valid() -> None:
    event = parse(reference_example())
    assert event.job_id == JOB_ID
    assert event.mode is Mode.TEST
    assert event.study_id == STUDY_ID
    assert event.field_specs_list[0].field_type is FieldType.LIST
    assert event.field_specs_list[0].values == ["approved"]
    assert event.report.rpt_format == "CSV"


def test_absent_mode_means_active_and_absent_study_means_tenant() -> None:
    document = reference_example()
    del document["mode"], document["studyId"]
    event = parse(document)
    assert event.mode is Mode.ACTIVE
    assert event.study_id is None


def test_a_single_field_spec_object_is_taken_as_a_list_of_one() -> None:
    document = reference_example()
    document["fieldSpecsList"] = document["fieldSpecsList"][0]
    document["extFieldSpecsList"] = {
        "fieldName": "Rule state",
        "fieldType": "list",
        "fieldValueList": ["Approved"],
    }
    event = parse(document)
    assert len(event.field_specs_list) == 1
    assert event.ext_field_specs_list[0].values == ["Approved"]


def test_values_may_be_objects_with_an_id() -> None:
    document = reference_example()
    spec = document["fieldSpecsList"][0]
    spec["fieldValueList"] = [{"id": "C36A3197FDEE433FB5547EE83DE99E4B"}, "x"]
    event = parse(document)
    assert event.field_specs_list[0].values == ["C36A3197FDEE433FB5547EE83DE99E4B", "x"]


def test_dashed_lower_case_guids_are_normalized() -> None:
    document = reference_example()
    document["jobId"] = "6a7c29dd-0112-41df-be1b-64399283c860"
    assert parse(document).job_id == JOB_ID


def _set(document: dict[str, Any], path: str, value: object) -> None:
    target: Any = document
    *parents, last = path.split(".")
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    if last.isdigit():
        target[int(last)] = value
    else:
        target[last] = value


BROKEN_LIMITS = [
    ("jobId", "not-a-guid", "jobId"),
    ("mode", "production", "mode"),
    ("studyId", "1234", "studyId"),
    ("fieldSpecsList.0.fieldName", "", "fieldSpecsList[0].fieldName"),
    ("fieldSpecsList.0.fieldName", "f" * 256, "fieldSpecsList[0].fieldName"),
    ("fieldSpecsList.0.fieldType", "enum", "fieldSpecsList[0].fieldType"),
    ("fieldSpecsList.0.fieldSequence", -1, "fieldSpecsList[0].fieldSequence"),
    (
        "fieldSpecsList.0.fieldSequence",
        2_147_483_648,
        "fieldSpecsList[0].fieldSequence",
    ),
    ("fieldSpecsList.0.fieldValueList", "approved", "fieldSpecsList[0].fieldValueList"),
    ("fieldSpecsList.0.fieldValueList.0", "", "fieldSpecsList[0].fieldValueList[0]"),
    (
        "fieldSpecsList.0.fieldValueList.0",
        "v" * 257,
        "fieldSpecsList[0].fieldValueList[0]",
    ),
    ("report.rptId", "AABB", "report.rptId"),
    ("report.rptFormat", "F" * 256, "report.rptFormat"),
    ("report.userId", 42, "report.userId"),
    ("report.comment", "c" * 4001, "report.comment"),
    ("report.rptName", "n" * 256, "report.rptName"),
]


@pytest.mark.parametrize(("path", "value", "named"), BROKEN_LIMITS)
def test_each_broken_limit_names_its_field(
    path: str, value: object, named: str
) -> None:
    document = reference_example()
    _set(document, path, value)
    error = rejection(document)
    assert error.message.startswith(named + ":"), error.message
    assert error.error_type == "ValidationError"


@pytest.mark.parametrize("missing", ["fieldName", "fieldType", "fieldValueList"])
def test_required_field_spec_members_are_required(missing: str) -> None:
    document = reference_example()
    del document["fieldSpecsList"][0][missing]
    error = rejection(document)
    assert f"fieldSpecsList[0].{missing}: Field required" in error.message


def test_missing_job_id_is_named() -> None:
    document = reference_example()
    del document["jobId"]
    assert rejection(document).message.startswith("jobId: Field required")


def test_unknown_fields_are_refused_by_name() -> None:
    document = reference_example()
    document["fieldSpecList"] = []
    assert "fieldSpecList: unknown field" in rejection(document).message


def test_json_types_are_not_coerced() -> None:
    document = reference_example()
    document["fieldSpecsList"][0]["fieldSequence"] = "1"
    assert "fieldSequence" in rejection(document).message


@pytest.mark.parametrize(
    "raw", [b"", b"not json", b"\xff\xfe", b"{", b"[" * 10_000 + b"]" * 10_000]
)
def test_bytes_that_are_not_json_are_named_so(raw: bytes) -> None:
    with pytest.raises(InvalidKickoff) as caught:
        parse_kickoff(raw)
    assert caught.value.error_type == "NotJson"


@pytest.mark.parametrize("document", [[], "text", 3, None])
def test_a_value_that_is_not_an_object_is_refused(document: object) -> None:
    assert rejection(document).error_type == "ValidationError"


def test_an_absent_value_is_refused() -> None:
    with pytest.raises(InvalidKickoff, match="no value"):
        parse_kickoff(None)
