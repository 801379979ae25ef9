"""Waiting children: retried only when their parent comes, bounded in memory, kept in the
target database past the bound, never lost."""

from __future__ import annotations

from collections import Counter

import pytest

from adapters.memory.clock import FakeClock
from application.sync_service import SyncService
from demo.in_memory import InMemoryPipeline, in_memory_pipeline
from domain.events import Platform, SyncEvent
from domain.mapping import SchemaMapping
from domain.model import EntityLink
from tests.support.debezium_messages import DebeziumFeed
from tests.support.messages import new_post, new_user, post_row, produce

LEGACY = Platform.LEGACY


@pytest.fixture
def small_room(mapping: SchemaMapping, clock: FakeClock) -> InMemoryPipeline:
    """A pipeline whose consumers keep at most two waiting children in memory."""
    return in_memory_pipeline(mapping, clock, max_waiting_in_memory=2)


def count_applies(service: SyncService) -> Counter[str]:
    """Spy on the applier: how many times each event id was tried."""
    tried: Counter[str] = Counter()
    apply = service.applier.apply

    def counting(session, event: SyncEvent, force: bool = False, values=None):  # type: ignore[no-untyped-def]
        tried[event.event_id] += 1
        return apply(session, event, force, values)

    service.applier.apply = counting  # type: ignore[method-assign]
    return tried


def post_authors(pipeline: InMemoryPipeline) -> list[str]:
    revamp = pipeline.revamp
    return sorted(
        revamp.row("user", post["author_id"])["user_name"]
        for post in revamp.rows_of("post").values()
    )


def test_a_waiting_child_is_not_tried_again_while_its_parent_is_missing(
    pipeline: InMemoryPipeline, feed: DebeziumFeed
) -> None:
    service = pipeline.loops[LEGACY].service
    tried = count_applies(service)
    service.handle(produce(pipeline, new_post(feed, 5, 77)))
    (post_id,) = tried
    for i in range(10):  # other batches pass by: the post is not tried in any of them
        service.handle(produce(pipeline, new_user(feed, 100 + i, f"user{i}")))
    assert tried[post_id] == 1
    service.handle(produce(pipeline, new_user(feed, 77, "carol")))
    assert tried[post_id] == 2 and post_authors(pipeline) == ["carol"]
    assert len(service.waiting) == 0


def test_a_child_leaves_when_another_process_links_its_parent(
    pipeline: InMemoryPipeline, feed: DebeziumFeed, mapping: SchemaMapping
) -> None:
    service = pipeline.loops[LEGACY].service
    service.handle(produce(pipeline, new_post(feed, 5, 77)))
    # a snapshot (or another consumer) wrote the user and its link meanwhile
    revamp_id = pipeline.revamp.app_insert(
        "user", {"user_name": "dora", "email_address": "d@example.com", "status": "Active"}
    )
    with pipeline.revamp.transaction() as session:
        session.save_link(EntityLink.between("user", LEGACY, 77, revamp_id))
    service.handle([])
    assert post_authors(pipeline) == ["dora"] and len(service.waiting) == 0


def test_later_changes_of_a_waiting_key_queue_behind_it(
    pipeline: InMemoryPipeline, feed: DebeziumFeed
) -> None:
    service = pipeline.loops[LEGACY].service
    service.handle(produce(pipeline, new_post(feed, 5, 77)))
    retitled = post_row(feed, 5, 77, post_title="Second title")
    service.handle(produce(pipeline, feed.change(LEGACY, "legacy_posts", "u", 5, after=retitled)))
    assert pipeline.revamp.rows_of("post") == {} and len(service.waiting) == 2
    service.handle(produce(pipeline, new_user(feed, 77, "carol")))
    (post,) = pipeline.revamp.rows_of("post").values()
    assert post["title"] == "Second title" and len(service.waiting) == 0


def test_past_the_memory_bound_children_wait_in_the_target_database(
    small_room: InMemoryPipeline, feed: DebeziumFeed
) -> None:
    service = small_room.loops[LEGACY].service
    posts = produce(small_room, *(new_post(feed, 10 + i, 77) for i in range(5)))
    offsets = service.handle(posts)
    assert len(service.waiting.room) == 2 and len(small_room.revamp.parked) == 3
    first = min(p.offset for p in posts if p.partition == posts[0].partition)
    assert offsets[(posts[0].topic, posts[0].partition)] == first  # nothing committed past
    service.handle(produce(small_room, new_user(feed, 77, "carol")))
    assert post_authors(small_room) == ["carol"] * 5
    assert len(service.waiting) == 0 and small_room.revamp.parked == {}


def test_children_kept_in_the_database_survive_a_restart(
    small_room: InMemoryPipeline, feed: DebeziumFeed, mapping: SchemaMapping, clock: FakeClock
) -> None:
    service = small_room.loops[LEGACY].service
    posts = produce(small_room, *(new_post(feed, 10 + i, 77) for i in range(4)))
    service.handle(posts)
    assert len(small_room.revamp.parked) == 2
    # the consumer dies: its memory is gone, the offsets were never committed past the posts
    restarted = SyncService(
        origin=LEGACY,
        mapping=mapping,
        codec=service.codec,
        origin_store=small_room.legacy,
        target=small_room.revamp,
        dead_letters=small_room.dead_letters,
        policy=service.applier.policy,
        clock=clock,
        retry=service.retry,
        stats=small_room.stats,
        max_waiting_in_memory=2,
    )
    assert restarted.waiting.in_database() == 2  # those kept there before the crash
    restarted.handle(posts)  # redelivered
    restarted.handle(produce(small_room, new_user(feed, 77, "carol")))
    assert post_authors(small_room) == ["carol"] * 4
    assert small_room.revamp.parked == {} and len(restarted.waiting) == 0


def test_a_child_kept_in_the_database_is_dead_lettered_at_its_deadline(
    small_room: InMemoryPipeline, feed: DebeziumFeed, clock: FakeClock
) -> None:
    service = small_room.loops[LEGACY].service
    posts = produce(small_room, *(new_post(feed, 10 + i, 70 + i) for i in range(3)))
    service.handle(posts)
    clock.advance(service.waiting.wait_s + 1)
    offsets = service.handle([])
    letters = small_room.dead_letters.letters()
    assert sorted(letter.offset for letter in letters) == sorted(p.offset for p in posts)
    assert {letter.error_type for letter in letters} == {"ParentMissingError"}
    assert small_room.revamp.parked == {} and len(service.waiting) == 0
    assert all(offsets[(p.topic, p.partition)] > p.offset for p in posts)


def _like(feed: DebeziumFeed, op: str, row_id: int, user_id: int, post_id: int):  # type: ignore[no-untyped-def]
    row = {"id": row_id, "user_id": user_id, "post_id": post_id, "created_at": feed.now}
    before, after = (row, None) if op == "d" else (None, row)
    return feed.change(LEGACY, "legacy_likes", op, row_id, before=before, after=after)


def test_a_create_whose_natural_key_is_still_held_waits_for_the_holder_to_go(
    pipeline: InMemoryPipeline, feed: DebeziumFeed
) -> None:
    """Deleted and liked again on legacy: the second like's create (another key, so maybe
    another partition) can come before the first like's delete. It waits, then applies."""
    service = pipeline.loops[LEGACY].service
    service.handle(produce(pipeline, new_user(feed, 7, "ann"), new_post(feed, 3, 7)))
    service.handle(produce(pipeline, _like(feed, "c", 1, 7, 3)))
    assert len(pipeline.revamp.rows_of("like")) == 1

    service.handle(produce(pipeline, _like(feed, "c", 2, 7, 3)))
    assert len(service.waiting) == 1 and not pipeline.dead_letters.letters()
    service.handle(produce(pipeline, _like(feed, "d", 1, 7, 3)))
    service.handle([])

    assert len(service.waiting) == 0 and not pipeline.dead_letters.letters()
    (like,) = pipeline.revamp.rows_of("like").values()
    with pipeline.revamp.transaction() as session:
        assert session.links("like", LEGACY, [2])[2].id_on(Platform.REVAMP) == like["id"]


def test_a_natural_key_held_past_the_deadline_is_dead_lettered_naming_the_holder(
    pipeline: InMemoryPipeline, feed: DebeziumFeed, clock: FakeClock
) -> None:
    service = pipeline.loops[LEGACY].service
    service.handle(produce(pipeline, new_user(feed, 7, "ann"), new_post(feed, 3, 7)))
    service.handle(produce(pipeline, _like(feed, "c", 1, 7, 3), _like(feed, "c", 2, 7, 3)))
    clock.advance(service.waiting.wait_s + 1)
    service.handle([])

    (letter,) = pipeline.dead_letters.letters()
    assert letter.error_type == "ConstraintViolationError"
    assert "held on revamp by like 1 of legacy" in letter.error_message
    assert len(pipeline.revamp.rows_of("like")) == 1
