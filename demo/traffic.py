"""Generated application traffic on the reference schema, for the demo and soak tests."""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any, Protocol

from domain.errors import ConstraintViolationError, TransientError
from domain.events import Platform
from domain.model import Like, Post, User

STATUSES = {"user": ("active", "inactive", "banned"), "post": ("draft", "published", "archived")}


class ApplicationDatabase(Protocol):
    """What an application does to its own database, outside the sync."""

    platform: Platform

    def app_insert(self, entity_type: str, values: Mapping[str, Any]) -> int:
        """Insert a row the way the platform's application would; returns its id."""

    def app_update(self, entity_type: str, row_id: int, changes: Mapping[str, Any]) -> None:
        """Update some columns of a row, never touching `source`."""

    def app_delete(self, entity_type: str, row_id: int) -> None:
        """Delete a row (its children cascade)."""

    def app_ids(self, entity_type: str) -> list[int]:
        """Ids of the rows that exist now."""


def _columns(platform: Platform, record: User | Post | Like) -> dict[str, Any]:
    legacy = platform is Platform.LEGACY
    if isinstance(record, User):
        return {
            ("username" if legacy else "user_name"): record.username,
            ("email" if legacy else "email_address"): record.email,
            "status": record.status if legacy else record.status.title(),
        }
    if isinstance(record, Post):
        return {
            ("post_title" if legacy else "title"): record.title,
            ("post_content" if legacy else "content"): record.content,
            ("user_id" if legacy else "author_id"): record.author_id,
            "status": record.status if legacy else record.status.title(),
        }
    return {"user_id": record.user_id, "post_id": record.post_id}


class TrafficGenerator:
    """Random but plausible writes: many creates and updates, some likes, a few deletes."""

    def __init__(self, databases: list[ApplicationDatabase], seed: int = 7) -> None:
        self.databases = databases
        self.random = random.Random(seed)
        self.serial = 0
        self.writes = 0

    def step(self) -> None:
        db = self.random.choice(self.databases)
        users, posts = db.app_ids("user"), db.app_ids("post")
        roll = self.random.random()
        try:
            if roll < 0.25 or not users:
                self.serial += 1
                name = f"{db.platform.value}_user_{self.serial}_{self.random.randrange(10**6)}"
                db.app_insert("user", _columns(db.platform, User(name, f"{name}@example.com")))
            elif roll < 0.5 or not posts:
                post = Post(f"Post {self.serial}", "text " * 5, self.random.choice(users))
                db.app_insert("post", _columns(db.platform, post))
            elif roll < 0.75:
                kind = self.random.choice(("user", "post"))
                ids = users if kind == "user" else posts
                status = self.random.choice(STATUSES[kind])
                db.app_update(
                    kind,
                    self.random.choice(ids),
                    {"status": status if db.platform is Platform.LEGACY else status.title()},
                )
            elif roll < 0.95:
                like = Like(self.random.choice(users), self.random.choice(posts))
                db.app_insert("like", _columns(db.platform, like))
            else:
                db.app_delete("post", self.random.choice(posts))
        except (LookupError, ValueError, ConstraintViolationError, TransientError):
            return  # races with deletes, duplicate likes, deadlocks: real apps meet these too
        self.writes += 1
