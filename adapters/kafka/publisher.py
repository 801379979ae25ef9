"""KafkaEventPublisher: keyed, acknowledged-by-all publishing with an all-or-error flush."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from kafka import KafkaProducer
from kafka.errors import MessageSizeTooLargeError, RecordListTooLargeError
from kafka.partitioner.default import DefaultPartitioner, murmur2

from adapters.kafka.admin import ensure_topics, supports_idempotence
from adapters.kafka.errors import broker_errors, translate
from adapters.kafka.limits import MAX_MESSAGE_BYTES, check_size
from adapters.kafka.settings import KafkaSettings
from domain.errors import BrokerUnavailableError, MessageTooLargeError

log = logging.getLogger(__name__)


class KafkaEventPublisher:
    """EventPublisher; keys are partitioned with murmur2 like the Java clients (and Debezium).

    `idempotent=None` asks the broker whether it offers idempotent producing. With
    `topic_partitions`, a topic is created with that many partitions before its first message,
    and again after a failure: a broker that keeps topics in memory (Tansu) comes back from a
    restart without them, and its own auto-creation would pick another partition count.
    """

    def __init__(
        self,
        settings: KafkaSettings,
        *,
        idempotent: bool | None = None,
        linger_ms: int = 5,
        delivery_timeout_ms: int = 60_000,
        max_block_ms: int = 10_000,
        topic_partitions: int | None = None,
        on_topics_lost: Callable[[list[str]], None] | None = None,
    ) -> None:
        self.settings = settings
        self.idempotent = supports_idempotence(settings) if idempotent is None else idempotent
        options: dict[str, Any] = {
            "acks": "all",
            "max_request_size": MAX_MESSAGE_BYTES,
            "linger_ms": linger_ms,
            "max_block_ms": max_block_ms,
            "delivery_timeout_ms": max(
                delivery_timeout_ms, settings.request_timeout_ms + linger_ms
            ),
        }
        if self.idempotent:
            options["enable_idempotence"] = True  # retries until the delivery timeout, in order
        else:  # one request in flight, so a retry cannot reorder a key's changes
            options.update(
                enable_idempotence=False, retries=5, max_in_flight_requests_per_connection=1
            )
        if topic_partitions:
            options["partitioner"] = FirstPartitions(topic_partitions)
        self._options = options
        self.topic_partitions = topic_partitions
        self.on_topics_lost = on_topics_lost
        self._ensured: set[str] = set()
        self._producer = self._connect()
        self._pending: list[Any] = []
        self._lock = threading.Lock()

    def _connect(self) -> KafkaProducer:
        with broker_errors(self.settings, "connecting the producer"):
            return KafkaProducer(**self.settings.client_kwargs(KafkaProducer), **self._options)

    def _reset(self) -> None:
        """A fresh producer after a failed flush: an idempotent producer whose id the broker
        forgot (restart: UnknownProducerId, InitProducerId errors) never recovers by itself."""
        self._ensured.clear()
        old, self._producer = self._producer, None
        try:
            old.close(timeout=0)
        except Exception as error:  # the old one is broken anyway
            log.debug("closing the failed producer: %s", type(error).__name__)
        # the next publish connects: while the broker is away, that is where it fails

    def _topic_lost(self, topic: str) -> None:
        """`tandem migrate` creates every topic: one missing now was lost by the broker (a
        memory-only broker restarted), with whatever it held that was not consumed yet."""
        log.warning(
            "topic %s was missing and is created again: the broker lost its messages "
            "(restarted?); changes published before and not yet applied must be repaired",
            topic,
        )
        if self.on_topics_lost is not None:
            self.on_topics_lost([topic])

    def publish(self, topic: str, key: bytes | None, value: bytes | None) -> None:
        """Queue a message; `flush` says whether it arrived. A message too big for any topic
        raises MessageTooLargeError at once."""
        check_size(topic, key, value)
        if self._producer is None:
            self._producer = self._connect()
        if self.topic_partitions and topic not in self._ensured:
            if ensure_topics(self.settings, [topic], self.topic_partitions):
                self._topic_lost(topic)
            self._ensured.add(topic)
        with broker_errors(self.settings, f"publishing to {topic}"):
            future = self._producer.send(topic, key=key, value=value)
        with self._lock:
            self._pending.append((future, (topic, key, value)))

    def flush(self) -> None:
        """Return once every queued message is acknowledged; else BrokerUnavailableError."""
        with self._lock:
            pending, self._pending = self._pending, []
        if self._producer is None:
            return  # reset after a failed flush, nothing published since
        try:
            with broker_errors(self.settings, "flushing the producer"):
                self._producer.flush()
        except BrokerUnavailableError:
            self._reset()
            raise
        failed = [f.exception for f, _ in pending if f.failed() and not _too_large(f.exception)]
        refused = tuple(m for f, m in pending if f.failed() and _too_large(f.exception))
        if failed or refused:
            self._reset()
        if refused and not failed:  # a topic made with a smaller max.message.bytes
            raise MessageTooLargeError(
                f"the broker refused {len(refused)} message(s) as too large, the first on "
                f"{refused[0][0]}",
                refused,
            )
        if failed:
            first = translate(self.settings, "acknowledging messages", failed[0])
            if not isinstance(first, BrokerUnavailableError):
                raise first
            raise BrokerUnavailableError(
                f"{len(failed)} of {len(pending)} messages not acknowledged: {first}"
            )

    def close(self, timeout_s: float = 2.0) -> None:
        """Release the producer; what is not acknowledged by then is abandoned (the capture
        has not advanced past it, so it is published again)."""
        if self._producer is None:
            return
        with broker_errors(self.settings, "closing the producer"):
            self._producer.close(timeout=timeout_s)


def _too_large(error: BaseException | None) -> bool:
    return isinstance(error, MessageSizeTooLargeError | RecordListTooLargeError)


class FirstPartitions(DefaultPartitioner):
    """Kafka's key partitioning (murmur2) over the first `count` partitions: the ones
    `tandem migrate` creates. A memory-only broker that lost a topic may recreate it on its own
    with more partitions (Tansu: 4) before the publisher does; a key's changes still go to the
    partition they went to before, and none to a partition the broker does not serve yet."""

    def __init__(self, count: int) -> None:
        self.count = count

    def partition(  # type: ignore[override]
        self, topic: str, key: Any, serialized_key: bytes | None, value: Any,
        serialized_value: Any, cluster: Any,
    ) -> int:  # fmt: skip
        if serialized_key is None:
            return int(super().partition(topic, key, None, value, serialized_value, cluster))
        known = sorted(cluster.partitions_for_topic(topic) or ())
        if not known:
            raise ValueError(f"Topic {topic} not found in ClusterMetadata")
        first = known[: min(self.count, len(known))]
        return int(first[(murmur2(serialized_key) & 0x7FFFFFFF) % len(first)])
