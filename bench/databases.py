"""Throwaway databases for tests and benchmarks."""

import asyncio

import asyncpg

ATTEMPTS = 20


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
