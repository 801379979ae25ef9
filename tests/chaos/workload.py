"""Seeded application traffic on both databases: users, posts and likes created, updated and
deleted, the same entities touched from both sides, whatever faults are going on."""

from __future__ import annotations

import random
import threading
import time
from typing import Any

from sqlalchemy import Engine

from adapters.sql.application_db import SqlApplicationDatabase
from domain.events import Platform
from domain.mapping import SchemaMapping

# operation -> weight; creates dominate so that updates and deletes find rows to touch
MIX = {
    "create user": 18,
    "create post": 18,
    "create like": 14,
    "update user": 14,
    "update post": 14,
    "delete like": 6,
    "delete post": 9,
    "delete user": 7,
}
STATUSES = {"user": ("active", "inactive", "banned"), "post": ("draft", "published", "archived")}


class Writer:
    """One platform's application: `operations` random writes spread over `duration_s`."""

    def __init__(
        self,
        engine: Engine,
        platform: Platform,
        mapping: SchemaMapping,
        seed: int,
        operations: int,
        duration_s: float,
    ) -> None:
        self.db = SqlApplicationDatabase(engine, platform, mapping)
        self.engine, self.platform = engine, platform
        self.random = random.Random(f"{seed}-{platform.value}")
        self.operations, self.pace_s = operations, duration_s / max(1, operations)
        self.tag = f"{platform.value[0]}{seed}"
        self.done = self.failed = 0
        self.ids: dict[str, list[int]] = {"user": [], "post": [], "like": []}
        self.thread = threading.Thread(target=self.run, name=f"writer-{platform.value}")

    def run(self) -> None:
        started = time.monotonic()
        for number in range(self.operations):
            if number % 25 == 0:
                self._refresh_ids()
            try:
                self._operation(number)
                self.done += 1
            except Exception:  # a database paused or killed, a race with a delete: apps see it
                self.failed += 1
                self.engine.dispose()
            lag = started + (number + 1) * self.pace_s - time.monotonic()
            if lag > 0:
                time.sleep(lag)

    def _refresh_ids(self) -> None:
        try:
            self.ids = {kind: self.db.app_ids(kind) for kind in self.ids}
        except Exception:
            self.engine.dispose()

    def _operation(self, number: int) -> None:
        kinds, weights = zip(*MIX.items(), strict=True)
        action, kind = self.random.choices(kinds, weights)[0].split()
        ids = self.ids[kind]
        if action == "create":
            self._create(kind, number)
        elif ids:
            row_id = self.random.choice(ids)
            if action == "update":
                status = self.random.choice(STATUSES[kind])
                changes: dict[str, Any] = {"status": self._cased(status)}
                if kind == "post":
                    changes[self._name("post_content", "content")] = f"edit {self.tag}-{number}"
                self.db.app_update(kind, row_id, changes)
            else:
                self.db.app_delete(kind, row_id)
                ids.remove(row_id)

    def _create(self, kind: str, number: int) -> None:
        users, posts = self.ids["user"], self.ids["post"]
        if kind == "user" or not users:
            name = f"{self.tag}u{number}"
            values = {
                self._name("username", "user_name"): name,
                self._name("email", "email_address"): f"{name}@example.com",
                "status": self._cased("active"),
            }
            self.ids["user"].append(self.db.app_insert("user", values))
        elif kind == "post" or not posts:
            values = {
                self._name("post_title", "title"): f"{self.tag}p{number}",
                self._name("post_content", "content"): "text",
                self._name("user_id", "author_id"): self.random.choice(users),
                "status": self._cased("draft"),
            }
            self.ids["post"].append(self.db.app_insert("post", values))
        else:
            pair = {"user_id": self.random.choice(users), "post_id": self.random.choice(posts)}
            self.ids["like"].append(self.db.app_insert("like", pair))

    def _name(self, legacy: str, revamp: str) -> str:
        return legacy if self.platform is Platform.LEGACY else revamp

    def _cased(self, status: str) -> str:
        return status if self.platform is Platform.LEGACY else status.title()
