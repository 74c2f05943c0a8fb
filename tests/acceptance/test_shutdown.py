"""Stopping a worker mid-report hands the job back, and it finishes later."""

import asyncio
import json

import asyncpg
import pytest

from service.demo_data import DatasetSize, seed
from service.settings import Settings
from tests.helpers import (
    JOB_ID,
    completions,
    kickoff,
    publish,
    running_worker,
    wait_for_status,
)

pytestmark = pytest.mark.acceptance

SUBJECT_VISITS = "8F4E6A2B9C0D4E1F8A7B6C5D4E3F2A10"


async def test_a_report_cut_by_shutdown_is_handed_back_and_rerun(
    settings: Settings,
) -> None:
    conn = await asyncpg.connect(settings.database_url)
    try:
        await seed(conn, size=DatasetSize(subjects=20_000))  # a report of seconds
    finally:
        await conn.close()
    slow = kickoff()
    slow["report"].update({"rptId": SUBJECT_VISITS, "rptFormat": "XLSX"})
    slow["fieldSpecsList"] = []
    slow["mode"] = "active"
    impatient = settings.model_copy(update={"shutdown_grace_seconds": 0.3})

    async with running_worker(impatient):
        await publish(settings, slow)
        await wait_for_status(settings, JOB_ID, "IN_PROGRESS")
        await asyncio.sleep(0.5)  # stopping now cuts the report short
    (handed_back,) = await completions(settings, 1)
    event = json.loads(handed_back.value)
    assert (event["status"], event["final"]) == ("FAILED", False)
    assert "worker stopped" in event["executionLog"]["reason"]

    async with running_worker(settings):
        await wait_for_status(settings, JOB_ID, "SUCCESS", within=120)
        events = await completions(settings, 2)
    assert json.loads(events[1].value)["attempt"] == 2
