"""Reading parents' topics first while the consumer is behind, without starving any topic."""

from __future__ import annotations

import time
from collections.abc import Mapping

from kafka import KafkaConsumer, TopicPartition


class ParentsFirst:
    """Before each poll: while the consumer has at least `behind` messages left in all and a
    parent topic (lower rank) has any, the partitions of its children's topics are paused, so
    a backlog is applied parents first and children do not wait for parents still queued. At
    most `max_paused_polls` polls in a row are paused; then one poll reads every topic, so
    none starves while parents keep coming.
    """

    def __init__(
        self,
        ranks: Mapping[str, int],
        behind: int = 500,
        max_paused_polls: int = 10,
        ends_every_s: float = 1.0,
    ) -> None:
        self.ranks = dict(ranks)
        self.behind = behind
        self.max_paused_polls = max_paused_polls
        self.paused_polls = 0
        self.ends_every_s = ends_every_s
        self.ends: dict[TopicPartition, int] = {}
        self.ends_read_at = float("-inf")

    def before_poll(self, consumer: KafkaConsumer) -> None:
        assigned = consumer.assignment()
        first = self._first_rank_behind(consumer, assigned)
        starving = self.paused_polls >= self.max_paused_polls
        if first is None or starving:
            self.paused_polls = 0
            self._pause_only(consumer, set())
            return
        self.paused_polls += 1
        later = {tp for tp in assigned if self.ranks.get(tp.topic, first) > first}
        self._pause_only(consumer, later)

    def _first_rank_behind(
        self, consumer: KafkaConsumer, assigned: set[TopicPartition]
    ) -> int | None:
        """The lowest topic rank with messages left while `behind` are left in all; None when
        not behind, or some partition has not been fetched yet (its end is unknown)."""
        left: dict[int, int] = {}
        ends = self._ends(consumer, assigned)
        for tp in assigned:
            end = ends.get(tp)
            if end is None:
                return None
            rank = self.ranks.get(tp.topic, 0)
            if tp in consumer.paused():
                continue
            position = consumer.position(tp)
            left[rank] = left.get(rank, 0) + max(0, end - (end if position is None else position))
        if sum(left.values()) < self.behind:
            return None
        # Any message left counts: a broker may report ends as lower bounds (Tansu: the last
        # batch's base offset + 1), so a parent topic's backlog can look a single message long.
        pending = [rank for rank, count in left.items() if count > 0]
        return min(pending) if pending and min(pending) < max(self.ranks.values()) else None

    def _ends(
        self, consumer: KafkaConsumer, assigned: set[TopicPartition]
    ) -> dict[TopicPartition, int | None]:
        """Each partition's end: the last fetch's high watermark, or the broker's answer of
        at most `ends_every_s` ago when later (a fetch is parsed only when its records are
        reached, so the watermark of a topic queued behind another's records lags)."""
        now = time.monotonic()
        if now - self.ends_read_at >= self.ends_every_s and assigned:
            self.ends_read_at = now
            self.ends = consumer.end_offsets(list(assigned))
        ends: dict[TopicPartition, int | None] = {}
        for tp in assigned:
            known = [end for end in (consumer.highwater(tp), self.ends.get(tp)) if end is not None]
            ends[tp] = max(known) if known else None
        return ends

    @staticmethod
    def _pause_only(consumer: KafkaConsumer, paused: set[TopicPartition]) -> None:
        now = consumer.paused()
        if now - paused:
            consumer.resume(*(now - paused))
            _unstick_parked_records(consumer, now - paused)
        if paused - now:
            consumer.pause(*(paused - now))


def _unstick_parked_records(consumer: KafkaConsumer, resumed: set[TopicPartition]) -> None:
    """kafka-python 3.0 parks the records a paused partition had fetched and restores them only
    while no other partition's records are in line, which a busy topic's fetches keep
    occupying: the parked partition is then never fetched again. Dropping what it parked for
    the resumed partitions makes the fetcher read them again from their position."""
    parked = getattr(getattr(consumer, "_fetcher", None), "_paused_partition_records", None)
    if isinstance(parked, dict):
        for tp in resumed & set(parked):
            parked.pop(tp).drain()
