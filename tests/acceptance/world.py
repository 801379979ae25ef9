"""The world the Gherkin steps act on: both databases and the sync between them.

Steps talk only to this interface, so the same scenarios run on the in-memory adapters and,
under the `integration`/`e2e` markers, on the real stack.
"""

from __future__ import annotations

import os
from typing import Any, Protocol

from adapters.mapping_file import load_mapping
from adapters.memory.clock import FakeClock
from adapters.memory.database import InMemoryDatabase
from application.reconcile import Reconciler
from application.stats import SyncStats
from demo.in_memory import in_memory_pipeline
from domain.errors import TransientError
from domain.events import Platform
from domain.model import DeadLetter
from domain.rules import ConflictPolicy

# a mapping file to run the scenarios with instead of the reference one (e.g. a scaffolded one)
MAPPING_VARIABLE = "TANDEM_ACCEPTANCE_MAPPING"


class Side(Protocol):
    """One platform's database as an application (and a test) sees it."""

    platform: Platform

    def app_insert(self, entity_type: str, values: dict[str, Any]) -> int: ...
    def app_update(self, entity_type: str, row_id: int, changes: dict[str, Any]) -> None: ...
    def app_delete(self, entity_type: str, row_id: int) -> None: ...
    def app_ids(self, entity_type: str) -> list[int]: ...
    def row(self, entity_type: str, row_id: int) -> dict[str, Any] | None: ...


class World(Protocol):
    stats: SyncStats

    def side(self, platform: Platform) -> Side: ...
    def sync(self) -> None:
        """Run both directions until nothing is left to process."""

    def pause(self, seconds: float) -> None:
        """Let time pass (fake time in memory)."""

    def topic_name(self, topic: str) -> str:
        """The world's own name for a contract topic (stack worlds prefix theirs)."""

    def publish(self, topic: str, key: bytes | None, value: bytes | None) -> None: ...
    def dead_letters(self) -> list[DeadLetter]: ...
    def replay_dead_letters(self) -> None: ...
    def redeliver_everything(self) -> None:
        """Forget the committed offsets: every change message is delivered again."""

    def fail_next_transactions(self, platform: Platform, count: int) -> None: ...
    def linked_id(self, entity_type: str, platform: Platform, row_id: int) -> int | None:
        """The id on the other platform of a synced row."""

    def echoes_stopped(self, platform: Platform) -> int:
        """Changes the sync wrote on `platform` that were stopped before syncing back."""

    def differing_rows(self) -> int: ...
    def close(self) -> None: ...


class InMemoryWorld:
    """The world on in-memory adapters, with a fake clock: no sleeping, no servers."""

    def __init__(
        self, policy: ConflictPolicy = ConflictPolicy.LAST_WRITER_WINS, parent_wait_s: float = 30.0
    ) -> None:
        self.clock = FakeClock()
        self.mapping = load_mapping(os.environ.get(MAPPING_VARIABLE))
        self.pipeline = in_memory_pipeline(
            self.mapping, self.clock, policy, parent_wait_s=parent_wait_s
        )
        self.stats = self.pipeline.stats

    def side(self, platform: Platform) -> InMemoryDatabase:
        self.clock.advance(0.001)  # each application write gets its own version
        return self.pipeline.databases[platform]

    def sync(self) -> None:
        self.pipeline.drain()

    def pause(self, seconds: float) -> None:
        self.clock.advance(seconds)

    def topic_name(self, topic: str) -> str:
        return topic

    def publish(self, topic: str, key: bytes | None, value: bytes | None) -> None:
        self.pipeline.broker.produce(topic, key, value)

    def dead_letters(self) -> list[DeadLetter]:
        return self.pipeline.dead_letters.letters()

    def replay_dead_letters(self) -> None:
        for letter in self.pipeline.dead_letters.letters():
            self.pipeline.dead_letters.republish(letter)
        self.pipeline.dead_letters.purge()

    def redeliver_everything(self) -> None:
        self.pipeline.broker.committed.clear()
        for loop in self.pipeline.loops.values():
            loop.source.rewind()

    def fail_next_transactions(self, platform: Platform, count: int) -> None:
        self.pipeline.databases[platform].fail_next_transactions(
            *[TransientError("deadlock detected (injected)") for _ in range(count)]
        )

    def linked_id(self, entity_type: str, platform: Platform, row_id: int) -> int | None:
        for db in self.pipeline.databases.values():
            link = db.read_links(entity_type, platform, [row_id]).get(row_id)
            if link is not None and not link.deleted:
                return link.id_on(platform.other)
        return None

    def echoes_stopped(self, platform: Platform) -> int:
        return self.stats.total(f"{platform.value}-to-{platform.other.value}:echoes_skipped")

    def differing_rows(self) -> int:
        return len(
            Reconciler(self.mapping, self.pipeline.legacy, self.pipeline.revamp).run().differences
        )

    def close(self) -> None:
        return None
