"""The PostgreSQL connection pool and what is shared by everything that uses it."""

import json
from typing import Any, TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from service.errors import ServiceError

# Strings: the stubs make these generic, the runtime classes are not.
Connection: TypeAlias = "asyncpg.Connection | PoolConnectionProxy[asyncpg.Record]"
Pool: TypeAlias = "asyncpg.Pool[asyncpg.Record]"

OUTAGES = (
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    OSError,
    TimeoutError,
)
"""Errors that mean the database is out of reach, not that a query is wrong."""


class DatabaseUnavailable(ServiceError):
    """PostgreSQL did not answer; the same work may succeed later."""

    retryable = True


async def _init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec(
        "jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
    )


async def create_pool(database_url: str, **kwargs: Any) -> Pool:
    """Open a pool; an unreachable server says which setting to check."""
    try:
        pool = await asyncpg.create_pool(
            database_url, init=_init_connection, **{"min_size": 1, **kwargs}
        )
    except OUTAGES as exc:
        raise DatabaseUnavailable(
            f"cannot reach PostgreSQL ({type(exc).__name__}: {exc}); check "
            "REPORTS_DATABASE_URL, or start one with `make services`"
        ) from exc
    assert pool is not None
    return pool


async def connect(database_url: str) -> asyncpg.Connection:
    """One connection, for commands that need no pool."""
    try:
        return await asyncpg.connect(database_url)
    except OUTAGES as exc:
        raise DatabaseUnavailable(
            f"cannot reach PostgreSQL ({type(exc).__name__}: {exc}); check "
            "REPORTS_DATABASE_URL, or start one with `make services`"
        ) from exc
