"""Ordered schema migrations: numbered `.sql` files, each applied once.

Safe to run twice and from two processes at once: a PostgreSQL advisory lock
serializes runners, and each migration commits with its ledger row.
"""

import re
from dataclasses import dataclass
from importlib import resources

import asyncpg
import structlog

from service.sql import statements

log = structlog.get_logger(__name__)

_FILE_NAME = re.compile(r"^(\d{4})_(\w+)\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def available_migrations() -> list[Migration]:
    """The migrations shipped with the service, in order."""
    found = []
    for entry in resources.files("service.sql.migrations").iterdir():
        match = _FILE_NAME.match(entry.name)
        if match:
            found.append(
                Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8"))
            )
    return sorted(found, key=lambda m: m.version)


async def migrate(conn: asyncpg.Connection) -> list[Migration]:
    """Apply the migrations this database lacks; return the ones applied."""
    sql = statements("migrations")
    await conn.execute(sql["lock"])
    try:
        await conn.execute(sql["create_ledger"])
        done = {row["version"] for row in await conn.fetch(sql["applied"])}
        applied = []
        for migration in available_migrations():
            if migration.version in done:
                continue
            async with conn.transaction():
                await conn.execute(migration.sql)
                await conn.execute(sql["record"], migration.version, migration.name)
            log.info(
                "migration_applied", version=migration.version, name=migration.name
            )
            applied.append(migration)
        return applied
    finally:
        await conn.execute(sql["unlock"])
