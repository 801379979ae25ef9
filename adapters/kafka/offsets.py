"""Group-less reads: partitions, true end offsets and whole topics, with a throwaway consumer."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from kafka import KafkaConsumer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord

from adapters.kafka.errors import broker_errors
from adapters.kafka.settings import KafkaSettings
from domain.errors import BrokerUnavailableError


@contextmanager
def probe_consumer(settings: KafkaSettings, group_id: str | None = None) -> Iterator[KafkaConsumer]:
    """A consumer that never joins a group and never commits (`group_id` only to read offsets)."""
    with broker_errors(settings, "connecting a reader"):
        consumer = KafkaConsumer(
            **settings.client_kwargs(KafkaConsumer),
            group_id=group_id,
            enable_auto_commit=False,
            allow_auto_create_topics=False,
            fetch_max_wait_ms=100,
        )
    try:
        yield consumer
    finally:
        consumer.close(autocommit=False)


def partitions_of(consumer: KafkaConsumer, topics: Iterable[str]) -> list[TopicPartition]:
    """Every partition of the topics that exist, in (topic, partition) order."""
    found = []
    for topic in topics:
        found += [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
    return sorted(found)


def end_offsets(
    consumer: KafkaConsumer, partitions: list[TopicPartition], timeout_s: float = 10.0
) -> dict[TopicPartition, int]:
    """The offset after each partition's last message; moves the consumer's assignment."""
    listed: dict[TopicPartition, int] = consumer.end_offsets(partitions) if partitions else {}
    # Tansu answers ListOffsets(latest) with the last *batch's* base offset + 1: fetching that
    # batch yields the true high watermark. On Kafka it costs one fetch and changes nothing.
    probes = {tp: end - 1 for tp, end in listed.items() if end > 0}
    if not probes:
        return listed
    consumer.assign(list(probes))
    for tp, offset in probes.items():
        consumer.seek(tp, offset)
    ends, pending = dict(listed), set(probes)
    deadline = time.monotonic() + timeout_s
    while pending and time.monotonic() < deadline:
        consumer.poll(timeout_ms=100)
        for tp in list(pending):
            highwater = consumer.highwater(tp)
            if highwater is not None:
                ends[tp] = max(ends[tp], highwater)
                pending.discard(tp)
    return ends


def read_to_end(
    settings: KafkaSettings, topics: Iterable[str], timeout_s: float = 30.0
) -> list[ConsumerRecord]:
    """Every message of the topics, from the first offset to the end known at the start."""
    records: list[Any] = []
    with probe_consumer(settings) as consumer, broker_errors(settings, "reading topics"):
        partitions = partitions_of(consumer, topics)
        ends = end_offsets(consumer, partitions)
        todo = [tp for tp in partitions if ends.get(tp, 0) > 0]
        if not todo:
            return records
        consumer.assign(todo)
        consumer.seek_to_beginning(*todo)
        deadline = time.monotonic() + timeout_s
        while any(consumer.position(tp) < ends[tp] for tp in todo):
            if time.monotonic() > deadline:
                raise BrokerUnavailableError(
                    f"Kafka at {settings.where}: reading {', '.join(topics)} timed out"
                )
            for batch in consumer.poll(timeout_ms=200).values():
                records += [
                    r for r in batch if r.offset < ends[TopicPartition(r.topic, r.partition)]
                ]
    return records


def timestamps_at(
    settings: KafkaSettings, positions: Mapping[tuple[str, int], int], timeout_s: float = 10.0
) -> dict[tuple[str, int], int]:
    """(topic, partition) -> the timestamp (ms) of the message at that offset, for each one
    that holds a message: the oldest one not yet applied, when the offset is a group's."""
    found: dict[tuple[str, int], int] = {}
    if not positions:
        return found
    with probe_consumer(settings) as consumer, broker_errors(settings, "reading timestamps"):
        wanted = {TopicPartition(t, p): o for (t, p), o in positions.items()}
        consumer.assign(list(wanted))
        for tp, offset in wanted.items():
            consumer.seek(tp, offset)
        deadline = time.monotonic() + timeout_s
        while len(found) < len(wanted) and time.monotonic() < deadline:
            for tp, batch in consumer.poll(timeout_ms=200).items():
                if batch and (tp.topic, tp.partition) not in found:
                    found[(tp.topic, tp.partition)] = int(batch[0].timestamp)
                    consumer.pause(tp)
    return found
