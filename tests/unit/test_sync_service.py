"""SyncService on the in-memory adapters: what it skips, applies, parks and dead-letters."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from adapters.memory.clock import FakeClock
from application.sync_service import SyncService
from demo.in_memory import InMemoryPipeline
from domain.events import SYNC_SERVICE, Platform
from tests.support.debezium_messages import DebeziumFeed, Message
from tests.support.messages import new_post, new_user, produce, user_row

LEGACY = Platform.LEGACY


@pytest.fixture
def service(pipeline: InMemoryPipeline) -> SyncService:
    return pipeline.loops[LEGACY].service


def revamp_names(pipeline: InMemoryPipeline) -> list[str]:
    return sorted(r["user_name"] for r in pipeline.revamp.rows_of("user").values())


def test_a_tombstone_is_skipped_and_committed(
    pipeline: InMemoryPipeline, service: SyncService, feed: DebeziumFeed
) -> None:
    (message,) = produce(pipeline, feed.tombstone(LEGACY, "legacy_users", 4))
    offsets = service.handle([message])
    assert offsets == {(message.topic, message.partition): message.offset + 1}
    assert pipeline.stats.total("tombstones") == 1
    assert revamp_names(pipeline) == [] and pipeline.dead_letters.letters() == []


def test_an_echo_is_skipped(
    pipeline: InMemoryPipeline, service: SyncService, feed: DebeziumFeed
) -> None:
    service.handle(produce(pipeline, new_user(feed, 4, "alice", source=SYNC_SERVICE)))
    assert pipeline.stats.total("echoes_skipped") == 1
    assert revamp_names(pipeline) == []


@pytest.mark.parametrize("origin", ["tandem_sync", "tandem_sync_3"])
def test_a_change_of_the_sync_services_replication_origin_is_an_echo(
    pipeline: InMemoryPipeline, service: SyncService, feed: DebeziumFeed, origin: str
) -> None:
    """Debezium run by Kafka Connect publishes the sync service's own PostgreSQL transactions:
    their `source.origin` says so, whatever the row's `source` column (here none kept it), and
    a delete is one too."""
    mine = [
        feed.change(LEGACY, "legacy_users", "c", 4, after=user_row(feed, 4, "alice")),
        feed.change(LEGACY, "legacy_users", "d", 4, before={"id": 4, "source": "legacy"}),
    ]
    theirs = feed.change(LEGACY, "legacy_users", "c", 5, after=user_row(feed, 5, "bob"))
    other = feed.change(LEGACY, "legacy_users", "c", 6, after=user_row(feed, 6, "carol"))
    service.handle(produce(pipeline, *(with_origin(m, origin) for m in mine)))
    service.handle(produce(pipeline, theirs, with_origin(other, "another_tool")))
    assert pipeline.stats.total("echoes_skipped") == 2
    assert revamp_names(pipeline) == ["bob", "carol"]


def with_origin(message: Message, origin: str) -> Message:
    document = json.loads(message.value or b"")
    document.get("payload", document)["source"]["origin"] = origin
    return Message(message.topic, message.key, json.dumps(document).encode())


def test_a_delete_is_never_taken_for_an_echo(
    pipeline: InMemoryPipeline, service: SyncService, feed: DebeziumFeed
) -> None:
    service.handle(produce(pipeline, new_user(feed, 4, "alice")))
    gone = feed.change(LEGACY, "legacy_users", "d", 4, before={"id": 4, "source": SYNC_SERVICE})
    service.handle(produce(pipeline, gone))
    assert revamp_names(pipeline) == [] and pipeline.stats.total("applied") == 2


def test_a_duplicate_is_skipped(
    pipeline: InMemoryPipeline, service: SyncService, feed: DebeziumFeed
) -> None:
    message = new_user(feed, 4, "alice")
    service.handle(produce(pipeline, message))
    service.handle(produce(pipeline, message))
    assert revamp_names(pipeline) == ["alice"]
    assert pipeline.stats.total("duplicates_skipped") == 1


def test_offsets_stop_before_a_parked_child(
    pipeline: InMemoryPipeline, service: SyncService, feed: DebeziumFeed
) -> None:
    post, user = produce(pipeline, new_post(feed, 5, 77), new_user(feed, 12, "bob"))
    offsets = service.handle([post, user])
    assert offsets[(post.topic, post.partition)] == post.offset
    assert offsets[(user.topic, user.partition)] == user.offset + 1
    assert revamp_names(pipeline) == ["bob"] and pipeline.revamp.rows_of("post") == {}


def test_a_parked_child_applies_when_its_parent_arrives(
    pipeline: InMemoryPipeline, service: SyncService, feed: DebeziumFeed
) -> None:
    service.handle(produce(pipeline, new_post(feed, 5, 77)))
    service.handle(produce(pipeline, new_user(feed, 77, "carol")))
    (post,) = pipeline.revamp.rows_of("post").values()
    assert pipeline.revamp.row("user", post["author_id"])["user_name"] == "carol"


def test_a_dead_letter_has_every_field_of_the_contract(
    pipeline: InMemoryPipeline, service: SyncService, feed: DebeziumFeed, clock: FakeClock
) -> None:
    broken = Message("legacy.public.legacy_users", b'{"id": 4}', b"{not json")
    (message,) = produce(pipeline, broken)
    service.handle([message])
    (letter,) = pipeline.dead_letters.letters()
    assert (letter.original_event, letter.key) == ("{not json", b'{"id": 4}')
    assert (letter.topic, letter.partition, letter.offset) == (
        message.topic,
        message.partition,
        message.offset,
    )
    assert letter.error_type == "InvalidEventError" and "not JSON" in letter.error_message
    assert "InvalidEventError" in letter.stack_trace and letter.retry_count == 0
    assert datetime.fromisoformat(letter.failed_at).timestamp() == clock.now()
    assert letter.id


def test_one_bad_event_does_not_stop_the_others_of_its_batch(
    pipeline: InMemoryPipeline, service: SyncService, feed: DebeziumFeed, clock: FakeClock
) -> None:
    messages = produce(
        pipeline,
        new_user(feed, 1, "alice"),
        new_user(feed, 2, "eve", email="alice@example.com"),
        Message("legacy.public.legacy_users", b'{"id": 3}', b"[]"),
        new_user(feed, 4, "carol"),
    )
    offsets = service.handle(messages)
    assert revamp_names(pipeline) == ["alice", "carol"]
    # eve's email is alice's: she waits for alice to change it or go, then gives up
    assert [letter.error_type for letter in pipeline.dead_letters.letters()] == [
        "InvalidEventError"
    ]
    clock.advance(service.waiting.wait_s + 1)
    offsets |= service.handle([])
    letters = pipeline.dead_letters.letters()
    assert sorted(letter.error_type for letter in letters) == [
        "ConstraintViolationError",
        "InvalidEventError",
    ]
    assert any("email_address" in letter.error_message for letter in letters)
    assert all(offsets[(m.topic, m.partition)] >= m.offset + 1 for m in messages)


def test_an_event_of_the_other_platform_is_dead_lettered(
    pipeline: InMemoryPipeline, feed: DebeziumFeed
) -> None:
    revamp_service = pipeline.loops[Platform.REVAMP].service
    revamp_service.handle(produce(pipeline, new_user(feed, 4, "alice")))
    (letter,) = pipeline.dead_letters.letters()
    assert letter.error_type == "InvalidEventError" and "source" in letter.error_message


def test_a_child_whose_parent_never_comes_is_dead_lettered_with_the_reason(
    pipeline: InMemoryPipeline, service: SyncService, feed: DebeziumFeed, clock: FakeClock
) -> None:
    (post,) = produce(pipeline, new_post(feed, 5, 77))
    service.handle([post])
    clock.advance(service.waiting.wait_s + 1)
    offsets = service.handle([])
    (letter,) = pipeline.dead_letters.letters()
    assert letter.error_type == "ParentMissingError" and "user 77" in letter.error_message
    assert f"waited {service.waiting.wait_s:g} s" in letter.stack_trace
    assert offsets[(post.topic, post.partition)] == post.offset + 1  # no longer held back


def test_purging_what_was_replayed_keeps_a_letter_sent_meanwhile(
    pipeline: InMemoryPipeline, service: SyncService
) -> None:
    queue = pipeline.dead_letters
    service.handle(produce(pipeline, Message("legacy.public.legacy_users", b"1", b"[]")))
    replayed = queue.letters()
    service.handle(produce(pipeline, Message("legacy.public.legacy_users", b"2", b"{")))
    assert queue.purge(replayed) == 1
    assert [letter.key for letter in queue.letters()] == [b"2"]


def test_a_waiting_child_is_not_dead_lettered_while_a_backlog_may_still_hold_its_parent(
    pipeline: InMemoryPipeline, service: SyncService, feed: DebeziumFeed, clock: FakeClock
) -> None:
    service.handle(produce(pipeline, new_post(feed, 5, 77)))
    clock.advance(service.waiting.wait_s + 1)
    service.handle([], backlogged=True)
    assert pipeline.dead_letters.letters() == [] and len(service.waiting) == 1
    service.handle(produce(pipeline, new_user(feed, 77, "dora")), backlogged=True)
    (post,) = pipeline.revamp.rows_of("post").values()
    assert pipeline.revamp.row("user", post["author_id"])["user_name"] == "dora"


def test_a_batch_refused_as_a_whole_is_split_so_only_the_guilty_event_could_be_lost(
    pipeline: InMemoryPipeline, service: SyncService, feed: DebeziumFeed
) -> None:
    from domain.errors import ConstraintViolationError

    refused = ConstraintViolationError("entity_mappings: duplicate key at commit")
    pipeline.revamp.fail_next_transactions(refused, refused)
    service.handle(produce(pipeline, new_user(feed, 1, "ann"), new_user(feed, 2, "ben")))
    # the batch fails, then "ann" alone fails too: only she is dead-lettered, with the reason
    assert revamp_names(pipeline) == ["ben"]
    (letter,) = pipeline.dead_letters.letters()
    assert letter.error_type == "ConstraintViolationError" and "at commit" in letter.error_message
