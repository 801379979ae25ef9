"""Rows, links and change events of the reference mapping, for the contract suites."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from domain.events import Operation, Platform, SourcePosition, SyncEvent
from domain.model import ParkedChild, RawMessage

WHEN = datetime(2026, 1, 2, 3, 4, 5, 123456)


def user(platform: Platform, name: str) -> dict[str, Any]:
    if platform is Platform.LEGACY:
        return {
            "username": name,
            "email": f"{name}@example.com",
            "status": "active",
            "created_at": WHEN,
            "updated_at": WHEN,
        }
    return {
        "user_name": name,
        "email_address": f"{name}@example.com",
        "status": "Active",
        "created_at": WHEN,
        "updated_at": WHEN,
    }


def post(platform: Platform, author: int) -> dict[str, Any]:
    author_column = "user_id" if platform is Platform.LEGACY else "author_id"
    title, content = (
        ("post_title", "post_content") if platform is Platform.LEGACY else ("title", "content")
    )
    status = "draft" if platform is Platform.LEGACY else "Draft"
    return {
        title: "T",
        content: "C",
        author_column: author,
        "status": status,
        "created_at": WHEN,
        "updated_at": WHEN,
    }


def event(n: int) -> SyncEvent:
    return SyncEvent.captured(
        origin=Platform.REVAMP,
        table="revamp_users",
        entity_type="user",
        operation=Operation.UPDATE,
        key={"id": n},
        before=None,
        after={"id": n},
        position=SourcePosition(f"binlog:f:{n}:0"),
    )


def child(n: int, parent: tuple[str, int], deadline: float) -> ParkedChild:
    message = RawMessage("t.posts", n % 2, 100 + n, b'{"id": %d}' % n, b'{"n": %d}' % n, 5)
    return ParkedChild(
        message, event(n).event_id, "post", f'{{"id": {n}}}', parent, deadline, "why"
    )
