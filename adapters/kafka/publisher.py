"""KafkaEventPublisher: keyed, acknowledged-by-all publishing with an all-or-error flush."""

from __future__ import annotations

import threading
from typing import Any

from kafka import KafkaProducer

from adapters.kafka.admin import supports_idempotence
from adapters.kafka.errors import broker_errors, translate
from adapters.kafka.limits import MAX_MESSAGE_BYTES, check_size
from adapters.kafka.settings import KafkaSettings
from domain.errors import BrokerUnavailableError


class KafkaEventPublisher:
    """EventPublisher; keys are partitioned with murmur2 like the Java clients (and Debezium).

    `idempotent=None` asks the broker whether it offers idempotent producing.
    """

    def __init__(
        self,
        settings: KafkaSettings,
        *,
        idempotent: bool | None = None,
        linger_ms: int = 5,
        delivery_timeout_ms: int = 60_000,
        max_block_ms: int = 10_000,
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
        with broker_errors(settings, "connecting the producer"):
            self._producer = KafkaProducer(**settings.client_kwargs(KafkaProducer), **options)
        self._pending: list[Any] = []
        self._lock = threading.Lock()

    def publish(self, topic: str, key: bytes | None, value: bytes | None) -> None:
        """Queue a message; `flush` says whether it arrived. A message too big for any topic
        raises MessageTooLargeError at once."""
        check_size(topic, key, value)
        with broker_errors(self.settings, f"publishing to {topic}"):
            future = self._producer.send(topic, key=key, value=value)
        with self._lock:
            self._pending.append(future)

    def flush(self) -> None:
        """Return once every queued message is acknowledged; else BrokerUnavailableError."""
        with self._lock:
            pending, self._pending = self._pending, []
        with broker_errors(self.settings, "flushing the producer"):
            self._producer.flush()
        failed = [f.exception for f in pending if f.failed()]
        if failed:
            first = translate(self.settings, "acknowledging messages", failed[0])
            if not isinstance(first, BrokerUnavailableError):
                raise first
            raise BrokerUnavailableError(
                f"{len(failed)} of {len(pending)} messages not acknowledged: {first}"
            )

    def close(self) -> None:
        with broker_errors(self.settings, "closing the producer"):
            self._producer.close()
