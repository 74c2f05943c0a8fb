"""Fixtures shared by every test: the real broker and database, per-test
databases cloned from a migrated and seeded template, and per-test topics."""

import contextlib
import os
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import pytest
import pytest_asyncio

from bench.throwaway import (
    create_seeded_database,
    drop_database,
    remove_database,
)
from bench.throwaway import database_url as database_url_of
from service.settings import Settings

TEMPLATE_DB = "reports_test_template"


def _reachable(host_port: str) -> bool:
    host, _, port = host_port.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=1):
            return True
    except OSError:
        return False


def _docker_reachable() -> bool:
    try:
        import docker  # type: ignore[import-untyped]

        docker.from_env().ping()
        return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def service_addresses() -> Iterator[tuple[str, str]]:
    """Kafka bootstrap servers and the admin database URL.

    The REPORTS_* addresses when given (`make test` gives them); otherwise
    testcontainers when a Docker engine answers; otherwise the `make services`
    defaults.
    """
    given = (
        os.environ.get("REPORTS_KAFKA_BOOTSTRAP_SERVERS"),
        os.environ.get("REPORTS_DATABASE_URL"),
    )
    with contextlib.ExitStack() as stack:
        if given == (None, None) and _docker_reachable():
            addresses = stack.enter_context(_containers())
        else:
            addresses = _local_addresses(*given)
        yield addresses


def _local_addresses(kafka: str | None, database: str | None) -> tuple[str, str]:
    defaults = Settings()
    kafka = kafka or defaults.kafka_bootstrap_servers
    database = database or defaults.database_url
    parts = urlsplit(database)
    for name, address in (
        ("Kafka", kafka.split(",")[0]),
        ("PostgreSQL", f"{parts.hostname}:{parts.port or 5432}"),
    ):
        if not _reachable(address):
            pytest.exit(
                f"{name} does not answer at {address}: run `make test`, or start "
                "the services with `make services` and export what it prints",
                returncode=1,
            )
    return kafka, database


@contextlib.contextmanager
def _containers() -> Iterator[tuple[str, str]]:
    """Kafka and PostgreSQL in containers, for machines with a Docker engine."""
    from testcontainers.kafka import KafkaContainer
    from testcontainers.postgres import PostgresContainer

    with (
        KafkaContainer().with_kraft() as kafka,
        PostgresContainer("postgres:15", driver=None) as postgres,
    ):
        yield kafka.get_bootstrap_server(), postgres.get_connection_url()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def template_database(service_addresses: tuple[str, str]) -> str:
    """A database migrated and seeded once; each test gets a clone of it."""
    _, admin_url = service_addresses
    await remove_database(admin_url, TEMPLATE_DB)
    return await create_seeded_database(admin_url, TEMPLATE_DB)


@pytest_asyncio.fixture(loop_scope="session")
async def database_url(
    service_addresses: tuple[str, str], template_database: str
) -> AsyncIterator[str]:
    """A fresh database of this test's own, cloned from the template."""
    _, admin_url = service_addresses
    name = f"reports_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(admin_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE_DB}"')
    finally:
        await admin.close()
    yield database_url_of(admin_url, name)
    admin = await asyncpg.connect(admin_url)
    try:
        await drop_database(admin, name)
    finally:
        await admin.close()


@pytest.fixture
def settings(
    service_addresses: tuple[str, str], database_url: str, tmp_path: Path
) -> Settings:
    """Settings of this test's own: its database, topics, group and folder."""
    kafka, _ = service_addresses
    suffix = uuid.uuid4().hex[:10]
    return Settings(
        kafka_bootstrap_servers=kafka,
        database_url=database_url,
        kickoff_topic=f"kickoff-{suffix}",
        completion_topic=f"completed-{suffix}",
        dead_letter_topic=f"dlq-{suffix}",
        consumer_group=f"group-{suffix}",
        storage_url=(tmp_path / "reports").as_uri(),
        topic_partitions=2,
        relay_poll_seconds=0.2,
        shutdown_grace_seconds=10,
    )
