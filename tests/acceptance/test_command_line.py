"""The `report-worker` command line, run as a user runs it."""

import asyncio
import json
import os
import signal
import sys
from typing import Any

import asyncpg
import pytest

from service.settings import Settings
from tests.helpers import (
    JOB_ID,
    RULE_LISTING,
    STUDY_ID,
    USER_ID,
    completions,
    headers_of,
    kickoff,
    publish,
    running_worker,
    wait_for_status,
)

pytestmark = pytest.mark.acceptance


def environment(settings: Settings, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    for name, value in settings.model_dump().items():
        env[f"REPORTS_{name.upper()}"] = str(value)
    env.update(extra)
    return env


async def cli(settings: Settings, *args: str, **extra: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "service.cli",
        *args,
        env=environment(settings, **extra),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def start_worker(settings: Settings, **extra: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "service.cli",
        "run",
        env=environment(settings, REPORTS_LOG_FORMAT="json", **extra),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )


async def test_kickoff_status_and_history_through_the_command_line(
    settings: Settings,
) -> None:
    async with running_worker(settings):
        code, out, _ = await cli(
            settings,
            "kickoff",
            "--job-id", JOB_ID,
            "--mode", "test",
            "--study-id", STUDY_ID,
            "--rpt-id", RULE_LISTING,
            "--format", "csv",
            "--user-id", USER_ID,
            "--filter", "ruleState:list:approved,published",
            "--label", "Rule state:list:Approved,Published",
            "--json",
        )  # fmt: skip
        assert code == 0
        assert json.loads(out)["jobId"] == JOB_ID
        await wait_for_status(settings, JOB_ID, "SUCCESS")

    code, out, _ = await cli(settings, "status", JOB_ID.lower(), "--json")
    assert code == 0
    current = json.loads(out)
    assert current["rptStatCd"] == "SUCCESS"
    assert "ruleState IN ('approved', 'published')" in current["currSearchSpec"]

    code, out, _ = await cli(settings, "history", JOB_ID, "--json")
    assert code == 0
    assert [v["rptStatCd"] for v in json.loads(out)] == [
        "SUBMITTED",
        "IN_PROGRESS",
        "SUCCESS",
    ]
    code, out, _ = await cli(settings, "history", JOB_ID)
    assert code == 0
    assert "IN_PROGRESS" in out


async def test_exit_codes_say_what_went_wrong(settings: Settings) -> None:
    unknown = "00000000000000000000000000000001"
    assert (await cli(settings, "status", unknown))[0] == 3
    assert (await cli(settings, "history", unknown, "--json"))[0] == 3
    assert (await cli(settings, "status", "not-a-guid"))[0] == 2
    code, _, err = await cli(settings, "kickoff", "--filter", "ruleState:list:")
    assert code == 2
    assert "NAME:TYPE:VALUE" in err
    code, _, err = await cli(settings, "templates", REPORTS_TOPIC_PARTITIONS="zero")
    assert code == 2
    assert "REPORTS_TOPIC_PARTITIONS" in err
    unreachable = "postgresql://reports:reports@127.0.0.1:9/reports"
    code, _, err = await cli(
        settings, "status", JOB_ID, REPORTS_DATABASE_URL=unreachable
    )
    assert code == 1
    assert "REPORTS_DATABASE_URL" in err


async def test_templates_are_listed_with_their_fields(settings: Settings) -> None:
    code, out, _ = await cli(settings, "templates", "--json")
    assert code == 0
    templates: list[dict[str, Any]] = json.loads(out)
    rule_listing = next(t for t in templates if t["rptId"] == RULE_LISTING)
    assert rule_listing["level"] == "study"
    assert {"fieldName": "ruleState", "fieldType": "list", "label": "Rule state"} in (
        rule_listing["fields"]
    )


async def test_sigterm_stops_the_worker_cleanly(settings: Settings) -> None:
    worker = await start_worker(settings)
    await publish(settings, kickoff())
    await wait_for_status(settings, JOB_ID, "SUCCESS")
    worker.send_signal(signal.SIGTERM)
    _, err = await asyncio.wait_for(worker.communicate(), 60)
    assert worker.returncode == 0, err.decode()[-2000:]
    assert b'"event": "worker_stopped"' in err


async def test_a_worker_killed_before_publishing_publishes_on_restart_same_ce_id(
    settings: Settings,
) -> None:
    worker = await start_worker(settings, REPORTS_RELAY_ENABLED="false")
    await publish(settings, kickoff())
    await wait_for_status(settings, JOB_ID, "SUCCESS")
    worker.kill()
    await worker.wait()
    assert await completions(settings, 1, within=3) == []

    conn = await asyncpg.connect(settings.database_url)
    try:
        ce_id = (await conn.fetchval("SELECT ce_id FROM outbox")).hex.upper()
        async with running_worker(settings):
            (first,) = await completions(settings, 1)
        # A relay that died after the broker's ack, before stamping the row,
        # sends the same event again on the next start.
        await conn.execute("UPDATE outbox SET published_at = NULL")
        async with running_worker(settings):
            again = await completions(settings, 2)
    finally:
        await conn.close()
    assert [headers_of(r)["ce_id"] for r in again] == [ce_id, ce_id]
    assert headers_of(first)["ce_id"] == ce_id
    assert again[0].value == again[1].value
