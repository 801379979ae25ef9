"""The whole pipeline on the in-memory adapters: the handle tests drive, and the demo run
with generated traffic on both sides."""

from __future__ import annotations

import threading
from collections.abc import Callable

import attrs
from dependency_injector import providers
from rich.console import Console
from rich.live import Live

from adapters.memory.broker import InMemoryBroker
from adapters.memory.database import InMemoryDatabase
from adapters.memory.dead_letters import InMemoryDeadLetterQueue
from application.consumer_loop import ConsumerLoop
from application.stats import SyncStats
from demo.traffic import TrafficGenerator
from domain.events import Platform
from domain.mapping import SchemaMapping
from domain.ports import Clock
from domain.retry import RetryPolicy
from domain.rules import ConflictPolicy
from entrypoints.cli.live_view import stats_table, summary_lines
from entrypoints.containers import Container, build_container
from entrypoints.settings import Settings, in_memory_settings

WRITES_PER_TICK = 5
TITLE = "tandem (in memory)"


@attrs.define
class InMemoryPipeline:
    """Both directions on the in-memory adapters of one container, driven by the caller."""

    broker: InMemoryBroker
    databases: dict[Platform, InMemoryDatabase]
    dead_letters: InMemoryDeadLetterQueue
    loops: dict[Platform, ConsumerLoop]
    stats: SyncStats

    @classmethod
    def of(cls, container: Container) -> InMemoryPipeline:
        adapters = container.adapters
        return cls(
            broker=adapters.broker(),
            databases={
                Platform.LEGACY: adapters.legacy_store(),
                Platform.REVAMP: adapters.revamp_store(),
            },
            dead_letters=adapters.dead_letters(),
            loops={origin: container.services.consumer_loop(origin=origin) for origin in Platform},
            stats=container.core.stats(),
        )

    @property
    def legacy(self) -> InMemoryDatabase:
        return self.databases[Platform.LEGACY]

    @property
    def revamp(self) -> InMemoryDatabase:
        return self.databases[Platform.REVAMP]

    def step(self) -> None:
        """One poll, apply and commit of each direction."""
        for loop in self.loops.values():
            loop.step()

    def drain(self) -> None:
        """Run both directions until neither has anything left (an outage is waited out)."""
        while sum(loop.drain(idle_polls=1) for loop in self.loops.values()) or any(
            loop.failures for loop in self.loops.values()
        ):
            pass


def in_memory_pipeline(
    mapping: SchemaMapping,
    clock: Clock,
    policy: ConflictPolicy = ConflictPolicy.LAST_WRITER_WINS,
    retry: RetryPolicy | None = None,
    drop_sync_transactions: bool = False,
    parent_wait_s: float = 30.0,
    propagate_truncates: bool = False,
    max_waiting_in_memory: int = 10_000,
) -> InMemoryPipeline:
    """The pipeline of the composition root's in-memory adapter set, on `mapping` and `clock`."""
    settings = attrs.evolve(
        in_memory_settings(),
        conflict_policy=policy,
        parent_wait_s=parent_wait_s,
        truncate="propagate" if propagate_truncates else "dead-letter",
        max_waiting_in_memory=max_waiting_in_memory,
    )
    container = build_container(settings, "memory")
    container.core.mapping.override(providers.Object(mapping))
    container.core.clock.override(providers.Object(clock))
    if retry is not None:
        container.core.retry.override(providers.Object(retry))
    container.adapters.drop_sync_transactions.override(providers.Object(drop_sync_transactions))
    return InMemoryPipeline.of(container)


def run_in_memory(
    settings: Settings,
    stop: threading.Event,
    seconds: float | None,
    once: bool,
    console: Console,
    live: bool,
) -> int:
    """Generated traffic and both directions until a signal, `seconds`, or (with `once`) one
    round; then what is in flight is finished, both sides compared; returns the differences."""
    from entrypoints.runtime import long_running

    with long_running(settings, stop, adapters="memory") as runtime:
        pipeline = InMemoryPipeline.of(runtime.container)
        traffic = runtime.container.services.traffic()
        if once:
            _round(pipeline, traffic)
        else:
            view = _LiveCounts(pipeline, traffic, console) if live else None
            runtime.add_part("in-memory sync", lambda stop: _rounds(pipeline, traffic, stop))
            if view is not None:
                runtime.closers.append(view.stop)
            runtime.run(seconds, view.tick if view is not None else None)
    pipeline.drain()  # the parts have stopped: finish what is in flight, then commit
    report = runtime.container.services.reconciler().run()
    console.print(f"app writes: {traffic.writes}")
    for line in summary_lines(pipeline.stats, len(report.differences)):
        console.print(line)
    for difference in report.differences[:20]:
        console.print(f"  {difference}")
    return len(report.differences)


def _round(pipeline: InMemoryPipeline, traffic: TrafficGenerator) -> None:
    for _ in range(WRITES_PER_TICK):
        traffic.step()
    pipeline.step()


def _rounds(pipeline: InMemoryPipeline, traffic: TrafficGenerator, stop: threading.Event) -> None:
    """One part does both the traffic and the sync: the in-memory databases are not shared
    between threads."""
    while not stop.is_set():
        _round(pipeline, traffic)
        stop.wait(0.01)


class _LiveCounts:
    """The demo's counters, redrawn in place."""

    def __init__(
        self, pipeline: InMemoryPipeline, traffic: TrafficGenerator, console: Console
    ) -> None:
        self.pipeline, self.traffic = pipeline, traffic
        self.live = Live(stats_table(pipeline.stats, TITLE), console=console, refresh_per_second=4)
        self.live.start()
        self.stop: Callable[[], None] = self.live.stop

    def tick(self) -> None:
        extra = {
            "app writes": str(self.traffic.writes),
            "dlq depth": str(len(self.pipeline.dead_letters.held)),
        }
        self.live.update(stats_table(self.pipeline.stats, TITLE, extra))
