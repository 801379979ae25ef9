"""KafkaChangeSource: a consumer-group member on the change topics, committing only on request."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError
from kafka.structs import OffsetAndMetadata

from adapters.kafka.admin import group_lag
from adapters.kafka.errors import broker_errors
from adapters.kafka.offsets import partitions_of
from adapters.kafka.parents_first import ParentsFirst
from adapters.kafka.settings import KafkaSettings
from domain.model import RawMessage

log = logging.getLogger(__name__)


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
                self._consumer.subscribe(self.topics)

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
        return [
            RawMessage(r.topic, r.partition, r.offset, r.key, r.value, r.timestamp)
            for tp in sorted(batches)
            for r in batches[tp]
        ]

    def commit(self, offsets: Mapping[tuple[str, int], int]) -> None:
        """Commit exactly these next offsets for the group, synchronously."""
        if not offsets:
            return
        # kafka-python >= 2.1 takes (offset, metadata, leader_epoch); -1: epoch unknown.
        committing = {
            TopicPartition(t, p): OffsetAndMetadata(o, "", -1) for (t, p), o in offsets.items()
        }
        with broker_errors(self.settings, f"committing offsets of group {self.group_id}"):
            self._consumer.commit(offsets=committing)

    def _unfetched(self) -> bool:
        """Whether an assigned partition has had no fetch answer yet (its end is unknown)."""
        return any(self._consumer.highwater(tp) is None for tp in self._consumer.assignment())

    def rewind(self) -> None:
        """Seek each assigned partition back to its committed offset (or the beginning)."""
        with broker_errors(self.settings, f"rewinding group {self.group_id}"):
            for tp in self._consumer.assignment():
                committed = self._consumer.committed(tp)
                if committed is None:
                    self._consumer.seek_to_beginning(tp)
                else:
                    self._consumer.seek(tp, committed)

    def lag(self) -> dict[tuple[str, int], tuple[int, int]]:
        """(topic, partition) -> (committed, end offset), for status."""
        return group_lag(self.settings, self.group_id, self.topics)

    def close(self) -> None:
        """Leave the group without committing: what was not committed is redelivered."""
        try:
            self._consumer.close(autocommit=False)
        except (KafkaError, OSError) as error:
            log.warning(
                "closing consumer of group %s: %s",
                self.group_id,
                self.settings.redact(type(error).__name__),
            )
