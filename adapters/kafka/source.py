"""KafkaChangeSource: a consumer-group member on the change topics, committing only on request."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any

from kafka import KafkaConsumer, TopicPartition
from kafka import errors as kafka_errors
from kafka.consumer.subscription_state import ConsumerRebalanceListener
from kafka.errors import KafkaError
from kafka.structs import OffsetAndMetadata

from adapters.kafka.admin import group_lag
from adapters.kafka.errors import broker_errors
from adapters.kafka.offsets import partitions_of
from adapters.kafka.parents_first import ParentsFirst
from adapters.kafka.settings import KafkaSettings
from domain.errors import PositionsLostError
from domain.model import RawMessage

log = logging.getLogger(__name__)

# A commit refused because this member no longer owns its partitions: rejoin, never retry.
_MEMBERSHIP_LOST = (
    kafka_errors.CommitFailedError,
    kafka_errors.RebalanceInProgressError,
    kafka_errors.UnknownMemberIdError,
    kafka_errors.IllegalGenerationError,
    kafka_errors.FencedInstanceIdError,
)


class _Reassignments(ConsumerRebalanceListener):
    """Counts the assignments the group hands this member (inside `poll`)."""

    def __init__(self, group_id: str) -> None:
        self.group_id, self.count = group_id, 0

    def on_partitions_revoked(self, revoked: object) -> None:
        return None

    def on_partitions_assigned(self, assigned: Any) -> None:
        self.count += 1
        log.info("partitions assigned", extra={"group": self.group_id, "partitions": len(assigned)})


class KafkaChangeSource:
    """ChangeSource over kafka-python; offsets are committed only by `commit`.

    Tansu holds a group join for half the session timeout, so the 6 s default (Kafka's
    minimum, group.min.session.timeout.ms) joins in ~3 s where kafka-python's 45 s takes ~23 s.
    """

    def __init__(
        self,
        settings: KafkaSettings,
        group_id: str,
        topics: Sequence[str],
        *,
        max_poll_records: int = 500,
        session_timeout_ms: int = 6_000,
        heartbeat_interval_ms: int = 1_000,
        max_poll_interval_ms: int = 300_000,
        fetch_max_wait_ms: int = 50,
        assign_all: bool = False,
        first_fetch_s: float = 5.0,
        topic_ranks: Mapping[str, int] | None = None,
        call_timeout_ms: int = 5_000,
    ) -> None:
        """`assign_all` takes every partition without joining the group (one consumer per
        group, offsets still committed to it): no rebalance wait, for tests and tools.
        `topic_ranks` (parents lower): read parents' topics first while behind."""
        self.settings = settings
        self.group_id = group_id
        self.first_fetch_s = first_fetch_s
        self.topics = list(topics)
        self.parents_first = (
            ParentsFirst(topic_ranks, behind=max_poll_records) if topic_ranks else None
        )
        self.call_timeout_ms = call_timeout_ms  # commit, committed, close: never unbounded
        self.assign_all, self.session_timeout_ms = assign_all, session_timeout_ms
        self._assignments = _Reassignments(group_id)
        self._seen_assignments = 0
        self._delivered: dict[TopicPartition, int] = {}  # next offset after the last delivered
        with broker_errors(settings, f"joining consumer group {group_id}"):
            self._consumer = KafkaConsumer(
                **settings.client_kwargs(KafkaConsumer),
                group_id=group_id,
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                # Topics come from migrate with their partition count. Kafka honours this;
                # Tansu 0.6 still creates a missing subscribed topic, with 4 partitions.
                allow_auto_create_topics=False,
                max_poll_records=max_poll_records,
                session_timeout_ms=session_timeout_ms,
                heartbeat_interval_ms=heartbeat_interval_ms,
                max_poll_interval_ms=max_poll_interval_ms,
                # the broker may hold an empty fetch this long: it bounds the added latency
                fetch_max_wait_ms=fetch_max_wait_ms,
            )
            if assign_all:
                self._consumer.assign(partitions_of(self._consumer, self.topics))
                self.rewind()
            else:
                self._consumer.subscribe(self.topics, listener=self._assignments)

    def poll(self, max_records: int, timeout_s: float) -> list[RawMessage]:
        """Up to `max_records` messages, in offset order within each partition.

        Empty only once every assigned partition has answered a fetch (or `first_fetch_s`
        passed): a short poll before the first answers would look idle, and `--once` stop."""
        deadline = time.monotonic() + max(timeout_s, self.first_fetch_s)
        with broker_errors(self.settings, f"polling for group {self.group_id}"):
            if self.parents_first is not None:
                self.parents_first.before_poll(self._consumer)
            batches = self._consumer.poll(timeout_ms=int(timeout_s * 1000), max_records=max_records)
            while not batches and self._unfetched() and time.monotonic() < deadline:
                batches = self._consumer.poll(timeout_ms=100, max_records=max_records)
            self._check_continuity(batches)
        return [
            RawMessage(r.topic, r.partition, r.offset, r.key, r.value, r.timestamp)
            for tp in sorted(batches)
            for r in batches[tp]
        ]

    def _check_continuity(self, batches: Mapping[TopicPartition, Sequence[Any]]) -> None:
        """PositionsLostError when the records do not continue what was delivered: the group
        gave this member a new assignment, or a partition starts over (recreated topic, e.g.
        a broker that keeps topics in memory restarted). Once the caller dropped what it had
        not committed, it must get it again: after a reassignment every partition goes back
        to its committed offset (kafka-python keeps the position of a partition the member
        keeps, which is past messages delivered but not committed, such as children waiting
        for a parent); a partition that starts over is read again from these records."""
        reassigned = self._assignments.count > max(self._seen_assignments, 1)
        self._seen_assignments = max(self._seen_assignments, self._assignments.count)
        if reassigned:
            self.rewind()
            raise PositionsLostError(f"group {self.group_id}: partitions reassigned")
        restarted = [
            tp
            for tp, records in batches.items()
            if records and records[0].offset < self._delivered.get(tp, 0)
        ]
        if restarted:
            for tp, records in batches.items():
                if records:
                    self._consumer.seek(tp, records[0].offset)
            self._delivered.clear()
            raise PositionsLostError(f"group {self.group_id}: {restarted[0]} starts over")
        for tp, records in batches.items():
            if records:
                self._delivered[tp] = records[-1].offset + 1

    def commit(self, offsets: Mapping[tuple[str, int], int]) -> None:
        """Commit exactly these next offsets for the group, synchronously; PositionsLostError
        when the group moved the partitions meanwhile (the caller polls again, to rejoin)."""
        if not offsets:
            return
        # kafka-python >= 2.1 takes (offset, metadata, leader_epoch); -1: epoch unknown.
        committing = {
            TopicPartition(t, p): OffsetAndMetadata(o, "", -1) for (t, p), o in offsets.items()
        }
        lost = set(committing) - self._consumer.assignment()
        if lost or self._assignments.count > self._seen_assignments:
            self._delivered.clear()
            raise PositionsLostError(f"group {self.group_id}: partitions moved before the commit")
        with broker_errors(self.settings, f"committing offsets of group {self.group_id}"):
            try:
                self._consumer.commit(offsets=committing, timeout_ms=self.call_timeout_ms)
            except _MEMBERSHIP_LOST as error:
                self._delivered.clear()
                raise PositionsLostError(
                    f"group {self.group_id}: commit refused ({type(error).__name__})"
                ) from None

    def _unfetched(self) -> bool:
        """Whether an assigned partition has had no fetch answer yet (its end is unknown)."""
        return any(self._consumer.highwater(tp) is None for tp in self._consumer.assignment())

    def rewind(self) -> None:
        """Seek each assigned partition back to its committed offset (or the beginning)."""
        self._delivered.clear()
        with broker_errors(self.settings, f"rewinding group {self.group_id}"):
            for tp in self._consumer.assignment():
                committed = self._consumer.committed(tp, timeout_ms=self.call_timeout_ms)
                if committed is None:
                    self._consumer.seek_to_beginning(tp)
                else:
                    self._consumer.seek(tp, committed)

    def redeliver(self, messages: Sequence[RawMessage]) -> None:
        """Seek back to the first of these messages in each partition still assigned and
        positioned after it; never forward (a rebalance may have reset a partition to its
        committed offset: it stays there)."""
        first: dict[TopicPartition, int] = {}
        for m in messages:
            tp = TopicPartition(m.topic, m.partition)
            first[tp] = min(first.get(tp, m.offset), m.offset)
        with broker_errors(self.settings, f"seeking back for group {self.group_id}"):
            assigned = self._consumer.assignment()
            for tp, offset in first.items():
                if tp not in assigned:
                    continue
                try:
                    position = self._consumer.position(tp, timeout_ms=0)
                except KafkaError:
                    continue  # unknown: reset to the committed offset when fetched
                if position is not None and position > offset:
                    self._consumer.seek(tp, offset)
                    self._delivered[tp] = offset  # what comes next continues from there

    def backlog(self) -> int | None:
        """Messages after this member's positions, from what the last fetches said; None when
        the group coordinator is unknown (the broker cannot be reached)."""
        if self._out_of_touch():
            return None
        behind = 0
        for tp in self._consumer.assignment():
            end = self._consumer.highwater(tp)
            try:
                position = self._consumer.position(tp, timeout_ms=0)
            except (KafkaError, OSError):
                position = None
            if end is not None and position is not None:
                behind += max(0, end - position)
        return behind

    def _out_of_touch(self) -> bool:
        """No group coordinator, or no heartbeat answer for a session timeout: kafka-python
        keeps returning empty polls from a broker that stopped answering."""
        if self.assign_all:
            return False
        coordinator = getattr(self._consumer, "_coordinator", None)
        if coordinator is None:
            return False
        if coordinator.coordinator_unknown():
            return True
        heartbeat = coordinator.heartbeat
        answered = max(heartbeat.last_receive, heartbeat.last_reset)
        return time.monotonic() - answered > self.session_timeout_ms / 1000

    def lag(self) -> dict[tuple[str, int], tuple[int, int]]:
        """(topic, partition) -> (committed, end offset), for status."""
        return group_lag(self.settings, self.group_id, self.topics)

    def close(self) -> None:
        """Leave the group without committing: what was not committed is redelivered."""
        try:
            self._consumer.close(autocommit=False, timeout_ms=2_000)
        except (KafkaError, OSError) as error:
            log.warning(
                "closing consumer of group %s: %s",
                self.group_id,
                self.settings.redact(type(error).__name__),
            )
