"""Reports stored in an S3 bucket (moto's S3-compatible server on loopback)."""

import csv
import hashlib
import io
import socket
import urllib.request
import uuid
from collections.abc import Iterator

import pytest
from moto.server import ThreadedMotoServer

from service.database import Pool
from service.kickoff import Mode
from service.reports.engine import generate, plan_report
from service.reports.templates import builtin_templates
from service.storage import ReportStorage
from tests.helpers import job_request

pytestmark = pytest.mark.integration

BUCKET = "reports-test"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """An S3-compatible server on loopback with one empty bucket."""
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/{BUCKET}", method="PUT"))
    yield endpoint
    server.stop()


@pytest.fixture
def s3_storage(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> ReportStorage:
    """Storage configured as a user would: a URL and the usual AWS_* variables."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": s3_endpoint,
        "AWS_ALLOW_HTTP": "true",
    }.items():
        monkeypatch.setenv(name, value)
    return ReportStorage(f"s3://{BUCKET}/reports")


async def test_a_report_streams_into_an_s3_bucket(
    pool: Pool, s3_storage: ReportStorage
) -> None:
    job = job_request(mode=Mode.ACTIVE, job_id=uuid.uuid4().hex.upper())
    plan = plan_report(builtin_templates(), job)
    outcome = await generate(pool, s3_storage, plan, job, uuid.uuid4().hex.upper())

    stored = await s3_storage.read(outcome.key)
    rows = list(csv.reader(io.StringIO(stored.decode())))
    assert len(rows) - 1 == outcome.rec_count > 0
    assert hashlib.sha256(stored).hexdigest() == outcome.file.sha256
    assert len(stored) == outcome.file.size_bytes

    await s3_storage.delete(outcome.key)
    assert not await s3_storage.exists(outcome.key)
    await s3_storage.delete(outcome.key)  # deleting twice is no error
