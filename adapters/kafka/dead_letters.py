"""KafkaDeadLetterQueue: dead letters as JSON on `sync.dlq`, listed, replayed and purged."""

from __future__ import annotations

import json
import logging
from collections.abc import Collection
from typing import Any

import attrs

from adapters.kafka.admin import delete_records, ensure_topics
from adapters.kafka.offsets import read_to_end
from adapters.kafka.publisher import KafkaEventPublisher
from adapters.kafka.settings import KafkaSettings
from domain.errors import MessageTooLargeError
from domain.model import DeadLetter

log = logging.getLogger(__name__)
OVERSIZE_HEAD_CHARS = 64 * 1024
# CONTRACT §3: exactly these fields, in this order; the key is the original message's key.
FIELDS = (
    "original_event",
    "topic",
    "partition",
    "offset",
    "error_type",
    "error_message",
    "stack_trace",
    "retry_count",
    "failed_at",
)


def encode(letter: DeadLetter) -> bytes:
    return _dumps({name: getattr(letter, name) for name in FIELDS})


def decode(key: bytes | None, value: bytes, letter_id: str) -> DeadLetter:
    document = json.loads(value)
    return DeadLetter(
        original_event=document["original_event"],
        key=key,
        topic=str(document["topic"]),
        partition=int(document["partition"]),
        offset=int(document["offset"]),
        error_type=str(document["error_type"]),
        error_message=str(document["error_message"]),
        stack_trace=str(document.get("stack_trace", "")),
        retry_count=int(document.get("retry_count", 0)),
        failed_at=str(document.get("failed_at", "")),
        id=letter_id,
    )


class KafkaDeadLetterQueue:
    """DeadLetterQueue and DeadLetterArchive on a topic.

    Tansu 0.6 cannot delete records, so `purge` writes how far the letters are purged, per
    partition, to `<topic>.purged`, and `letters` skips what lies below; `delete_records=True`
    also reclaims the space on a broker with DeleteRecords (Kafka).
    """

    def __init__(
        self,
        settings: KafkaSettings,
        topic: str = "sync.dlq",
        *,
        partitions: int = 3,
        publisher: KafkaEventPublisher | None = None,
        delete_records: bool = False,
    ) -> None:
        self.settings = settings
        self.topic = topic
        self.marker_topic = f"{topic}.purged"
        self.partitions = partitions
        self.delete_records = delete_records
        self._publisher = publisher
        self._owns_publisher = publisher is None
        self._topics_ready = False

    def send(self, letter: DeadLetter) -> None:
        """Publish the letter and wait for the broker's acknowledgement."""
        self._ensure_topics()
        try:
            self.publisher.publish(self.topic, letter.key, encode(letter))
        except MessageTooLargeError:  # the original is what is too big: keep its head
            head = json.dumps(letter.original_event, default=str)[:OVERSIZE_HEAD_CHARS]
            original = {"truncated": True, "head": head}
            self.publisher.publish(
                self.topic, letter.key, encode(attrs.evolve(letter, original_event=original))
            )
        self.publisher.flush()

    def letters(self) -> list[DeadLetter]:
        """Every letter not purged, oldest first; `id` is "<partition>-<offset>" on the DLQ."""
        return [letter for _, _, letter in self._read()[1]]

    def republish(self, letter: DeadLetter) -> None:
        """Put the original event back on its topic under its original key."""
        original = letter.original_event
        value = (
            None
            if original is None
            else (original.encode() if isinstance(original, str) else _dumps(original))
        )
        self.publisher.publish(letter.topic, letter.key, value)
        self.publisher.flush()

    def purge(self, letters: Collection[DeadLetter] | None = None) -> int:
        """Forget every letter held now (not those sent meanwhile); returns how many.

        With `letters` (as `letters()` gave them), forget only up to the newest of those on
        each partition: a letter dead-lettered after they were read is kept."""
        upto, held = self._read()
        if letters is not None:
            chosen = {letter.id for letter in letters}
            newest: dict[int, int] = {}
            for partition, offset, letter in held:
                if letter.id in chosen:
                    newest[partition] = max(newest.get(partition, -1), offset)
            held = [h for h in held if h[1] <= newest.get(h[0], -1)]
        if not held:
            return 0
        for partition, offset, _ in held:
            upto[partition] = max(upto.get(partition, 0), offset + 1)
        self._ensure_topics()
        marker = _dumps({str(p): o for p, o in sorted(upto.items())})
        self.publisher.publish(self.marker_topic, self.topic.encode(), marker)
        self.publisher.flush()
        if self.delete_records:
            delete_records(self.settings, {(self.topic, p): o for p, o in upto.items()})
        return len(held)

    def close(self) -> None:
        if self._publisher is not None and self._owns_publisher:
            self._publisher.close()

    @property
    def publisher(self) -> KafkaEventPublisher:
        if self._publisher is None:
            self._publisher = KafkaEventPublisher(self.settings)
        return self._publisher

    def _read(self) -> tuple[dict[int, int], list[tuple[int, int, DeadLetter]]]:
        """(purged-up-to offset per partition, (partition, offset, letter) not purged)."""
        records = read_to_end(self.settings, [self.topic, self.marker_topic])
        upto: dict[int, int] = {}
        for record in records:  # one partition: the last marker is the latest
            if (
                record.topic == self.marker_topic
                and record.key == self.topic.encode()
                and (record.value is not None)
            ):
                upto = {int(p): int(o) for p, o in json.loads(record.value).items()}
        letters = sorted(
            (
                r
                for r in records
                if r.topic == self.topic
                and r.value is not None
                and r.offset >= upto.get(r.partition, 0)
            ),
            key=lambda r: (r.timestamp, r.partition, r.offset),
        )
        held = []
        for record in letters:
            try:
                letter = decode(record.key, record.value, f"{record.partition}-{record.offset}")
            except (ValueError, KeyError, TypeError) as error:
                log.warning(
                    "skipping unreadable dead letter %s-%s: %s",
                    record.partition,
                    record.offset,
                    type(error).__name__,
                )
                continue
            held.append((record.partition, record.offset, letter))
        return upto, held

    def _ensure_topics(self) -> None:
        if not self._topics_ready:
            ensure_topics(self.settings, [self.topic], self.partitions)
            ensure_topics(self.settings, [self.marker_topic], 1)
            self._topics_ready = True


def _dumps(document: Any) -> bytes:
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False, default=str).encode()
