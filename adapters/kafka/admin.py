"""Topic creation and offset inspection, for `tandem migrate`, `tandem status` and the DLQ."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager

from kafka import KafkaAdminClient, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError

from adapters.kafka.errors import broker_errors
from adapters.kafka.limits import TOPIC_CONFIGS
from adapters.kafka.offsets import end_offsets as _end_offsets
from adapters.kafka.offsets import partitions_of, probe_consumer
from adapters.kafka.settings import KafkaSettings

INIT_PRODUCER_ID = 22  # the ApiKey an idempotent producer needs


@contextmanager
def admin_client(settings: KafkaSettings) -> Iterator[KafkaAdminClient]:
    with broker_errors(settings, "connecting the admin client"):
        admin = KafkaAdminClient(**settings.client_kwargs(KafkaAdminClient))
    try:
        with broker_errors(settings, "an admin request"):
            yield admin
    finally:
        admin.close()


def check_reachable(settings: KafkaSettings) -> None:
    """BrokerUnavailableError unless a broker answers (an admin client bootstraps)."""
    with admin_client(settings):
        pass


def ensure_topics(
    settings: KafkaSettings, names: Iterable[str], partitions: int = 3, replication: int = 1
) -> list[str]:
    """Create the missing topics; returns those created. Safe to run twice, or concurrently."""
    created = []
    with admin_client(settings) as admin:
        existing = set(admin.list_topics())
        for name in dict.fromkeys(names):
            if name in existing:
                continue
            try:
                admin.create_topics(
                    [NewTopic(name, partitions, replication, topic_configs=TOPIC_CONFIGS)]
                )
                created.append(name)
            except TopicAlreadyExistsError:
                pass
    return created


def end_offsets(settings: KafkaSettings, topics: Iterable[str]) -> dict[tuple[str, int], int]:
    """(topic, partition) -> the offset the next message will get."""
    with probe_consumer(settings) as consumer, broker_errors(settings, "reading end offsets"):
        ends = _end_offsets(consumer, partitions_of(consumer, topics))
    return {(tp.topic, tp.partition): end for tp, end in ends.items()}


def group_lag(
    settings: KafkaSettings, group_id: str, topics: Iterable[str]
) -> dict[tuple[str, int], tuple[int, int]]:
    """(topic, partition) -> (committed offset or 0, end offset), without joining the group."""
    with probe_consumer(settings, group_id) as consumer, broker_errors(settings, "reading lag"):
        partitions = partitions_of(consumer, topics)
        committed = {tp: consumer.committed(tp) or 0 for tp in partitions}
        ends = _end_offsets(consumer, partitions)
    return {
        (tp.topic, tp.partition): (committed[tp], max(ends.get(tp, 0), committed[tp]))
        for tp in partitions
    }


def supports_idempotence(settings: KafkaSettings) -> bool:
    """Whether the broker offers InitProducerId, which an idempotent producer needs."""
    with admin_client(settings) as admin:
        return INIT_PRODUCER_ID in {int(key) for key in admin.api_versions()}


def delete_records(settings: KafkaSettings, before: Mapping[tuple[str, int], int]) -> None:
    """Drop the messages below these offsets (Kafka's DeleteRecords; Tansu 0.6 lacks it)."""
    with admin_client(settings) as admin:
        admin.delete_records({TopicPartition(t, p): o for (t, p), o in before.items()})
