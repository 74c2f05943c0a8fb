"""aiokafka clients configured the one way this service uses them."""

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError, for_code

from service.settings import Settings

log = structlog.get_logger(__name__)


def producer(settings: Settings) -> AIOKafkaProducer:
    """Idempotent and fully acknowledged: a sent event survives a broker restart."""
    return AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        acks="all",
        enable_idempotence=True,
        client_id="report-worker",
    )


def kickoff_consumer(settings: Settings) -> AIOKafkaConsumer:
    """A group member that commits by hand, after the database commit; the
    caller subscribes it, with its rebalance listener."""
    return AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        group_id=settings.consumer_group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=settings.max_poll_records,
        client_id="report-worker",
    )


async def ensure_topics(settings: Settings) -> list[str]:
    """Create the service's topics that are missing; return the ones created."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [
            settings.kickoff_topic,
            settings.completion_topic,
            settings.dead_letter_topic,
        ]
        missing = [name for name in wanted if name not in existing]
        if not missing:
            return []
        topics = [
            NewTopic(
                name,
                num_partitions=settings.topic_partitions,
                replication_factor=settings.topic_replication_factor,
            )
            for name in missing
        ]
        response = await admin.create_topics(topics)
        created = []
        for name, code, *_ in response.topic_errors:
            if code == 0:
                created.append(name)
            elif code != TopicAlreadyExistsError.errno:  # another worker was first
                raise for_code(code)(f"cannot create topic {name}")
        log.info("topics_created", topics=created)
        return created
    finally:
        await admin.close()
