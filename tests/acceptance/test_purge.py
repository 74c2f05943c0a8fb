"""`report-worker purge`: old report files go, their jobs say so."""

from pathlib import Path
from urllib.parse import urlparse

import asyncpg
import pytest

from service.settings import Settings
from tests.acceptance.test_command_line import cli
from tests.helpers import JOB_ID, kickoff, publish, running_worker, wait_for_status

pytestmark = pytest.mark.acceptance

RECENT_JOB = JOB_ID[:-1] + "1"


async def test_purge_deletes_old_files_and_records_a_version(
    settings: Settings,
) -> None:
    async with running_worker(settings):
        await publish(settings, kickoff(), kickoff(job_id=RECENT_JOB))
        await wait_for_status(settings, JOB_ID, "SUCCESS")
        await wait_for_status(settings, RECENT_JOB, "SUCCESS")
    folder = Path(urlparse(settings.storage_url).path)
    assert len(list(folder.glob("*.csv"))) == 2
    conn = await asyncpg.connect(settings.database_url)
    try:
        await conn.execute(
            "UPDATE execution_log SET version_start = version_start"
            " - interval '40 days' WHERE id = $1 AND rpt_stat_cd = 'SUCCESS'",
            JOB_ID,
        )
        code, out, _ = await cli(settings, "purge", "--older-than", "30d", "--dry-run")
        assert (code, out.split()[:3]) == (0, ["would", "purge", "the"])
        assert len(list(folder.glob("*.csv"))) == 2

        code, out, _ = await cli(settings, "purge", "--older-than", "30d")
        assert code == 0
        assert JOB_ID in out
        assert RECENT_JOB not in out
        latest = await conn.fetchrow(
            "SELECT * FROM execution_log WHERE id = $1 AND version_end = '3099-12-31'",
            JOB_ID,
        )
    finally:
        await conn.close()
    assert latest is not None
    assert latest["object_version_number"] == 4
    assert latest["rpt_stat_cd"] == "SUCCESS"
    assert latest["operation_type"] == "DELETE"
    assert latest["file_storage_id"] is None
    assert "purged" in latest["reason"]
    assert len(list(folder.glob("*.csv"))) == 1
    assert (await cli(settings, "purge", "--older-than", "thirty"))[0] == 2
