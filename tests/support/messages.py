"""Legacy change messages for the unit tests, put on an in-memory pipeline's topics."""

from __future__ import annotations

from typing import Any

from demo.in_memory import InMemoryPipeline
from domain.events import Platform
from domain.model import RawMessage
from tests.support.debezium_messages import DebeziumFeed, Message

LEGACY = Platform.LEGACY


def user_row(feed: DebeziumFeed, row_id: int, name: str, **changes: Any) -> dict[str, Any]:
    return {
        "id": row_id,
        "username": name,
        "email": f"{name}@example.com",
        "status": "active",
        "source": "legacy",
        "created_at": feed.now,
        "updated_at": feed.now,
        **changes,
    }


def new_user(feed: DebeziumFeed, row_id: int, name: str, **changes: Any) -> Message:
    return feed.change(
        LEGACY, "legacy_users", "c", row_id, after=user_row(feed, row_id, name, **changes)
    )


def post_row(feed: DebeziumFeed, row_id: int, user_id: int, **changes: Any) -> dict[str, Any]:
    return {
        "id": row_id,
        "post_title": f"Post {row_id}",
        "post_content": None,
        "user_id": user_id,
        "status": "draft",
        "source": "legacy",
        "created_at": feed.now,
        "updated_at": feed.now,
        **changes,
    }


def new_post(feed: DebeziumFeed, row_id: int, user_id: int) -> Message:
    return feed.change(LEGACY, "legacy_posts", "c", row_id, after=post_row(feed, row_id, user_id))


def produce(pipeline: InMemoryPipeline, *messages: Message) -> list[RawMessage]:
    return [pipeline.broker.produce(m.topic, m.key, m.value) for m in messages]
