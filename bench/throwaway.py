"""Throwaway databases and topics for tests and benchmarks."""

import asyncio
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from service.demo_data import DatasetSize, seed
from service.migrations import migrate
from service.settings import Settings

ATTEMPTS = 20


def database_url(admin_url: str, name: str) -> str:
    """`admin_url` pointing at database `name` instead."""
    return urlunsplit(urlsplit(admin_url)._replace(path="/" + name))


async def create_seeded_database(
    admin_url: str, name: str, size: DatasetSize | None = None
) -> str:
    """Create `name`, migrate it and load the demo dataset; return its URL."""
    admin = await asyncpg.connect(admin_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = database_url(admin_url, name)
    conn = await asyncpg.connect(url)
    try:
        await migrate(conn)
        await seed(conn, size=size)
    finally:
        await conn.close()
    return url


async def remove_database(admin_url: str, name: str) -> None:
    """Drop `name` through a connection of its own."""
    admin = await asyncpg.connect(admin_url)
    try:
        await drop_database(admin, name)
    finally:
        await admin.close()


async def drop_database(admin: asyncpg.Connection, name: str) -> None:
    """Drop `name`, ending its sessions; wait out an autovacuum worker in it.

    `WITH (FORCE)` may not end the sessions of other roles, and autovacuum's
    is one: a database just written to can hold one for a moment, so the drop
    is tried again until it is gone.
    """
    for attempt in range(ATTEMPTS):
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            return
        except (
            asyncpg.InsufficientPrivilegeError,
            asyncpg.ObjectInUseError,
        ):
            if attempt == ATTEMPTS - 1:
                raise
            await asyncio.sleep(0.5)


async def delete_topics(settings: Settings) -> None:
    """Delete a run's kickoff, completion and dead-letter topics, if it can.

    Best effort: a run's topics are named for it and harm nothing if left.
    """
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    await admin.start()
    try:
        await admin.delete_topics(
            [
                settings.kickoff_topic,
                settings.completion_topic,
                settings.dead_letter_topic,
            ]
        )
    except KafkaError:
        pass
    finally:
        await admin.close()
