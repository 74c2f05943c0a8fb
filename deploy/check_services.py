"""Smoke check for the services started by deploy/services.sh.

Run with the project venv after `eval "$(deploy/services.sh up)"`:

    .venv/bin/python deploy/check_services.py

Kafka (aiokafka): create a topic, produce, consume in a consumer group with
manual commit (enable_auto_commit=False + commit()), read the committed offset
back, both from the consumer and through the admin client.
PostgreSQL (asyncpg): connect as "reports", CREATE DATABASE ... TEMPLATE reports
(what the tests do per test), connect to the copy, drop it.
Exits non-zero on any failure.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
import uuid

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

BOOTSTRAP = os.environ.get("REPORTS_KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:19092")
DATABASE_URL = os.environ.get(
    "REPORTS_DATABASE_URL", "postgresql://reports:reports@127.0.0.1:15432/reports"
)
MESSAGES = 10


async def check_kafka() -> None:
    suffix = uuid.uuid4().hex[:8]
    topic, group = f"smoke-{suffix}", f"smoke-group-{suffix}"

    admin = AIOKafkaAdminClient(bootstrap_servers=BOOTSTRAP)
    await admin.start()
    try:
        await admin.create_topics(
            [NewTopic(name=topic, num_partitions=1, replication_factor=1)]
        )
        print(f"kafka: created topic {topic}")

        producer = AIOKafkaProducer(bootstrap_servers=BOOTSTRAP, acks="all")
        await producer.start()
        try:
            for i in range(MESSAGES):
                await producer.send_and_wait(topic, f"msg-{i}".encode(), key=b"k")
        finally:
            await producer.stop()
        print(f"kafka: produced {MESSAGES} messages")

        consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=BOOTSTRAP,
            group_id=group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        await consumer.start()
        try:
            received: list[bytes] = []
            deadline = time.monotonic() + 30
            while len(received) < MESSAGES and time.monotonic() < deadline:
                batches = await consumer.getmany(timeout_ms=1000)
                for records in batches.values():
                    received.extend(r.value for r in records)
            assert received == [f"msg-{i}".encode() for i in range(MESSAGES)], received
            await consumer.commit()
            tp = TopicPartition(topic, 0)
            committed = await consumer.committed(tp)
            assert committed == MESSAGES, committed
        finally:
            await consumer.stop()
        print(f"kafka: consumed {MESSAGES} in group {group}, committed {committed}")

        offsets = await admin.list_consumer_group_offsets(group)
        admin_offset = offsets[TopicPartition(topic, 0)].offset
        assert admin_offset == MESSAGES, offsets
        print(f"kafka: admin reads committed offset {admin_offset}")
        await admin.delete_topics([topic])
    finally:
        await admin.close()


async def check_postgres() -> None:
    copy = f"smoke_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(DATABASE_URL)
    try:
        row = await conn.fetchrow("SELECT current_user, version()")
        assert row is not None
        user, version = row
        print(f"postgres: connected as {user}: {version.split(',')[0]}")
    finally:
        await conn.close()

    # A template copy needs no other session on "reports": ours is closed, and
    # the copy is made from the "postgres" database, still as user reports.
    admin_url = DATABASE_URL.rsplit("/", 1)[0] + "/postgres"
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'CREATE DATABASE "{copy}" TEMPLATE reports')
        print(f"postgres: CREATE DATABASE {copy} TEMPLATE reports ok")
        copy_conn = await asyncpg.connect(admin_url.rsplit("/", 1)[0] + f"/{copy}")
        try:
            assert await copy_conn.fetchval("SELECT current_database()") == copy
        finally:
            await copy_conn.close()
        await conn.execute(f'DROP DATABASE "{copy}"')
    finally:
        await conn.close()


async def main() -> int:
    await check_kafka()
    await check_postgres()
    print("services check: ok")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
