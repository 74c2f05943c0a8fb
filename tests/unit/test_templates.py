import pytest

from service.errors import ReportFailed
from service.kickoff import FieldSpec, Mode
from service.reports.engine import JobRequest, plan_report
from service.reports.templates import builtin_templates
from service.sql import parse_statements, statements
from service.storage import object_key

RULE_LISTING = "AABB1234DD884FA1A9DC1AFDECBA1A35"
STUDY = "CFD8129A430A473C8A02F4BA5DAAD865"


def request(**changes: object) -> JobRequest:
    fields: dict[str, object] = {
        "job_id": "6A7C29DD011241DFBE1B64399283C860",
        "mode": Mode.TEST,
        "study_id": STUDY,
        "field_specs": [
            FieldSpec.model_validate(
                {
                    "fieldName": "ruleState",
                    "fieldType": "list",
                    "fieldValueList": ["a"],
                },
                strict=False,
            )
        ],
        "ext_field_specs": [],
        "rpt_id": RULE_LISTING,
        "rpt_format": "CSV",
        "rpt_name": "Rule Listing",
        "user_id": "123E4567E89B12D3A456426614174000",
        "kickoff_at": None,
    }
    fields.update(changes)
    return JobRequest(**fields)  # type: ignore[arg-type]


def test_builtin_templates_load_with_unique_ids() -> None:
    names = {t.name for t in builtin_templates()}
    assert {"Rule Listing", "Subject Listing"} <= names


def test_query_scopes_by_mode_and_study_and_passes_values_as_parameters() -> None:
    plan = plan_report(builtin_templates(), request())
    sql, params = plan.template.query("test", STUDY, plan.filters)
    assert "WHERE src.mode = $1 AND src.study_id = $2::uuid" in sql
    assert "src.state = ANY($3::text[])" in sql
    assert sql.endswith("ORDER BY src.form ASC, src.rule_name ASC")
    assert params == ["test", STUDY, ["a"]]
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
