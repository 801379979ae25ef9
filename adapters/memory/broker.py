"""An in-memory broker: topics, partitions by key, committed offsets, at-least-once delivery."""

from __future__ import annotations

import threading
import zlib
from collections.abc import Iterable, Mapping, Sequence

from domain.model import RawMessage


class InMemoryBroker:
    """Topics of partitions of messages, and per-group committed offsets."""

    def __init__(self, partitions: int = 3) -> None:
        self.default_partitions = partitions
        self.topics: dict[str, list[list[RawMessage]]] = {}
        self.committed: dict[tuple[str, str, int], int] = {}
        self.lock = threading.RLock()

    def create_topic(self, topic: str, partitions: int | None = None) -> None:
        with self.lock:
            self.topics.setdefault(
                topic, [[] for _ in range(partitions or self.default_partitions)]
            )

    def produce(self, topic: str, key: bytes | None, value: bytes | None) -> RawMessage:
        with self.lock:
            self.create_topic(topic)
            partitions = self.topics[topic]
            index = zlib.crc32(key or b"") % len(partitions)
            message = RawMessage(topic, index, len(partitions[index]), key, value)
            partitions[index].append(message)
            return message

    def messages(self, topic: str) -> list[RawMessage]:
        with self.lock:
            return [m for p in self.topics.get(topic, []) for m in p]

    def end_offsets(self, topics: Iterable[str]) -> dict[tuple[str, int], int]:
        with self.lock:
            return {(t, i): len(p) for t in topics for i, p in enumerate(self.topics.get(t, []))}

    def consumer(self, group: str, topics: Iterable[str]) -> InMemoryChangeSource:
        return InMemoryChangeSource(self, group, list(topics))


class InMemoryChangeSource:
    """A consumer-group member that owns every partition of its topics."""

    def __init__(self, broker: InMemoryBroker, group: str, topics: list[str]) -> None:
        self.broker = broker
        self.group = group
        self.topics = topics
        for topic in topics:
            broker.create_topic(topic)
        self.positions: dict[tuple[str, int], int] = {}
        self.rewind()

    def poll(self, max_records: int, timeout_s: float = 0.0) -> list[RawMessage]:
        batch: list[RawMessage] = []
        with self.broker.lock:
            for (topic, partition), position in sorted(self.positions.items()):
                log = self.broker.topics[topic][partition]
                taken = log[position : position + max_records - len(batch)]
                batch.extend(taken)
                self.positions[(topic, partition)] = position + len(taken)
        return batch

    def commit(self, offsets: Mapping[tuple[str, int], int]) -> None:
        with self.broker.lock:
            for (topic, partition), offset in offsets.items():
                self.broker.committed[(self.group, topic, partition)] = offset

    def rewind(self) -> None:
        """Go back to the committed offsets: what was not committed is delivered again."""
        with self.broker.lock:
            self.positions = {
                (topic, index): self.broker.committed.get((self.group, topic, index), 0)
                for topic in self.topics
                for index in range(len(self.broker.topics[topic]))
            }

    def redeliver(self, messages: Sequence[RawMessage]) -> None:
        with self.broker.lock:
            for m in messages:  # back to the first of them, never forward
                where = (m.topic, m.partition)
                self.positions[where] = min(self.positions.get(where, 0), m.offset)

    def backlog(self) -> int | None:
        ends = self.broker.end_offsets(self.topics)
        return sum(end - self.positions.get(tp, 0) for tp, end in ends.items())

    def lag(self) -> dict[tuple[str, int], tuple[int, int]]:
        ends = self.broker.end_offsets(self.topics)
        return {
            tp: (self.broker.committed.get((self.group, *tp), 0), end) for tp, end in ends.items()
        }

    def close(self) -> None:
        self.rewind()
