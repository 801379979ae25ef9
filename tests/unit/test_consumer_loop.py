"""ConsumerLoop: commits only what is applied; outages rewind instead of dead-lettering."""

from __future__ import annotations

from adapters.memory.clock import FakeClock
from adapters.memory.pipeline import InMemoryPipeline
from domain.errors import TargetUnavailableError
from domain.events import Platform
from tests.acceptance.debezium_messages import DebeziumFeed
from tests.unit.messages import new_post, new_user, produce

LEGACY = Platform.LEGACY
GROUP = "tandem-legacy-to-revamp"


def committed(pipeline: InMemoryPipeline, topic: str, partition: int) -> int | None:
    return pipeline.broker.committed.get((GROUP, topic, partition))


def restart(pipeline: InMemoryPipeline) -> None:
    """What a restarted consumer sees: everything after the committed offsets, again."""
    for loop in pipeline.loops.values():
        loop.source.rewind()


def test_an_unreachable_target_is_waited_for_not_dead_lettered(
    pipeline: InMemoryPipeline, feed: DebeziumFeed, clock: FakeClock
) -> None:
    (message,) = produce(pipeline, new_user(feed, 4, "alice"))
    outage = [TargetUnavailableError("revamp database is unreachable") for _ in range(5)]
    pipeline.revamp.fail_next_transactions(*outage)
    loop = pipeline.loops[LEGACY]
    assert loop.step() == 0
    assert pipeline.dead_letters.letters() == []
    assert committed(pipeline, message.topic, message.partition) is None
    assert clock.slept == [1.0, 2.0, 4.0, 1.0]
    loop.drain()
    assert [r["user_name"] for r in pipeline.revamp.rows_of("user").values()] == ["alice"]
    assert committed(pipeline, message.topic, message.partition) == message.offset + 1
    assert pipeline.dead_letters.letters() == []


def test_a_crash_before_the_commit_redelivers_without_doubling(
    pipeline: InMemoryPipeline, feed: DebeziumFeed
) -> None:
    messages = produce(pipeline, new_user(feed, 4, "alice"), new_post(feed, 5, 4))
    loop = pipeline.loops[LEGACY]
    loop.service.handle(loop.source.poll(10))  # applied, then killed before commit
    restart(pipeline)
    loop.drain()
    assert len(pipeline.revamp.rows_of("user")) == len(pipeline.revamp.rows_of("post")) == 1
    assert pipeline.stats.total("duplicates_skipped") == len(messages)


def test_a_child_applied_from_the_waiting_room_has_its_offset_committed(
    pipeline: InMemoryPipeline, feed: DebeziumFeed
) -> None:
    (post,) = produce(pipeline, new_post(feed, 5, 77))
    pipeline.drain()
    assert committed(pipeline, post.topic, post.partition) == post.offset
    produce(pipeline, new_user(feed, 77, "carol"))
    pipeline.drain()
    assert len(pipeline.revamp.rows_of("post")) == 1
    assert committed(pipeline, post.topic, post.partition) == post.offset + 1


def test_a_restart_does_not_dead_letter_a_child_twice(
    pipeline: InMemoryPipeline, feed: DebeziumFeed, clock: FakeClock
) -> None:
    produce(pipeline, new_post(feed, 6, 99))
    pipeline.drain()
    clock.advance(31)
    pipeline.drain()
    assert len(pipeline.dead_letters.letters()) == 1
    restart(pipeline)
    pipeline.drain()
    clock.advance(31)
    pipeline.drain()
    assert len(pipeline.dead_letters.letters()) == 1


def test_a_full_batch_keeps_waiting_children_past_their_deadline(
    pipeline: InMemoryPipeline, feed: DebeziumFeed, clock: FakeClock
) -> None:
    loop = pipeline.loops[LEGACY]
    produce(pipeline, new_post(feed, 5, 77))
    loop.step()
    clock.advance(loop.service.waiting.wait_s + 1)
    loop.batch_size = 3
    produce(pipeline, *(new_user(feed, 100 + i, f"u{i}") for i in range(3)))
    assert loop.step() == 3  # a full batch: more may be queued, the parent among them
    assert pipeline.dead_letters.letters() == []
    loop.step()  # caught up, and past the deadline
    assert [letter.error_type for letter in pipeline.dead_letters.letters()] == [
        "ParentMissingError"
    ]


def test_a_stop_request_cuts_an_outage_backoff_short(
    pipeline: InMemoryPipeline, feed: DebeziumFeed, clock: FakeClock
) -> None:
    import threading

    produce(pipeline, new_user(feed, 4, "alice"))
    outage = [TargetUnavailableError("revamp is down") for _ in range(5)]
    pipeline.revamp.fail_next_transactions(*outage)
    loop = pipeline.loops[LEGACY]
    stop = threading.Event()
    original_sleep = clock.sleep

    def sleep(seconds: float) -> None:
        original_sleep(seconds)
        if len(clock.slept) == 4:  # the service's 3 retries, then the loop's outage backoff
            stop.set()  # SIGTERM arrives during its first slice

    clock.sleep = sleep  # type: ignore[method-assign]
    loop.run(stop)
    assert clock.slept[:3] == [1.0, 2.0, 4.0]
    assert clock.slept[3:] == [0.2]  # not the whole 1 s backoff
