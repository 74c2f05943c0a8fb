"""Fixtures of the integration tests: a pool and a job store on the test's
own database."""

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from service.database import Pool, create_pool
from service.job_store import JobStore


@pytest_asyncio.fixture(loop_scope="session")
async def pool(database_url: str) -> AsyncIterator[Pool]:
    pool = await create_pool(database_url, max_size=4)
    yield pool
    await pool.close()


@pytest.fixture
def store(pool: Pool) -> JobStore:
    return JobStore(pool, cloudevents_source="/test", software_version=0.1)
