"""KafkaDeadLetterQueue: dead letters as JSON on `sync.dlq`, listed, replayed and resolved."""

from __future__ import annotations

import json
import logging
from collections.abc import Collection
from typing import Any

import attrs
import cattrs
from cattrs.gen import make_dict_unstructure_fn, override

from adapters.kafka.admin import delete_records, ensure_topics
from adapters.kafka.offsets import read_to_end
from adapters.kafka.publisher import KafkaEventPublisher
from adapters.kafka.settings import KafkaSettings
from adapters.resolutions import resolution
from domain.errors import MessageTooLargeError
from domain.model import DeadLetter, Resolution

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
OPTIONAL = {"stack_trace": "", "retry_count": 0, "failed_at": ""}  # absent from older letters

# the records of the dead-letter topics: letters, resolutions, purge marks
_records = cattrs.Converter()
_records.register_unstructure_hook(
    DeadLetter,
    make_dict_unstructure_fn(
        DeadLetter,
        _records,
        **{a.name: override(omit=True) for a in attrs.fields(DeadLetter) if a.name not in FIELDS},
    ),
)


def encode(letter: DeadLetter) -> bytes:
    return _dumps(_records.unstructure(letter))


def decode(key: bytes | None, value: bytes, letter_id: str) -> DeadLetter:
    """The letter a record holds; ValueError when it holds none."""
    document = OPTIONAL | json.loads(value) | {"key": key, "id": letter_id}
    try:
        return _records.structure(document, DeadLetter)
    except cattrs.BaseValidationError as error:
        raise ValueError(f"not a dead letter: {error.exceptions[0]!r}") from error


class KafkaDeadLetterQueue:
    """DeadLetterQueue and DeadLetterArchive on a topic.

    Letters are never rewritten: resolving one (replay, ack, purge) appends a record keyed by
    the letter's id to `<topic>.resolved`, and `letters` leaves resolved ones out, so each
    resolution stays on record with who, when and how. `delete_records=True` also reclaims
    the space of resolved letters on a broker with DeleteRecords (Kafka; Tansu 0.6 has none).
    Marks of the older `<topic>.purged` topic (purged up to an offset) are still honoured.
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
        self.resolved_topic = f"{topic}.resolved"
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

    def letters(self, include_resolved: bool = False) -> list[DeadLetter]:
        """Letters not resolved (or all), oldest first (by the broker's millisecond timestamp,
        then partition and offset); `id` is "<partition>-<offset>"."""
        return [
            letter for _, _, letter in self._read() if include_resolved or letter.resolution is None
        ]

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

    def resolve(self, letters: Collection[DeadLetter], resolution: Resolution) -> int:
        """Append one resolution record per letter still unresolved; returns how many."""
        held = self._read()
        chosen = {letter.id for letter in letters}
        fresh = [letter for _, _, letter in held if letter.id in chosen and not letter.resolution]
        if not fresh:
            return 0
        self._ensure_topics()
        record = _dumps(_records.unstructure(resolution))
        for letter in fresh:
            self.publisher.publish(self.resolved_topic, letter.id.encode(), record)
        self.publisher.flush()
        if self.delete_records:
            self._reclaim(held, {letter.id for letter in fresh})
        return len(fresh)

    def purge(self, letters: Collection[DeadLetter] | None = None) -> int:
        """Resolve these letters (default: every one held now) as purged."""
        return self.resolve(self.letters() if letters is None else letters, resolution("purged"))

    def close(self) -> None:
        if self._publisher is not None and self._owns_publisher:
            self._publisher.close()

    @property
    def publisher(self) -> KafkaEventPublisher:
        if self._publisher is None:
            self._publisher = KafkaEventPublisher(self.settings)
        return self._publisher

    def _read(self) -> list[tuple[int, int, DeadLetter]]:
        """(partition, offset, letter with its resolution if any), oldest first."""
        records = read_to_end(self.settings, [self.topic, self.marker_topic, self.resolved_topic])
        purged_upto: dict[int, int] = {}
        resolutions: dict[str, Resolution] = {}
        for record in records:  # one partition each: the last record of a key is the latest
            if record.value is None:
                continue
            if record.topic == self.marker_topic and record.key == self.topic.encode():
                purged_upto = _records.structure(json.loads(record.value), dict[int, int])
            elif record.topic == self.resolved_topic and record.key is not None:
                resolved = json.loads(record.value)
                resolutions[record.key.decode()] = _records.structure(resolved, Resolution)
        letters = sorted(
            (
                r
                for r in records
                if r.topic == self.topic
                and r.value is not None
                and r.offset >= purged_upto.get(r.partition, 0)
            ),
            key=lambda r: (r.timestamp, r.partition, r.offset),
        )
        held = []
        for record in letters:
            letter_id = f"{record.partition}-{record.offset}"
            try:
                letter = decode(record.key, record.value, letter_id)
            except (ValueError, TypeError) as error:
                log.warning(
                    "skipping unreadable dead letter %s: %s", letter_id, type(error).__name__
                )
                continue
            held.append(
                (
                    record.partition,
                    record.offset,
                    attrs.evolve(letter, resolution=resolutions.get(letter_id)),
                )
            )
        return held

    def _reclaim(self, held: list[tuple[int, int, DeadLetter]], now_resolved: set[str]) -> None:
        """Delete, per partition, the records below its oldest letter still unresolved."""
        upto: dict[int, int] = {}
        open_from: dict[int, int] = {}
        for partition, offset, letter in held:
            if letter.resolution is None and letter.id not in now_resolved:
                open_from[partition] = min(open_from.get(partition, offset), offset)
            else:
                upto[partition] = max(upto.get(partition, 0), offset + 1)
        reclaim = {(self.topic, p): min(o, open_from.get(p, o)) for p, o in upto.items()}
        delete_records(self.settings, reclaim)

    def _ensure_topics(self) -> None:
        if not self._topics_ready:
            ensure_topics(self.settings, [self.topic], self.partitions)
            ensure_topics(self.settings, [self.marker_topic, self.resolved_topic], 1)
            self._topics_ready = True


def _dumps(document: Any) -> bytes:
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False, default=str).encode()
