"""Raw messages onto a test's own topics, with where each landed; its dead letters read back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kafka import KafkaProducer

from adapters.kafka.dead_letters import KafkaDeadLetterQueue
from adapters.kafka.settings import KafkaSettings
from domain.model import DeadLetter
from tests.e2e.processes import read_env_file
from tests.support.debezium_messages import Message

Where = tuple[str, int, int]


class Wire:
    """Publishes as a connector would (murmur2 on the key), on the env file's prefixes."""

    def __init__(self, env_file: Path) -> None:
        values = read_env_file(env_file)
        self.prefixes = {
            "legacy": values["SYNC_LEGACY_TOPIC_PREFIX"],
            "revamp": values["SYNC_REVAMP_TOPIC_PREFIX"],
        }
        self.settings = KafkaSettings.from_options((values["SYNC_KAFKA_BOOTSTRAP"],), {})
        self.dlq_topic = values["SYNC_DLQ_TOPIC"]
        self.producer = KafkaProducer(
            **self.settings.client_kwargs(KafkaProducer),
            acks="all",
            max_in_flight_requests_per_connection=1,
        )

    def topic(self, contract_topic: str) -> str:
        platform, _, rest = contract_topic.partition(".")
        return f"{self.prefixes[platform]}.{rest}"

    def send(self, message: Message) -> Where:
        """Publish and wait for the broker: the topic, partition and offset it got."""
        topic = self.topic(message.topic)
        landed: Any = self.producer.send(topic, key=message.key, value=message.value).get(30)
        return (topic, landed.partition, landed.offset)

    def dead_letters(self) -> dict[Where, DeadLetter]:
        queue = KafkaDeadLetterQueue(self.settings, self.dlq_topic)
        try:
            return {(d.topic, d.partition, d.offset): d for d in queue.letters()}
        finally:
            queue.close()

    def close(self) -> None:
        self.producer.close()
