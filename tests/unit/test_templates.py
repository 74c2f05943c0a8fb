from typing import Any

import pytest

from service.errors import ReportFailed
from service.reports.engine import JobRequest, plan_report
from service.reports.templates import builtin_templates
from service.sql import parse_statements, statements
from service.storage import object_key
from tests.helpers import STUDY_ID, job_request


def request(**changes: Any) -> JobRequest:
    ruled = {"fieldName": "ruleState", "fieldType": "list", "fieldValueList": ["a"]}
    return job_request(ruled, **changes)


def test_builtin_templates_load_with_unique_ids() -> None:
    names = {t.name for t in builtin_templates()}
    assert {"Rule Listing", "Subject Listing"} <= names


def test_query_scopes_by_mode_and_study_and_passes_values_as_parameters() -> None:
    plan = plan_report(builtin_templates(), request())
    sql, params = plan.template.query("test", STUDY_ID, plan.filters)
    assert "WHERE src.mode = $1 AND src.study_id = $2::uuid" in sql
    assert "src.state = ANY($3::text[])" in sql
    assert sql.endswith("ORDER BY src.form ASC, src.rule_name ASC")
    assert params == ["test", STUDY_ID, ["a"]]
    assert plan.sort_spec == "form ASC, rule_name ASC"


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"rpt_id": "00000000000000000000000000000000"}, "not a known report template"),
        ({"study_id": None}, "needs a studyId"),
        ({"rpt_format": "DOCX"}, "rptFormat DOCX is not offered"),
    ],
)
def test_jobs_that_can_never_run_fail_at_planning(
    changes: dict[str, object], words: str
) -> None:
    with pytest.raises(ReportFailed, match=words) as caught:
        plan_report(builtin_templates(), request(**changes))
    assert not caught.value.retryable


@pytest.mark.parametrize("extension", ["../csv", "csv/..", "", "c.sv", "CSV"])
def test_storage_keys_cannot_be_steered(extension: str) -> None:
    with pytest.raises(ValueError, match="extension"):
        object_key("6A7C29DD011241DFBE1B64399283C860", extension)
    with pytest.raises(ValueError, match="GUID"):
        object_key("../../etc/passwd", "csv")


def test_named_statements_are_parsed_with_their_names() -> None:
    parsed = parse_statements(
        "-- name: a\n-- does a\nSELECT 1\n\n-- name: b\nSELECT 2\n"
    )
    assert parsed == {"a": "-- does a\nSELECT 1", "b": "SELECT 2"}
    assert "close_version" in statements("jobs")
