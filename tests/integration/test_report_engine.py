"""The report engine on the seeded clinical dataset: each fieldType's
semantics checked against a count made independently in SQL."""

import csv
import io
import uuid
from pathlib import Path
from typing import Any

import pytest

from service.database import Pool
from service.errors import ReportFailed
from service.kickoff import Mode
from service.reports.engine import JobRequest, ReportOutcome, generate, plan_report
from service.reports.templates import builtin_templates
from service.storage import ReportStorage
from tests.helpers import RULE_LISTING, STUDY_ID, SUBJECT_LISTING, job_request

pytestmark = pytest.mark.integration

SUBJECT_VISITS = "8F4E6A2B9C0D4E1F8A7B6C5D4E3F2A10"
TENANT_ENROLLMENT = "D1E2F3A4B5C64D7E8F9A0B1C2D3E4F50"


def request(rpt_id: str, *specs: dict[str, Any], **changes: Any) -> JobRequest:
    fresh = {"job_id": uuid.uuid4().hex.upper(), "mode": Mode.ACTIVE}
    return job_request(*specs, rpt_id=rpt_id, **{**fresh, **changes})


def spec(name: str, kind: str, *values: str) -> dict[str, Any]:
    return {"fieldName": name, "fieldType": kind, "fieldValueList": list(values)}


async def run(pool: Pool, tmp_path: Path, job: JobRequest) -> list[list[str]]:
    storage = ReportStorage(tmp_path.as_uri())
    plan = plan_report(builtin_templates(), job)
    outcome: ReportOutcome = await generate(
        pool, storage, plan, job, uuid.uuid4().hex.upper()
    )
    rows = list(csv.reader(io.StringIO((await storage.read(outcome.key)).decode())))
    assert len(rows) - 1 == outcome.rec_count
    return rows[1:]


async def count(pool: Pool, sql: str, *args: object) -> int:
    value = await pool.fetchval(sql, *args)
    assert isinstance(value, int)
    return value


async def test_list_filter_keeps_any_of_the_values(pool: Pool, tmp_path: Path) -> None:
    job = request(RULE_LISTING, spec("ruleState", "list", "approved", "published"))
    rows = await run(pool, tmp_path, job)
    expected = await count(
        pool,
        "SELECT count(*) FROM clinical.rule WHERE study_id = $1 AND mode = 'active'"
        " AND state IN ('approved', 'published')",
        uuid.UUID(STUDY_ID),
    )
    assert len(rows) == expected > 0
    assert {row[3] for row in rows} == {"approved", "published"}


async def test_date_range_is_inclusive_on_both_ends(pool: Pool, tmp_path: Path) -> None:
    job = request(SUBJECT_VISITS, spec("dateRange", "date", "2024-03-01", "2024-03-31"))
    rows = await run(pool, tmp_path, job)
    expected = await count(
        pool,
        "SELECT count(*) FROM clinical.visit WHERE study_id = $1 AND mode = 'active'"
        " AND visit_date BETWEEN '2024-03-01' AND '2024-03-31'",
        uuid.UUID(STUDY_ID),
    )
    assert len(rows) == expected > 0
    assert min(row[5] for row in rows) >= "2024-03-01"
    assert max(row[5] for row in rows) <= "2024-03-31"


async def test_one_date_is_that_day(pool: Pool, tmp_path: Path) -> None:
    day = await pool.fetchval(
        "SELECT min(visit_date) FROM clinical.visit WHERE study_id = $1"
        " AND mode = 'active'",
        uuid.UUID(STUDY_ID),
    )
    rows = await run(
        pool, tmp_path, request(SUBJECT_VISITS, spec("dateRange", "date", str(day)))
    )
    assert rows
    assert {row[5] for row in rows} == {str(day)}


async def test_number_range_and_boolean_and_string(pool: Pool, tmp_path: Path) -> None:
    job = request(
        SUBJECT_LISTING,
        spec("birthYear", "number", "1960", "1979"),
        spec("randomized", "boolean", "true"),
    )
    rows = await run(pool, tmp_path, job)
    expected = await count(
        pool,
        "SELECT count(*) FROM clinical.subject WHERE study_id = $1"
        " AND mode = 'active' AND birth_year BETWEEN 1960 AND 1979 AND randomized",
        uuid.UUID(STUDY_ID),
    )
    assert len(rows) == expected > 0
    one = rows[0][3]
    single = await run(
        pool, tmp_path, request(SUBJECT_LISTING, spec("subjectNumber", "string", one))
    )
    assert [row[3] for row in single] == [one]


async def test_date_time_range_on_rules(pool: Pool, tmp_path: Path) -> None:
    job = request(
        RULE_LISTING,
        spec(
            "updatedAt", "date-time", "2024-06-01T00:00:00+02:00", "2025-01-01T00:00Z"
        ),
    )
    rows = await run(pool, tmp_path, job)
    expected = await count(
        pool,
        "SELECT count(*) FROM clinical.rule WHERE study_id = $1 AND mode = 'active'"
        " AND updated_at BETWEEN '2024-05-31T22:00Z' AND '2025-01-01T00:00Z'",
        uuid.UUID(STUDY_ID),
    )
    assert len(rows) == expected


async def test_guid_list_filters_by_site(pool: Pool, tmp_path: Path) -> None:
    site = await pool.fetchval(
        "SELECT id FROM clinical.site WHERE study_id = $1 AND mode = 'active'"
        " ORDER BY site_number LIMIT 1",
        uuid.UUID(STUDY_ID),
    )
    dashed_lower = str(site)
    rows = await run(
        pool, tmp_path, request(SUBJECT_LISTING, spec("SITEID", "list", dashed_lower))
    )
    expected = await count(
        pool, "SELECT count(*) FROM clinical.subject WHERE site_id = $1", site
    )
    assert len(rows) == expected > 0
    assert len({row[1] for row in rows}) == 1


async def test_mode_scopes_the_report(pool: Pool, tmp_path: Path) -> None:
    test_rows = await run(pool, tmp_path, request(SUBJECT_LISTING, mode=Mode.TEST))
    expected = await count(
        pool,
        "SELECT count(*) FROM clinical.subject WHERE study_id = $1 AND mode = 'test'",
        uuid.UUID(STUDY_ID),
    )
    assert len(test_rows) == expected > 0


async def test_tenant_template_runs_across_all_studies(
    pool: Pool, tmp_path: Path
) -> None:
    rows = await run(pool, tmp_path, request(TENANT_ENROLLMENT, study_id=None))
    assert len({row[0] for row in rows}) == 3
    expected = await count(
        pool, "SELECT count(*) FROM clinical.subject WHERE mode = 'active'"
    )
    assert len(rows) == expected


async def test_study_template_without_study_fails_with_reason(
    pool: Pool, tmp_path: Path
) -> None:
    with pytest.raises(ReportFailed, match="needs a studyId"):
        await run(pool, tmp_path, request(SUBJECT_LISTING, study_id=None))


async def test_no_partial_file_is_left_when_a_report_fails(
    pool: Pool, tmp_path: Path
) -> None:
    job = request(SUBJECT_LISTING)
    plan = plan_report(builtin_templates(), job)
    broken = plan.template.model_copy(update={"source": "SELECT 1/0 AS study_id"})
    with pytest.raises(ReportFailed) as caught:
        await generate(
            pool,
            ReportStorage(tmp_path.as_uri()),
            type(plan)(broken, plan.writer, [], plan.search_spec, plan.sort_spec),
            job,
            uuid.uuid4().hex.upper(),
        )
    assert not caught.value.retryable
    assert list(tmp_path.iterdir()) == []
