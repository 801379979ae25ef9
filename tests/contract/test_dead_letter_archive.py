"""One dead-letter contract, run against the in-memory queue and the Kafka topic."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from adapters.kafka.dead_letters import KafkaDeadLetterQueue
from adapters.kafka.settings import KafkaSettings
from adapters.memory.broker import InMemoryBroker
from adapters.memory.dead_letters import InMemoryDeadLetterQueue
from adapters.resolutions import resolution
from domain.model import DeadLetter


def letter(offset: int) -> DeadLetter:
    return DeadLetter(
        original_event={"op": "c", "n": offset},
        key=str(offset).encode(),
        topic="legacy.public.legacy_users",
        partition=0,
        offset=offset,
        error_type="InvalidEventError",
        error_message=f"bad {offset}",
        stack_trace="",
        retry_count=0,
        failed_at="2026-01-01T00:00:00+00:00",
    )


class DeadLetterArchiveContract:
    """What `tandem dlq` relies on, whatever holds the letters."""

    queue: Any

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
    def _queue(self) -> None:
        self.queue = InMemoryDeadLetterQueue(InMemoryBroker())


@pytest.mark.integration
class TestKafkaDeadLetterArchive(DeadLetterArchiveContract):
    @pytest.fixture(autouse=True)
    def _queue(self, running_stack: dict[str, str]) -> Iterator[None]:
        settings = KafkaSettings(tuple(running_stack["SYNC_KAFKA_BOOTSTRAP"].split(",")))
        self.queue = KafkaDeadLetterQueue(settings, f"contract-{uuid.uuid4().hex[:8]}.dlq")
        yield
        self.queue.close()
