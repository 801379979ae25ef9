"""ConsumerLoop: commits only what is applied; outages rewind instead of dead-lettering."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.memory.clock import FakeClock
from demo.in_memory import InMemoryPipeline
from domain.errors import PositionsLostError, TargetUnavailableError
from domain.events import Platform
from tests.support.debezium_messages import DebeziumFeed
from tests.support.messages import new_post, new_user, produce

LEGACY = Platform.LEGACY
GROUP = "tandem-legacy-to-revamp"


@pytest.fixture(autouse=True, params=[False, True], ids=["plain", "fetching-ahead"])
def fetch_ahead(request: pytest.FixtureRequest, pipeline: InMemoryPipeline) -> None:
    """Every test twice: batches fetched one by one, and the next fetched while one is written."""
    for loop in pipeline.loops.values():
        loop.fetch_ahead = request.param


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


class RebalancingSource:
    """The in-memory source whose next commits are refused as a rebalance would refuse them:
    like Kafka's, the refused member's positions go back to the committed offsets."""

    def __init__(self, inner: Any, refusals: int, rewinds: bool = True) -> None:
        self.inner, self.refusals, self.commits_tried = inner, refusals, 0
        self.rewinds = rewinds  # False: the member keeps its partitions and their positions

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def commit(self, offsets: Any) -> None:
        self.commits_tried += 1
        if self.refusals:
            self.refusals -= 1
            if self.rewinds:  # the group hands the partitions out again from the commits
                self.inner.rewind()
            raise PositionsLostError("group tandem-legacy-to-revamp: commit refused")
        self.inner.commit(offsets)


def test_a_commit_refused_by_a_rebalance_is_dropped_not_retried_and_the_batch_skipped(
    pipeline: InMemoryPipeline, feed: DebeziumFeed, clock: FakeClock
) -> None:
    messages = produce(pipeline, new_user(feed, 4, "alice"), new_user(feed, 5, "bob"))
    loop = pipeline.loops[LEGACY]
    source = RebalancingSource(loop.source, refusals=1)
    loop.source = source  # type: ignore[assignment]
    assert loop.step() == 0  # applied, commit refused: nothing committed, no backoff
    assert source.commits_tried == 1
    assert clock.slept == [] and loop.failures == 0 and loop.rebalances == 1
    assert committed(pipeline, messages[0].topic, messages[0].partition) is None
    loop.drain()
    assert len(pipeline.revamp.rows_of("user")) == 2
    assert pipeline.stats.total("duplicates_skipped") == 2  # the redelivered batch
    for message in messages:
        assert committed(pipeline, message.topic, message.partition) == message.offset + 1
    assert pipeline.dead_letters.letters() == []


def test_a_rebalance_forgets_waiting_children_and_their_partitions_until_redelivered(
    pipeline: InMemoryPipeline, feed: DebeziumFeed
) -> None:
    (post,) = produce(pipeline, new_post(feed, 5, 77))
    loop = pipeline.loops[LEGACY]
    loop.drain()
    assert len(loop.service.waiting) == 1
    produce(pipeline, new_user(feed, 77, "carol"))
    loop.source = RebalancingSource(loop.source, refusals=1)  # type: ignore[assignment]
    loop.step()
    assert len(loop.service.waiting) == 0 and loop.service.high_water == {}
    loop.drain()  # the child comes again with its parent, from the committed offsets
    assert len(pipeline.revamp.rows_of("post")) == 1
    assert committed(pipeline, post.topic, post.partition) == post.offset + 1
    assert pipeline.dead_letters.letters() == []


def three_users(pipeline: InMemoryPipeline, feed: DebeziumFeed) -> list[Any]:
    """Three users, handled one batch each: while one is written the next is fetched ahead."""
    pipeline.loops[LEGACY].batch_size = 1
    return produce(
        pipeline, new_user(feed, 4, "alice"), new_user(feed, 5, "bob"), new_user(feed, 6, "cyd")
    )


def all_committed(pipeline: InMemoryPipeline, messages: list[Any]) -> bool:
    return all((committed(pipeline, m.topic, m.partition) or 0) > m.offset for m in messages)


def test_a_batch_fetched_ahead_is_committed_only_once_handled(
    pipeline: InMemoryPipeline, feed: DebeziumFeed
) -> None:
    messages = three_users(pipeline, feed)
    loop = pipeline.loops[LEGACY]
    assert loop.step() == 1
    assert len(pipeline.revamp.rows_of("user")) == 1  # the next one fetched, not written
    assert sum(pipeline.broker.committed.values()) == 1
    loop.close()  # a crash: the batch fetched ahead is lost with the process
    restart(pipeline)
    loop.drain()
    assert len(pipeline.revamp.rows_of("user")) == 3
    assert all_committed(pipeline, messages)
    assert pipeline.stats.total("duplicates_skipped") == 0


@pytest.mark.parametrize("rewinds", [True, False])
def test_a_refused_commit_drops_the_batch_fetched_ahead_and_it_comes_again(
    pipeline: InMemoryPipeline, feed: DebeziumFeed, rewinds: bool
) -> None:
    messages = three_users(pipeline, feed)
    loop = pipeline.loops[LEGACY]
    loop.source = RebalancingSource(loop.source, 1, rewinds)  # type: ignore[assignment]
    assert loop.step() == 0 and loop.rebalances == 1
    loop.drain()
    assert len(pipeline.revamp.rows_of("user")) == 3
    # the first was applied, then its commit refused: it comes again when the source rewinds
    assert pipeline.stats.total("duplicates_skipped") == (1 if rewinds else 0)
    assert all_committed(pipeline, messages)
    assert pipeline.dead_letters.letters() == []


def test_an_outage_drops_the_batch_fetched_ahead_and_it_comes_again(
    pipeline: InMemoryPipeline, feed: DebeziumFeed
) -> None:
    messages = three_users(pipeline, feed)
    pipeline.revamp.fail_next_transactions(
        *[TargetUnavailableError("revamp database is unreachable") for _ in range(4)]
    )
    loop = pipeline.loops[LEGACY]
    assert loop.step() == 0 and loop.failures == 1
    loop.drain()
    assert len(pipeline.revamp.rows_of("user")) == 3
    assert all_committed(pipeline, messages)
    assert pipeline.dead_letters.letters() == []
    assert pipeline.stats.total("duplicates_skipped") == 0
