"""The Gherkin world on the real stack: PostgreSQL, MariaDB, the Kafka-protocol broker.

`feed` mode publishes each application write as Debezium's JSON, as Debezium would (the test
plays the connector); `capture` mode runs a capture on the databases' logs: the built-in one,
or the real Debezium engine (its connectors in this process's JVM, started once a session).
Time-based rules (retry backoff, parent deadlines) run on a fake clock; everything else is real.
"""

from __future__ import annotations

import itertools
import json
import os
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from dependency_injector import providers
from sqlalchemy import Engine

from adapters.debezium import dumps, envelope
from adapters.kafka.admin import end_offsets, ensure_topics
from adapters.kafka.publisher import KafkaEventPublisher
from adapters.memory.clock import FakeClock
from adapters.sql.application_db import SqlApplicationDatabase
from adapters.sql.snapshot import SqlRowSnapshot
from adapters.sql.store import SqlTargetStore
from adapters.topics import change_topics
from application.reconcile import Reconciler
from domain.errors import SyncError, TransientError
from domain.events import Operation, Platform
from domain.model import DeadLetter
from domain.rules import ConflictPolicy
from entrypoints.containers import build_container
from entrypoints.settings import Settings, gather
from tests.acceptance.world import MAPPING_VARIABLE

_positions = itertools.count(1)


class SharedCapture(Protocol):
    """Captures started once a session, whose topics the worlds share."""

    prefixes: dict[Platform, str]
    settings: Settings
    runners: dict[Platform, Any]


class FaultyStore:
    """A real store whose next transactions fail on purpose, as a deadlock would."""

    def __init__(self, store: SqlTargetStore) -> None:
        self.store = store
        self.platform = store.platform
        self.faults: list[SyncError] = []

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        if self.faults:
            raise self.faults.pop(0)
        with self.store.transaction() as session:
            yield session

    def read_links(self, *args: Any) -> Any:
        return self.store.read_links(*args)

    def __getattr__(self, name: str) -> Any:  # the rest of TargetStore, as the real store
        return getattr(self.store, name)


class FeedingApplication(SqlApplicationDatabase):
    """Application writes, each followed by the Debezium event a connector would publish."""

    def __init__(
        self,
        engine: Engine,
        platform: Platform,
        mapping: Any,
        prefix: str,
        publisher: KafkaEventPublisher,
    ) -> None:
        super().__init__(engine, platform, mapping)
        self.prefix = prefix
        self.publisher = publisher

    def _feed(self, entity_type: str, op: Operation, before: Any, after: Any) -> None:
        entity = self.mapping.entity(entity_type)
        schema, table = entity.schemas.on(self.platform), entity.tables.on(self.platform)
        row = after or before
        position = next(_positions)
        connector = "postgresql" if self.platform is Platform.LEGACY else "mysql"
        source: dict[str, Any] = {
            "connector": connector,
            "name": self.prefix,
            "ts_ms": int(time.time() * 1000),
            "db": self.platform.value,
            "schema": schema,
            "table": table,
        }
        if self.platform is Platform.LEGACY:
            source |= {"lsn": position, "txId": position}
        else:
            source |= {"file": "mysql-bin.000001", "pos": position, "row": 0}
        key = {entity.key.on(self.platform): row[entity.key.on(self.platform)]}
        self.publisher.publish(
            f"{self.prefix}.{schema}.{table}",
            json.dumps(key).encode(),
            dumps(envelope(op, before, after, source, source["ts_ms"])),
        )
        self.publisher.flush()

    def app_insert(self, entity_type: str, values: Any) -> int:
        row_id = super().app_insert(entity_type, values)
        self._feed(entity_type, Operation.CREATE, None, self.row(entity_type, row_id))
        return row_id

    def app_update(self, entity_type: str, row_id: int, changes: Any) -> None:
        before = self.row(entity_type, row_id)
        super().app_update(entity_type, row_id, changes)
        self._feed(entity_type, Operation.UPDATE, before, self.row(entity_type, row_id))

    def app_delete(self, entity_type: str, row_id: int) -> None:
        before = self.row(entity_type, row_id)
        super().app_delete(entity_type, row_id)
        if before is not None:
            self._feed(entity_type, Operation.DELETE, before, None)


def world_prefixes(tag: str) -> dict[Platform, str]:
    return {Platform.LEGACY: f"{tag}legacy", Platform.REVAMP: f"{tag}revamp"}


def world_settings(
    stack: dict[str, str], prefixes: dict[Platform, str], overrides: dict[str, str]
) -> dict[str, str]:
    """The settings of a world on the stack, its topics named after `prefixes`."""
    return (
        gather(None, {})
        | {k: v for k, v in stack.items() if k.startswith("SYNC_")}
        | {
            "SYNC_LEGACY_TOPIC_PREFIX": prefixes[Platform.LEGACY],
            "SYNC_REVAMP_TOPIC_PREFIX": prefixes[Platform.REVAMP],
            "SYNC_HTTP_PORT": "0",
            "SYNC_LOG_FORMAT": "console",
            "SYNC_MAPPING": os.environ.get(MAPPING_VARIABLE, ""),
        }
        | overrides
    )


class StackWorld:
    """One scenario on the real stack, isolated by its own topic prefixes (or, on a session's
    shared capture, by starting at the end of its topics) and empty tables."""

    def __init__(
        self,
        policy: ConflictPolicy,
        stack: dict[str, str],
        state_dir: Path,
        capture: str | None,
        shared: SharedCapture | None = None,
    ) -> None:
        """`capture`: builtin, debezium, or None (feed mode); `shared`: the session's running
        capture, if any."""
        tag = uuid.uuid4().hex[:8]
        self.shared = shared
        self.prefixes = shared.prefixes if shared else world_prefixes(f"t{tag}")
        overrides = {
            "SYNC_DLQ_TOPIC": f"t{tag}.dlq",
            "SYNC_CONFLICT_POLICY": policy.value,
            "SYNC_STATE_DIR": str(state_dir / tag),
            "SYNC_LEGACY_SLOT": f"t{tag}",
            "SYNC_DEBEZIUM_SLOT": shared.settings.debezium_slot if shared else f"t{tag}",
            "SYNC_CAPTURE": capture or "builtin",
        }
        raw = world_settings(stack, self.prefixes, overrides)
        self.settings = Settings.parse(raw)
        self.clock = FakeClock()
        self.container = build_container(self.settings)
        self.container.core.clock.override(providers.Object(self.clock))
        self.container.init_resources()
        dbs = self.container.adapters
        self.mapping = self.container.core.mapping()
        self.stores = {
            Platform.LEGACY: FaultyStore(dbs.legacy_store()),
            Platform.REVAMP: FaultyStore(dbs.revamp_store()),
        }
        dbs.legacy_store.override(providers.Object(self.stores[Platform.LEGACY]))
        dbs.revamp_store.override(providers.Object(self.stores[Platform.REVAMP]))
        self.engines = {Platform.LEGACY: dbs.legacy_engine(), Platform.REVAMP: dbs.revamp_engine()}
        kafka = self.container.adapters.kafka()
        topics = [
            t
            for origin, prefix in self.prefixes.items()
            for t in change_topics(self.mapping, origin, prefix)
        ]
        ensure_topics(kafka, [*topics, self.settings.dlq_topic], partitions=3)
        self.publisher = KafkaEventPublisher(kafka)
        self.runners: dict[Platform, Any] = {}
        self.fed_sync_writes: dict[tuple[Platform, str, int], Any] = {}
        if capture:
            self.sides = {
                p: SqlApplicationDatabase(e, p, self.mapping) for p, e in self.engines.items()
            }
            if shared is not None:
                self.runners = shared.runners
            else:
                runners = self.container.services.capture_runners()
                self.runners = {p: runners[f"capture-{p.value}"] for p in Platform}
                for runner in self.runners.values():  # start each capture at the end of its log
                    runner.prepare()
            if capture == "debezium":  # streaming before the first application write
                self._captured()
        else:
            self.sides = {
                p: FeedingApplication(e, p, self.mapping, self.prefixes[p], self.publisher)
                for p, e in self.engines.items()
            }
        # topics shared with earlier scenarios: this one starts at their end
        self.start_offsets = end_offsets(kafka, topics) if shared else {}
        self.loops = {
            origin: self.container.services.consumer_loop(origin=origin, assign_all=True)
            for origin in Platform
        }
        if shared:
            self._rewind_to_start()
        self.stats = self.container.core.stats()
        # shared runners (Debezium's) count the earlier scenarios' skips too
        self.skipped_before = {p: self._skipped_transactions(p) for p in self.runners}

    def side(self, platform: Platform) -> SqlApplicationDatabase:
        return self.sides[platform]

    def sync(self) -> None:
        idle_rounds = 0
        for _ in range(200):
            moved = self._captured()
            moved += sum(loop.drain(idle_polls=1) for loop in self.loops.values())
            if not self.runners:
                moved += self._feed_sync_writes()
            in_outage = any(loop.failures for loop in self.loops.values())
            idle_rounds = 0 if moved or in_outage else idle_rounds + 1
            if idle_rounds == 2:
                return
        raise AssertionError("the sync never went quiet")

    def _captured(self) -> int:
        """Each capture publishes what its database committed so far; Debezium's connectors
        run on their own, so they are waited for together."""
        if self.settings.capture == "builtin":
            return sum(runner.run_once() for runner in self.runners.values())
        with ThreadPoolExecutor(len(self.runners) or 1) as pool:
            return sum(pool.map(lambda runner: runner.run_once(), self.runners.values()))

    def pause(self, seconds: float) -> None:
        self.clock.advance(seconds)

    def topic_name(self, topic: str) -> str:
        platform, _, rest = topic.partition(".")
        if platform not in ("legacy", "revamp"):
            return topic
        return f"{self.prefixes[Platform(platform)]}.{rest}"

    def publish(self, topic: str, key: bytes | None, value: bytes | None) -> None:
        self.publisher.publish(self.topic_name(topic), key, value)
        self.publisher.flush()

    def dead_letters(self) -> list[DeadLetter]:
        return self.container.adapters.dead_letters().letters()

    def replay_dead_letters(self) -> None:
        queue = self.container.adapters.dead_letters()
        for letter in queue.letters():
            queue.republish(letter)
        queue.purge()

    def redeliver_everything(self) -> None:
        for loop in self.loops.values():
            start = self.start_offsets
            loop.source.commit({where: start.get(where, 0) for where in loop.service.high_water})
            loop.source.rewind()

    def _rewind_to_start(self) -> None:
        for loop in self.loops.values():
            topics = set(loop.source.topics)
            loop.source.commit({w: o for w, o in self.start_offsets.items() if w[0] in topics})
            loop.source.rewind()

    def fail_next_transactions(self, platform: Platform, count: int) -> None:
        self.stores[platform].faults.extend(
            TransientError("deadlock detected (injected)") for _ in range(count)
        )

    def linked_id(self, entity_type: str, platform: Platform, row_id: int) -> int | None:
        for store in self.stores.values():
            link = store.read_links(entity_type, platform, [row_id]).get(row_id)
            if link is not None and not link.deleted:
                return link.id_on(platform.other)
        return None

    def _feed_sync_writes(self) -> int:
        """Publish the sync's own inserts and updates, as Debezium without a filter would:
        the consumer's echo check is then the one thing that stops them coming back."""
        fed = 0
        for platform, side in self.sides.items():
            for entity in self.mapping.entities:
                for row_id in side.app_ids(entity.entity_type):
                    row = side.row(entity.entity_type, row_id)
                    key = (platform, entity.entity_type, row_id)
                    if row is None or row.get(entity.source_column) != "sync_service":
                        continue
                    if self.fed_sync_writes.get(key) == row:
                        continue
                    before = self.fed_sync_writes.get(key)
                    op = Operation.CREATE if before is None else Operation.UPDATE
                    assert isinstance(side, FeedingApplication)
                    side._feed(entity.entity_type, op, before, row)
                    self.fed_sync_writes[key] = row
                    fed += 1
        return fed

    def echoes_stopped(self, platform: Platform) -> int:
        direction = f"{platform.value}-to-{platform.other.value}"
        stopped = self.stats.total(f"{direction}:echoes_skipped")
        skipped = self._skipped_transactions(platform) - self.skipped_before.get(platform, 0)
        return stopped + skipped

    def _skipped_transactions(self, platform: Platform) -> int:
        """Both captures drop the sync service's whole transactions before publishing."""
        runner = self.runners.get(platform)
        capture = getattr(runner, "capture", runner)  # the built-in runner's, or Debezium's
        return int(getattr(capture, "skipped_transactions", 0))

    def _drop_slot(self, runner: Any) -> None:
        if self.settings.capture == "builtin":
            runner.capture.drop_slot()
            return
        from adapters.capture.debezium_engine.slot import drop_postgres

        slot = self.settings.debezium_slot
        drop_postgres(self.settings.legacy_dsn, slot, slot)

    def differing_rows(self) -> int:
        rows = {p: SqlRowSnapshot(e, p, self.mapping) for p, e in self.engines.items()}
        return len(
            Reconciler(self.mapping, rows[Platform.LEGACY], rows[Platform.REVAMP]).run().differences
        )

    def close(self) -> None:
        for loop in self.loops.values():
            loop.close()
        for platform, runner in self.runners.items():
            if self.shared is not None:
                break  # the session's, closed with it
            runner.close()
            if platform is Platform.LEGACY:  # else the server keeps WAL for the slot forever
                self._drop_slot(runner)
        self.publisher.close()
        self.container.shutdown_resources()
