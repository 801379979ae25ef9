"""One dead-letter contract, run against the in-memory queue and the Kafka topic."""

from __future__ import annotations

import json
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import Protocol, cast

import pytest

from adapters.kafka.dead_letters import KafkaDeadLetterQueue
from adapters.kafka.offsets import read_to_end
from adapters.kafka.settings import KafkaSettings
from adapters.memory.broker import InMemoryBroker
from adapters.memory.dead_letters import InMemoryDeadLetterQueue
from adapters.resolutions import resolution
from domain.model import DeadLetter
from domain.ports import DeadLetterArchive, DeadLetterQueue

TOPIC = f"contract-{uuid.uuid4().hex[:8]}.public.legacy_users"  # fresh on a shared broker


def letter(offset: int) -> DeadLetter:
    return DeadLetter(
        original_event={"op": "c", "n": offset},
        key=str(offset).encode(),
        topic=TOPIC,
        partition=0,
        offset=offset,
        error_type="InvalidEventError",
        error_message=f"bad {offset}",
        stack_trace="",
        retry_count=0,
        failed_at="2026-01-01T00:00:00+00:00",
    )


class DeadLetters(DeadLetterQueue, DeadLetterArchive, Protocol):
    """Both sides of a dead-letter store: the sync sends, operators read and resolve."""


class DeadLetterArchiveContract(ABC):
    """What the sync and `tandem dlq` rely on, whatever holds the letters."""

    @abstractmethod
    def create_archive(self) -> DeadLetters:
        """An empty dead-letter store."""

    @abstractmethod
    def messages_on(self, topic: str) -> list[tuple[bytes | None, bytes | None]]:
        """(key, value) of every message on `topic`, for what `republish` put there."""

    @property
    def queue(self) -> DeadLetters:
        if "_queue" not in self.__dict__:
            self.__dict__["_queue"] = self.create_archive()
        return cast(DeadLetters, self.__dict__["_queue"])

    def test_republish_puts_the_original_back_on_its_topic_under_its_key(self) -> None:
        self.queue.send(letter(4))
        [held] = self.queue.letters()
        self.queue.republish(held)
        [(key, value)] = self.messages_on(held.topic)
        assert key == b"4" and value is not None
        assert json.loads(value) == {"op": "c", "n": 4}
        assert [x.offset for x in self.queue.letters()] == [4]  # held until resolved

    def test_letters_come_back_oldest_first_with_ids(self) -> None:
        for n in (1, 2, 3):
            self.queue.send(letter(n))
        held = self.queue.letters()
        assert [x.offset for x in held] == [1, 2, 3]
        assert len({x.id for x in held}) == 3 and all(x.resolution is None for x in held)

    def test_resolving_one_letter_leaves_the_others_held(self) -> None:
        for n in (1, 2, 3):
            self.queue.send(letter(n))
        first, second, third = self.queue.letters()
        assert self.queue.resolve([second], resolution("acked", "known bad row")) == 1
        assert [x.id for x in self.queue.letters()] == [first.id, third.id]
        assert self.queue.resolve([second], resolution("replayed")) == 0  # settled once
        everything = self.queue.letters(include_resolved=True)
        assert [x.id for x in everything] == [first.id, second.id, third.id]
        [acked] = [x for x in everything if x.resolution is not None]
        assert (acked.resolution.how, acked.resolution.reason) == ("acked", "known bad row")
        assert "@" in acked.resolution.by and acked.resolution.at

    def test_purge_of_given_letters_keeps_one_sent_meanwhile(self) -> None:
        self.queue.send(letter(1))
        read = self.queue.letters()
        self.queue.send(letter(2))
        assert self.queue.purge(read) == 1
        assert [x.offset for x in self.queue.letters()] == [2]
        assert self.queue.purge() == 1
        assert self.queue.letters() == []
        assert self.queue.purge() == 0

    def test_an_unknown_resolution_is_refused(self) -> None:
        with pytest.raises(ValueError, match="unknown resolution"):
            resolution("forgotten")


class TestInMemoryDeadLetterArchive(DeadLetterArchiveContract):
    @pytest.fixture(autouse=True)
    def _broker(self) -> None:
        self.broker = InMemoryBroker()

    def create_archive(self) -> DeadLetters:
        return InMemoryDeadLetterQueue(self.broker)

    def messages_on(self, topic: str) -> list[tuple[bytes | None, bytes | None]]:
        return [(m.key, m.value) for m in self.broker.messages(topic)]


@pytest.mark.integration
class TestKafkaDeadLetterArchive(DeadLetterArchiveContract):
    @pytest.fixture(autouse=True)
    def _broker(self, running_stack: dict[str, str]) -> Iterator[None]:
        self.settings = KafkaSettings(tuple(running_stack["SYNC_KAFKA_BOOTSTRAP"].split(",")))
        self.topic = f"contract-{uuid.uuid4().hex[:8]}"
        yield
        if "_queue" in self.__dict__:
            self.__dict__["_queue"].close()

    def create_archive(self) -> DeadLetters:
        return KafkaDeadLetterQueue(self.settings, f"{self.topic}.dlq")

    def messages_on(self, topic: str) -> list[tuple[bytes | None, bytes | None]]:
        return [(r.key, r.value) for r in read_to_end(self.settings, [topic])]
