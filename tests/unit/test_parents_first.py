"""ParentsFirst: children's partitions paused while parents are behind, never for long."""

from __future__ import annotations

from kafka import TopicPartition

from adapters.kafka.parents_first import ParentsFirst

USERS, POSTS = TopicPartition("users", 0), TopicPartition("posts", 0)


class FakeConsumer:
    """What ParentsFirst reads of a KafkaConsumer: ends, positions, pauses."""

    def __init__(self, ends: dict[TopicPartition, int | None]) -> None:
        self.ends = ends
        self.positions = dict.fromkeys(ends, 0)
        self._paused: set[TopicPartition] = set()

    def assignment(self) -> set[TopicPartition]:
        return set(self.ends)

    def highwater(self, tp: TopicPartition) -> int | None:
        return self.ends[tp]

    def position(self, tp: TopicPartition) -> int:
        return self.positions[tp]

    def end_offsets(self, tps: list[TopicPartition]) -> dict[TopicPartition, int]:
        return {tp: end for tp in tps if (end := self.ends[tp]) is not None}

    def paused(self) -> set[TopicPartition]:
        return set(self._paused)

    def pause(self, *tps: TopicPartition) -> None:
        self._paused |= set(tps)

    def resume(self, *tps: TopicPartition) -> None:
        self._paused -= set(tps)


def test_children_wait_while_parents_are_behind_then_resume() -> None:
    consumer = FakeConsumer({USERS: 1000, POSTS: 1000})
    order = ParentsFirst({"users": 0, "posts": 1}, behind=100)
    order.before_poll(consumer)  # type: ignore[arg-type]
    assert consumer.paused() == {POSTS}
    consumer.positions[USERS] = 950  # fewer than `behind` left: no longer behind
    order.before_poll(consumer)  # type: ignore[arg-type]
    assert consumer.paused() == set()


def test_nothing_is_paused_before_every_partition_was_fetched() -> None:
    consumer = FakeConsumer({USERS: 1000, POSTS: None})
    ParentsFirst({"users": 0, "posts": 1}, behind=100).before_poll(consumer)  # type: ignore[arg-type]
    assert consumer.paused() == set()


def test_children_are_read_at_least_once_every_few_polls() -> None:
    consumer = FakeConsumer({USERS: 10**9, POSTS: 1000})  # parents never catch up
    order = ParentsFirst({"users": 0, "posts": 1}, behind=100, max_paused_polls=3)
    paused = []
    for _ in range(8):
        order.before_poll(consumer)  # type: ignore[arg-type]
        paused.append(POSTS in consumer.paused())
    assert paused == [True, True, True, False, True, True, True, False]
