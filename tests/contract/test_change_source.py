"""One change-source contract, run against the in-memory broker and a real Kafka-protocol one."""

from __future__ import annotations

import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterator

import pytest

from adapters.kafka.admin import ensure_topics
from adapters.kafka.publisher import KafkaEventPublisher
from adapters.kafka.settings import KafkaSettings
from adapters.kafka.source import KafkaChangeSource
from adapters.memory.broker import InMemoryBroker
from domain.model import RawMessage
from domain.ports import ChangeSource
from tests.support.sources import poll

Offsets = dict[tuple[str, int], int]


class ChangeSourceContract(ABC):
    """What the consumer loop relies on: each message once per delivery, in offset order per
    partition, and redelivery of everything after the committed offsets."""

    topic: str

    @abstractmethod
    def create_source(self, group: str) -> ChangeSource:
        """A new member of `group` on `self.topic`, after `publish` put messages there."""

    @abstractmethod
    def publish(self, pairs: list[tuple[bytes, bytes]]) -> None:
        """Put these (key, value) messages on `self.topic`, acknowledged."""

    def open(self, group: str) -> ChangeSource:
        source = self.create_source(group)
        self.opened.append(source)
        return source

    @pytest.fixture(autouse=True)
    def _close_sources(self) -> Iterator[None]:
        self.opened: list[ChangeSource] = []
        yield
        for source in self.opened:
            source.close()

    def test_every_message_comes_once_in_offset_order_per_partition(self) -> None:
        pairs = [(b"k%d" % (i % 5), b"v%d" % i) for i in range(30)]
        self.publish(pairs)
        messages = poll(self.open(group()), 30)
        assert {m.topic for m in messages} == {self.topic}
        assert len({(m.partition, m.offset) for m in messages}) == 30
        for partition in {m.partition for m in messages}:
            offsets = [m.offset for m in messages if m.partition == partition]
            assert offsets == sorted(offsets)
        for key in {k for k, _ in pairs}:  # a key stays on one partition, in order
            assert [m.value for m in messages if m.key == key] == [v for k, v in pairs if k == key]

    def test_a_new_member_resumes_after_the_commit(self) -> None:
        self.publish([(b"k%d" % i, b"v%d" % i) for i in range(12)])
        name = group()
        first = self.open(name)
        messages = poll(first, 12)
        done = messages[:6]
        first.commit(next_offsets(done))
        first.close()
        again = poll(self.open(name), 6)
        assert where(again) == where(messages) - where(done)

    def test_what_was_not_committed_comes_again_to_a_new_member(self) -> None:
        self.publish([(b"k%d" % i, b"v%d" % i) for i in range(9)])
        name = group()
        first = self.open(name)
        poll(first, 9)
        first.close()
        assert len(poll(self.open(name), 9)) == 9

    def test_rewind_delivers_again_what_was_not_committed(self) -> None:
        self.publish([(b"k%d" % i, b"v%d" % i) for i in range(9)])
        source = self.open(group())
        messages = poll(source, 9)
        committed = [m for m in messages if m.partition == messages[0].partition]
        source.commit(next_offsets(committed))
        source.rewind()
        again = poll(source, 9 - len(committed))
        assert where(again) == where(messages) - where(committed)

    def test_nothing_is_behind_once_everything_was_delivered(self) -> None:
        self.publish([(b"k%d" % i, b"v%d" % i) for i in range(5)])
        source = self.open(group())
        poll(source, 5)
        assert source.backlog() == 0


def next_offsets(messages: list[RawMessage]) -> Offsets:
    offsets: Offsets = {}
    for m in messages:
        offsets[(m.topic, m.partition)] = max(offsets.get((m.topic, m.partition), 0), m.offset + 1)
    return offsets


def where(messages: list[RawMessage]) -> set[tuple[int, int]]:
    return {(m.partition, m.offset) for m in messages}


def group() -> str:
    return f"contract-{uuid.uuid4().hex[:8]}"


class TestInMemoryChangeSource(ChangeSourceContract):
    @pytest.fixture(autouse=True)
    def _broker(self) -> None:
        self.broker = InMemoryBroker()
        self.topic = "contract.users"

    def create_source(self, group: str) -> ChangeSource:
        return self.broker.consumer(group, [self.topic])

    def publish(self, pairs: list[tuple[bytes, bytes]]) -> None:
        for key, value in pairs:
            self.broker.produce(self.topic, key, value)


@pytest.mark.integration
class TestKafkaChangeSource(ChangeSourceContract):
    @pytest.fixture(autouse=True)
    def _broker(self, running_stack: dict[str, str]) -> Iterator[None]:
        self.settings = KafkaSettings(tuple(running_stack["SYNC_KAFKA_BOOTSTRAP"].split(",")))
        self.topic = f"contract.{uuid.uuid4().hex[:8]}"
        ensure_topics(self.settings, [self.topic], partitions=3)
        self.publisher = KafkaEventPublisher(self.settings)
        yield
        self.publisher.close()

    def create_source(self, group: str) -> ChangeSource:
        return KafkaChangeSource(self.settings, group, [self.topic], max_poll_records=100)

    def publish(self, pairs: list[tuple[bytes, bytes]]) -> None:
        for key, value in pairs:
            self.publisher.publish(self.topic, key, value)
        self.publisher.flush()
