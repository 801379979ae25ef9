"""KafkaEventPublisher: keyed, acknowledged-by-all publishing with an all-or-error flush.

It produces through librdkafka (confluent-kafka), not kafka-python: measured on the capture's
messages, kafka-python's producer spends ~60 µs of Python per message (its accumulator and a
wake-up of its network thread) where librdkafka spends ~3 µs, with its network threads outside
the GIL; the capture was the pipeline's bottleneck. The consumers and admin stay on kafka-python.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Producer

from adapters.kafka.admin import ensure_topics, supports_idempotence
from adapters.kafka.errors import described, reason_code, translate
from adapters.kafka.limits import MAX_MESSAGE_BYTES, check_size
from adapters.kafka.partitioning import first_partition
from adapters.kafka.settings import KafkaSettings
from domain.errors import BrokerUnavailableError, ConfigurationError, MessageTooLargeError

log = logging.getLogger(__name__)
Message = tuple[str, bytes | None, bytes | None]  # topic, key, value

RECONNECT_S = 5.0  # how long a flush waits for acknowledgements once a connection dropped
_TOO_LARGE = {KafkaError.MSG_SIZE_TOO_LARGE, KafkaError.RECORD_LIST_TOO_LARGE}


class KafkaEventPublisher:
    """EventPublisher; keys are partitioned with murmur2 like the Java clients (and Debezium).

    `idempotent=None` asks the broker whether it offers idempotent producing. With
    `topic_partitions`, a topic is created with that many partitions before its first message,
    and again after a failure: a broker that keeps topics in memory (Tansu) comes back from a
    restart without them, and its own auto-creation would pick another partition count; keys
    go to the first `topic_partitions` partitions whatever the broker made (`first_partition`).
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
        self.delivery_timeout_ms = max(delivery_timeout_ms, settings.request_timeout_ms + linger_ms)
        self.max_block_ms = max_block_ms
        config: dict[str, Any] = settings.librdkafka_config() | {
            "acks": "all",
            "linger.ms": linger_ms,
            "message.max.bytes": MAX_MESSAGE_BYTES,
            "message.timeout.ms": self.delivery_timeout_ms,
            "partitioner": "murmur2_random",  # the Java clients' murmur2 (random for no key)
            "queue.buffering.max.messages": 1_000_000,
            # memory bounded as kafka-python's 32 MB buffer bounded it (a full queue: publish
            # waits for room), with room for the biggest messages
            "queue.buffering.max.kbytes": 4 * MAX_MESSAGE_BYTES // 1024,
            "delivery.report.only.error": True,  # failures are all `flush` needs to hear of
            "on_delivery": self._delivered,
            "error_cb": self._client_error,
            "logger": logging.getLogger("tandem.kafka.producer"),
        }
        if self.idempotent:
            config["enable.idempotence"] = True  # retries until the delivery timeout, in order
        else:  # one request in flight, so a retry cannot reorder a key's changes
            config.update({
                "enable.idempotence": False, "retries": 5,
                "max.in.flight.requests.per.connection": 1,
            })  # fmt: skip
        self._config = config
        self.topic_partitions = topic_partitions
        self.on_topics_lost = on_topics_lost
        self._partitions: dict[str, int] = {}  # topics ensured: their partition count
        self._lock = threading.Lock()
        self._published = 0  # since the last flush
        self._failed: list[tuple[KafkaError, Message]] = []
        self._dropped_at: float | None = None  # a broker connection dropped, since the last flush
        self._producer: Producer | None = self._connect()

    def _connect(self) -> Producer:
        try:
            producer = Producer(self._config)
        except KafkaException as error:  # a setting librdkafka refuses
            refused = self.settings.redact(described(error))
            raise ConfigurationError(f"Kafka producer settings refused: {refused}") from None
        try:  # librdkafka connects lazily: reach the broker now, as the other clients do
            producer.list_topics(timeout=self.settings.bootstrap_timeout_ms / 1000)
        except KafkaException as error:
            producer.purge()
            raise translate(self.settings, "connecting the producer", error) from None
        return producer

    def _delivered(self, error: KafkaError | None, message: Any) -> None:
        if error is not None:  # with delivery.report.only.error, always
            with self._lock:
                self._failed.append((error, (message.topic(), message.key(), message.value())))

    def _client_error(self, error: KafkaError) -> None:
        """librdkafka's client-wide errors (a broker down, all brokers down): it reconnects by
        itself; messages it cannot deliver in time fail, and `flush` reports them."""
        log.debug("kafka producer: %s", self.settings.redact(described(error)))
        if error.code() in (KafkaError._TRANSPORT, KafkaError._ALL_BROKERS_DOWN):
            self._dropped_at = self._dropped_at or time.monotonic()

    def _reset(self) -> None:
        """A fresh producer after a failed flush: an idempotent producer whose id the broker
        forgot (restart: UnknownProducerId, fatal errors) never recovers by itself."""
        self._partitions.clear()
        old, self._producer = self._producer, None
        if old is not None:
            try:
                old.purge()
                old.flush(0)
            except Exception as error:  # the old one is broken anyway
                log.debug("closing the failed producer: %s", type(error).__name__)
        with self._lock:  # the purged messages' reports: the caller has counted them failed
            self._failed, self._published = [], 0
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
        producer = self._producer
        if producer is None:
            producer = self._producer = self._connect()
        partition = -1  # the partitioner's choice
        if self.topic_partitions:
            count = self._partitions.get(topic)
            if count is None:
                count = self._ensure(producer, topic)
            if key is not None:
                partition = first_partition(key, self.topic_partitions, count)
        self._published += 1
        try:
            producer.produce(topic, value, key, partition)
        except BufferError:  # the local queue is full: wait for room, as kafka-python blocks
            producer.flush(self.max_block_ms / 1000)
            try:
                producer.produce(topic, value, key, partition)
            except (BufferError, KafkaException) as error:
                raise translate(self.settings, f"publishing to {topic}", error) from None
        except KafkaException as error:
            if reason_code(error) in _TOO_LARGE:
                detail = self.settings.redact(described(error))
                raise MessageTooLargeError(f"{topic}: {detail}") from None
            raise translate(self.settings, f"publishing to {topic}", error) from None

    def _ensure(self, producer: Producer, topic: str) -> int:
        """Create the topic if the broker lost it; its partition count as the broker has it."""
        assert self.topic_partitions
        if ensure_topics(self.settings, [topic], self.topic_partitions):
            self._topic_lost(topic)
        try:
            metadata = producer.list_topics(topic, timeout=self.settings.request_timeout_ms / 1000)
        except KafkaException as error:
            raise translate(self.settings, f"reading the partitions of {topic}", error) from None
        known = metadata.topics.get(topic)
        count = len(known.partitions) if known is not None and known.error is None else 0
        if count:
            self._partitions[topic] = count
        return count or self.topic_partitions

    def flush(self) -> None:
        """Return once every queued message is acknowledged; else BrokerUnavailableError."""
        if self._producer is None:
            return  # reset after a failed flush, nothing published since
        left, gave_up_why = self._wait_for_acknowledgements(self._producer)
        with self._lock:
            failed, self._failed = self._failed, []
        published, self._published = self._published, 0
        if not failed and not left:
            return
        self._reset()
        refused = tuple(m for e, m in failed if e.code() in _TOO_LARGE)
        others = [e for e, _ in failed if e.code() not in _TOO_LARGE]
        if refused and not others and not left:  # a topic made with a smaller max.message.bytes
            raise MessageTooLargeError(
                f"the broker refused {len(refused)} message(s) as too large, the first on "
                f"{refused[0][0]}",
                refused,
            )
        first = None
        if others:
            first = translate(self.settings, "acknowledging messages", KafkaException(others[0]))
        if first is not None and not isinstance(first, BrokerUnavailableError):
            raise first
        detail = f": {first}" if first is not None else f": {gave_up_why}"
        raise BrokerUnavailableError(
            f"{len(others) + left} of {published} messages not acknowledged{detail}"
        )

    def _wait_for_acknowledgements(self, producer: Producer) -> tuple[int, str]:
        """Flush; how many messages are still unacknowledged when it gives up, and why: at the
        delivery timeout, or `RECONNECT_S` after the broker connection dropped. A broker that
        restarted without its state (Tansu keeps it in memory) answers an idempotent producer
        "unknown producer id" for ever, and librdkafka retries until the delivery timeout; a
        fresh producer registers again. Giving up early loses nothing: the capture publishes
        again."""
        started = time.monotonic()
        deadline = started + self.delivery_timeout_ms / 1000 + 5
        why = "delivery timed out"
        while (left := producer.flush(0.5)) and time.monotonic() < deadline:
            dropped = self._dropped_at
            if dropped is not None and time.monotonic() - max(dropped, started) > RECONNECT_S:
                why = f"not acknowledged {RECONNECT_S:.0f} s after a disconnection"
                break
        self._dropped_at = None
        return int(left), why

    def close(self, timeout_s: float = 2.0) -> None:
        """Release the producer; what is not acknowledged by then is abandoned (the capture
        has not advanced past it, so it is published again)."""
        producer, self._producer = self._producer, None
        if producer is not None:
            producer.flush(timeout_s)
            producer.purge()
