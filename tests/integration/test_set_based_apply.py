"""SyncService on the real databases: set-based writes keep one-by-one results, a refused row
is dead-lettered alone, and children wait in the target database past the memory bound."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, text

from adapters.debezium import DebeziumCodec
from adapters.memory.broker import InMemoryBroker
from adapters.memory.clock import FakeClock
from adapters.memory.dead_letters import InMemoryDeadLetterQueue
from adapters.sql.store import SqlTargetStore
from application.stats import SyncStats
from application.sync_service import SyncService
from domain.events import Platform
from domain.mapping import SchemaMapping
from domain.model import RawMessage
from domain.retry import RetryPolicy
from domain.rules import ConflictPolicy
from tests.support.debezium_messages import DebeziumFeed, Message
from tests.support.messages import new_post, new_user, user_row

pytestmark = pytest.mark.integration
LEGACY = Platform.LEGACY


@pytest.fixture
def feed() -> DebeziumFeed:
    return DebeziumFeed()


@pytest.fixture
def world(clean_engines: dict[str, Engine], mapping: SchemaMapping) -> dict[str, Any]:
    stores = {
        Platform.LEGACY: SqlTargetStore(clean_engines["legacy"], Platform.LEGACY, mapping),
        Platform.REVAMP: SqlTargetStore(clean_engines["revamp"], Platform.REVAMP, mapping),
    }
    dead_letters = InMemoryDeadLetterQueue(InMemoryBroker())
    service = SyncService(
        origin=LEGACY,
        mapping=mapping,
        codec=DebeziumCodec(mapping, {Platform.LEGACY: "legacy", Platform.REVAMP: "revamp"}),
        origin_store=stores[Platform.LEGACY],
        target=stores[Platform.REVAMP],
        dead_letters=dead_letters,
        policy=ConflictPolicy.LAST_WRITER_WINS,
        clock=FakeClock(),
        retry=RetryPolicy(max_retries=0),
        stats=SyncStats(),
        max_waiting_in_memory=2,
    )
    return {"service": service, "letters": dead_letters, "revamp": clean_engines["revamp"]}


class Offsets:
    def __init__(self) -> None:
        self.next = 0

    def raw(self, *messages: Message) -> list[RawMessage]:
        out = []
        for m in messages:
            out.append(RawMessage(m.topic, 0, self.next, m.key, m.value))
            self.next += 1
        return out


def names(engine: Engine) -> dict[str, str]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT user_name, email_address FROM revamp_users"))
        return {name: email for name, email in rows}


def test_a_batch_of_updates_lands_as_one_by_one_and_a_refused_one_alone_is_dead_lettered(
    world: dict[str, Any], feed: DebeziumFeed
) -> None:
    service, offsets = world["service"], Offsets()
    service.handle(offsets.raw(*(new_user(feed, i, f"u{i}") for i in range(1, 6))))
    updates = [
        feed.change(LEGACY, "legacy_users", "u", i, after=user_row(feed, i, f"v{i}"))
        for i in (1, 2, 4, 5)
    ]
    taken = user_row(feed, 3, "v3", email="v1@example.com")  # the email v1 takes just before
    updates.insert(2, feed.change(LEGACY, "legacy_users", "u", 3, after=taken))
    updates.append(feed.change(LEGACY, "legacy_users", "u", 2, after=user_row(feed, 2, "w2")))
    service.handle(offsets.raw(*updates))
    assert names(world["revamp"]) == {
        "v1": "v1@example.com",
        "w2": "w2@example.com",
        "u3": "u3@example.com",
        "v4": "v4@example.com",
        "v5": "v5@example.com",
    }
    (letter,) = world["letters"].letters()
    assert letter.error_type == "ConstraintViolationError" and letter.offset == 7


def test_children_past_the_memory_bound_wait_in_the_target_and_leave_with_their_parent(
    world: dict[str, Any], feed: DebeziumFeed
) -> None:
    service, offsets = world["service"], Offsets()
    posts = offsets.raw(*(new_post(feed, 10 + i, 77) for i in range(5)))
    committed = service.handle(posts)
    assert committed[(posts[0].topic, 0)] == posts[0].offset  # nothing committed past them
    with world["revamp"].connect() as conn:
        kept = conn.execute(text("SELECT count(*) FROM tandem_waiting_children")).scalar()
    assert kept == 3 and len(service.waiting.room) == 2
    service.handle(offsets.raw(new_user(feed, 77, "carol")))
    with world["revamp"].connect() as conn:
        authors = conn.execute(
            text("SELECT u.user_name FROM revamp_posts p JOIN revamp_users u ON u.id = p.author_id")
        ).scalars()
        assert list(authors) == ["carol"] * 5
        kept = conn.execute(text("SELECT count(*) FROM tandem_waiting_children")).scalar()
    assert kept == 0 and len(service.waiting) == 0
