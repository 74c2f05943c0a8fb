"""Whole scenarios: kickoffs on the topic, reports and events out."""

import csv
import hashlib
import io
import itertools
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import asyncpg
import pytest

from service.kickoff import parse_kickoff
from service.settings import Settings
from tests.helpers import (
    JOB_ID,
    STUDY_ID,
    completions,
    dead_letters,
    headers_of,
    kickoff,
    publish,
    running_worker,
    wait_for_status,
)
from tests.unit.test_kickoff import BROKEN_LIMITS, _set

pytestmark = pytest.mark.acceptance

REQUIRED_BY_REFERENCE = {
    "rptFormat", "rptKickoffDatetime", "rptName", "userId", "versionEnd",
    "versionStart",
}  # fmt: skip
GUID_FIELDS = ("id", "rptId", "userId", "fileStorageId")
TIME_FIELDS = ("rptKickoffDatetime", "versionStart", "versionEnd")


def storage_folder(settings: Settings) -> Path:
    return Path(urlparse(settings.storage_url).path)


async def test_reference_example_runs_to_success(settings: Settings) -> None:
    traceparent = b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    async with running_worker(settings):
        await publish(settings, kickoff(), headers=[("traceparent", traceparent)])
        (record,) = await completions(settings, 1)

    headers = headers_of(record)
    assert headers["ce_specversion"] == "1.0"
    assert headers["ce_subject"] == JOB_ID
    assert headers["content-type"] == "application/json"
    assert headers["traceparent"] == traceparent.decode()
    assert record.key == JOB_ID.encode()

    event = json.loads(record.value)
    assert (event["status"], event["attempt"], event["final"]) == ("SUCCESS", 1, True)
    log = event["executionLog"]
    assert {k for k, v in log.items() if v is not None} >= REQUIRED_BY_REFERENCE
    for name in GUID_FIELDS:
        assert re.fullmatch("[0-9A-F]{32}", log[name]), name
    for name in TIME_FIELDS:
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", log[name]), name
    assert log["versionEnd"] == "3099-12-31T00:00:00.000Z"
    assert log["rptName"] == "Rule Listing"
    assert log["objectVersionNumber"] == 3
    assert log["currSearchSpec"] == (
        f"mode = 'test' AND studyId = '{STUDY_ID}' AND ruleState = 'approved'"
    )
    assert log["currSortSpec"] == "form ASC, rule_name ASC"
    assert log["runDuration"] >= 0

    report = storage_folder(settings) / f"{log['fileStorageId']}.csv"
    rows = list(csv.reader(io.StringIO(report.read_text())))
    assert rows[0][:2] == ["Study", "Rule"]
    assert len(rows) - 1 == log["recCount"] > 0
    assert {row[3] for row in rows[1:]} == {"approved"}
    assert event["file"]["sizeBytes"] == report.stat().st_size
    assert event["file"]["fileStorageId"] == log["fileStorageId"]
    assert event["file"]["sha256"] == hashlib.sha256(report.read_bytes()).hexdigest()
    conn = await asyncpg.connect(settings.database_url)
    try:
        kept = await conn.fetchrow(
            "SELECT file_size_bytes, file_sha256 FROM report_job WHERE id = $1", JOB_ID
        )
    finally:
        await conn.close()
    assert kept is not None
    assert (kept["file_size_bytes"], kept["file_sha256"]) == (
        event["file"]["sizeBytes"],
        event["file"]["sha256"],
    )


async def test_each_broken_limit_is_dead_lettered_and_the_next_event_runs(
    settings: Settings,
) -> None:
    broken = []
    for path, value, _ in BROKEN_LIMITS:
        document = kickoff()
        _set(document, path, value)
        broken.append(document)
    async with running_worker(settings):
        await publish(settings, *broken, key=b"broken")
        await publish(settings, kickoff())
        letters = await dead_letters(settings, len(broken))
        await wait_for_status(settings, JOB_ID, "SUCCESS")

    assert len(letters) == len(broken)
    by_offset = sorted(letters, key=lambda r: int(headers_of(r)["original.offset"]))
    for (_, _, named), letter, original in zip(
        BROKEN_LIMITS, by_offset, broken, strict=True
    ):
        headers = headers_of(letter)
        assert headers["error.message"].startswith(named + ":")
        assert headers["error.type"] == "ValidationError"
        assert headers["original.topic"] == settings.kickoff_topic
        assert letter.value == json.dumps(original).encode()
        assert letter.key == b"broken"


async def test_bytes_that_are_not_json_are_dead_lettered_and_consumption_goes_on(
    settings: Settings,
) -> None:
    garbage = [b"\x00\xff\xfe not json", b'{"jobId": ', b""]
    async with running_worker(settings):
        await publish(settings, *garbage, key=b"junk")
        await publish(settings, kickoff())
        letters = await dead_letters(settings, len(garbage))
        await wait_for_status(settings, JOB_ID, "SUCCESS")
    assert sorted(letter.value for letter in letters) == sorted(garbage)
    assert {headers_of(letter)["error.type"] for letter in letters} == {"NotJson"}


async def test_kickoff_of_unknown_job_without_report_is_dead_lettered(
    settings: Settings,
) -> None:
    document = kickoff()
    del document["report"]
    async with running_worker(settings):
        await publish(settings, document)
        (letter,) = await dead_letters(settings, 1)
    headers = headers_of(letter)
    assert headers["error.type"] == "UnknownJob"
    assert headers["error.message"].startswith("report: required")


async def test_duplicate_kickoff_of_finished_job_changes_nothing(
    settings: Settings,
) -> None:
    async with running_worker(settings):
        await publish(settings, kickoff())
        await completions(settings, 1)
        await publish(settings, kickoff(), kickoff())
        # A later job on the same partition proves the duplicates were consumed.
        await publish(settings, kickoff(job_id=JOB_ID[:-1] + "1"), key=JOB_ID.encode())
        events = await completions(settings, 2)
        extra = await completions(settings, 3, within=2)

    assert len(extra) == 2
    assert [json.loads(e.value)["jobId"] for e in events].count(JOB_ID) == 1
    conn = await asyncpg.connect(settings.database_url)
    try:
        versions = await conn.fetchval(
            "SELECT count(*) FROM execution_log WHERE id = $1", JOB_ID
        )
    finally:
        await conn.close()
    assert versions == 3


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        (
            {
                "fieldSpecsList": [
                    {"fieldName": "visitDay", "fieldType": "date",
                     "fieldValueList": ["2025-01-01"]}
                ]
            },
            "field 'visitDay' is not offered by template 'Rule Listing'",
        ),
        ({"studyId": None}, "needs a studyId"),
    ],
)  # fmt: skip
async def test_a_job_that_cannot_run_fails_finally_with_its_reason(
    settings: Settings, changes: dict[str, Any], reason: str
) -> None:
    async with running_worker(settings):
        await publish(settings, kickoff(**changes))
        (record,) = await completions(settings, 1)
    event = json.loads(record.value)
    assert (event["status"], event["final"]) == ("FAILED", True)
    assert "file" not in event
    assert reason in event["executionLog"]["reason"]
    assert list(storage_folder(settings).glob("*")) == []


async def test_history_of_finished_job_is_contiguous(settings: Settings) -> None:
    async with running_worker(settings):
        await publish(settings, kickoff())
        await completions(settings, 1)
    conn = await asyncpg.connect(settings.database_url)
    try:
        rows = await conn.fetch(
            "SELECT * FROM execution_log WHERE id = $1 ORDER BY object_version_number",
            JOB_ID,
        )
    finally:
        await conn.close()
    assert [r["rpt_stat_cd"] for r in rows] == ["SUBMITTED", "IN_PROGRESS", "SUCCESS"]
    assert [r["object_version_number"] for r in rows] == [1, 2, 3]
    for older, newer in itertools.pairwise(rows):
        assert older["version_end"] == newer["version_start"]
        assert older["version_start"] < older["version_end"]
    assert rows[-1]["version_end"].year == 3099


def test_reference_example_is_valid_input() -> None:
    assert parse_kickoff(json.dumps(kickoff()).encode()).job_id == JOB_ID
