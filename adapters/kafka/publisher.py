"""KafkaEventPublisher: keyed, acknowledged-by-all publishing with an all-or-error flush."""

from __future__ import annotations

import logging
import threading
from typing import Any

from kafka import KafkaProducer

from adapters.kafka.admin import ensure_topics, supports_idempotence
from adapters.kafka.errors import broker_errors, translate
from adapters.kafka.settings import KafkaSettings
from domain.errors import BrokerUnavailableError

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
    ) -> None:
        self.settings = settings
        self.idempotent = supports_idempotence(settings) if idempotent is None else idempotent
        options: dict[str, Any] = {
            "acks": "all",
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
        self._options = options
        self.topic_partitions = topic_partitions
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
        self._producer = self._connect()

    def publish(self, topic: str, key: bytes | None, value: bytes | None) -> None:
        """Queue a message; `flush` says whether it arrived."""
        if self._producer is None:
            self._producer = self._connect()
        if self.topic_partitions and topic not in self._ensured:
            ensure_topics(self.settings, [topic], self.topic_partitions)
            self._ensured.add(topic)
        with broker_errors(self.settings, f"publishing to {topic}"):
            future = self._producer.send(topic, key=key, value=value)
        with self._lock:
            self._pending.append(future)

    def flush(self) -> None:
        """Return once every queued message is acknowledged; else BrokerUnavailableError."""
        with self._lock:
            pending, self._pending = self._pending, []
        try:
            with broker_errors(self.settings, "flushing the producer"):
                self._producer.flush()
        except BrokerUnavailableError:
            self._reset()
            raise
        failed = [f.exception for f in pending if f.failed()]
        if failed:
            self._reset()
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
