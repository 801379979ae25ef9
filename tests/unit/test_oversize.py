"""A change too large for the broker is dead-lettered by capture with its table and key."""

from __future__ import annotations

import json

import pytest

from adapters.capture.oversize import OversizeDeadLettering
from adapters.kafka.limits import MAX_MESSAGE_BYTES, check_size
from adapters.memory.broker import InMemoryBroker
from adapters.memory.dead_letters import InMemoryDeadLetterQueue
from domain.errors import MessageTooLargeError


class SizeCheckingPublisher:
    def __init__(self) -> None:
        self.published: list[tuple[str, bytes | None]] = []

    def publish(self, topic: str, key: bytes | None, value: bytes | None) -> None:
        check_size(topic, key, value)
        self.published.append((topic, key))

    def flush(self) -> None:
        pass


def change(size: int) -> bytes:
    return json.dumps(
        {"op": "c", "before": None, "after": {"id": 7, "post_content": "x" * size},
         "source": {"table": "legacy_posts", "lsn": 99}}
    ).encode()  # fmt: skip


def test_a_change_over_the_limit_is_dead_lettered_and_the_next_one_published() -> None:
    publisher, dead_letters = SizeCheckingPublisher(), InMemoryDeadLetterQueue(InMemoryBroker())
    guard = OversizeDeadLettering(publisher, dead_letters)
    guard.publish("legacy.public.legacy_posts", b'{"id":7}', change(MAX_MESSAGE_BYTES))
    guard.publish("legacy.public.legacy_posts", b'{"id":8}', change(1_500_000))
    assert publisher.published == [("legacy.public.legacy_posts", b'{"id":8}')]
    (letter,) = dead_letters.letters()
    assert letter.topic == "legacy.public.legacy_posts" and letter.key == b'{"id":7}'
    assert letter.error_type == "MessageTooLargeError"
    assert '{"id":7}' in letter.error_message and "exceeds the limit" in letter.error_message
    assert letter.original_event["source"] == {"table": "legacy_posts", "lsn": 99}
    assert letter.original_event["after"] is None


def test_a_row_of_one_and_a_half_megabytes_fits() -> None:
    check_size("legacy.public.legacy_posts", b'{"id":8}', change(1_500_000))
    with pytest.raises(MessageTooLargeError):
        check_size("legacy.public.legacy_posts", b'{"id":8}', change(MAX_MESSAGE_BYTES))


class RefusingPublisher(SizeCheckingPublisher):
    """The broker refuses at flush what a topic with a smaller limit cannot hold."""

    def flush(self) -> None:
        refused = tuple((t, k, change(2_000_000)) for t, k in self.published if k == b'{"id":9}')
        self.published = [p for p in self.published if p[1] != b'{"id":9}']
        if refused:
            raise MessageTooLargeError("the broker refused 1 message(s) as too large", refused)


def test_a_change_the_broker_refuses_at_flush_is_dead_lettered_the_others_stay() -> None:
    publisher, dead_letters = RefusingPublisher(), InMemoryDeadLetterQueue(InMemoryBroker())
    guard = OversizeDeadLettering(publisher, dead_letters)
    guard.publish("legacy.public.legacy_posts", b'{"id":9}', change(2_000_000))
    guard.publish("legacy.public.legacy_posts", b'{"id":10}', change(10))
    guard.flush()
    assert publisher.published == [("legacy.public.legacy_posts", b'{"id":10}')]
    (letter,) = dead_letters.letters()
    assert letter.key == b'{"id":9}' and letter.error_type == "MessageTooLargeError"
    assert 'legacy_posts key {"id":9}: refused by the broker' in letter.error_message


def test_a_flush_that_fails_otherwise_is_not_swallowed() -> None:
    class Failing(SizeCheckingPublisher):
        def flush(self) -> None:
            raise MessageTooLargeError("no detail")

    guard = OversizeDeadLettering(Failing(), InMemoryDeadLetterQueue(InMemoryBroker()))
    with pytest.raises(MessageTooLargeError):
        guard.flush()
