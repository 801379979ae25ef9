"""The whole sync wired on in-memory adapters: two databases, a broker, two directions."""

from __future__ import annotations

import attrs

from adapters.debezium import DebeziumCodec
from adapters.memory.broker import InMemoryBroker
from adapters.memory.capture import InMemoryCapture
from adapters.memory.database import InMemoryDatabase
from adapters.memory.dead_letters import InMemoryDeadLetterQueue
from application.consumer_loop import ConsumerLoop
from application.stats import SyncStats
from application.sync_service import SyncService
from domain.events import Platform
from domain.mapping import SchemaMapping
from domain.ports import Clock
from domain.retry import RetryPolicy
from domain.rules import ConflictPolicy

PREFIXES = {Platform.LEGACY: "legacy", Platform.REVAMP: "revamp"}


@attrs.define
class InMemoryPipeline:
    broker: InMemoryBroker
    databases: dict[Platform, InMemoryDatabase]
    dead_letters: InMemoryDeadLetterQueue
    loops: dict[Platform, ConsumerLoop]
    stats: SyncStats

    @property
    def legacy(self) -> InMemoryDatabase:
        return self.databases[Platform.LEGACY]

    @property
    def revamp(self) -> InMemoryDatabase:
        return self.databases[Platform.REVAMP]

    def drain(self) -> None:
        """Run both directions until neither has anything left (an outage is waited out)."""
        while sum(loop.drain(idle_polls=1) for loop in self.loops.values()) or any(
            loop.failures for loop in self.loops.values()
        ):
            pass


def build_pipeline(
    mapping: SchemaMapping,
    clock: Clock,
    policy: ConflictPolicy = ConflictPolicy.LAST_WRITER_WINS,
    retry: RetryPolicy | None = None,
    drop_sync_transactions: bool = False,
    parent_wait_s: float = 30.0,
    propagate_truncates: bool = False,
    max_waiting_in_memory: int = 10_000,
) -> InMemoryPipeline:
    broker = InMemoryBroker()
    databases = {
        platform: InMemoryDatabase(
            platform,
            mapping,
            InMemoryCapture(broker, PREFIXES[platform], drop_sync_transactions),
            clock.now,
        )
        for platform in Platform
    }
    dead_letters = InMemoryDeadLetterQueue(broker)
    stats = SyncStats()
    codec = DebeziumCodec(mapping, PREFIXES)
    loops = {}
    for origin in Platform:
        topics = [
            f"{PREFIXES[origin]}.{e.schemas.on(origin)}.{e.tables.on(origin)}"
            for e in mapping.entities
        ]
        service = SyncService(
            origin=origin,
            mapping=mapping,
            codec=codec,
            origin_store=databases[origin],
            target=databases[origin.other],
            dead_letters=dead_letters,
            policy=policy,
            clock=clock,
            retry=retry or RetryPolicy(),
            stats=stats,
            parent_wait_s=parent_wait_s,
            propagate_truncates=propagate_truncates,
            max_waiting_in_memory=max_waiting_in_memory,
        )
        source = broker.consumer(f"tandem-{service.direction}", topics)
        loops[origin] = ConsumerLoop(source, service, clock, RetryPolicy(max_delay_s=5.0))
    return InMemoryPipeline(broker, databases, dead_letters, loops, stats)
