"""Running long-lived parts on the real adapters: supervised, truthful health, bounded stop."""

from __future__ import annotations

import errno
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from application.consumer_loop import ConsumerLoop
from application.health import PartCondition, readiness
from application.supervisor import Part, Supervisor
from application.sync_service import SyncService
from domain.errors import ConfigurationError
from domain.events import Platform
from domain.mapping import SchemaMapping
from domain.retry import RetryPolicy
from entrypoints.container import Container
from entrypoints.settings import Settings

log = logging.getLogger(__name__)
ORIGINS = {
    "legacy-to-revamp": (Platform.LEGACY,),
    "revamp-to-legacy": (Platform.REVAMP,),
    "both": (Platform.LEGACY, Platform.REVAMP),
}
STOP_BUDGET_S = 6.0  # SIGTERM ends the process within 10 s, whatever it was blocked on


def change_topics(mapping: SchemaMapping, origin: Platform, prefix: str) -> list[str]:
    """Debezium's topic names: <prefix>.<schema>.<table>."""
    return [f"{prefix}.{e.schemas.on(origin)}.{e.tables.on(origin)}" for e in mapping.entities]


def parents_first_ranks(mapping: SchemaMapping, origin: Platform, prefix: str) -> dict[str, int]:
    """Each change topic's place in the dependency order: parents' topics lower."""
    ordered = [mapping.entities.index(e) for e in mapping.in_dependency_order()]
    topics = change_topics(mapping, origin, prefix)
    return {topics[index]: rank for rank, index in enumerate(ordered)}


def consumer_group(prefixes: Mapping[Platform, str], origin: Platform) -> str:
    """One group per direction and pair of topic prefixes: `tandem-legacy-to-revamp` by
    default; deployments with their own prefixes never share a group on one broker."""
    return f"tandem-{prefixes[origin]}-to-{prefixes[origin.other]}"


def first_mapping_problem(container: Container, capture: bool) -> str | None:
    """The mapping checked against both live schemas before anything runs; the first problem.
    A database that cannot be reached at start is a TargetUnavailableError saying so (once
    running, the parts wait out an outage instead)."""
    from domain.errors import SyncError, TargetUnavailableError, TransientError

    try:
        problems = container.databases.schema_guard().problems(capture=capture)
    except TransientError as error:
        raise TargetUnavailableError(
            f"cannot start: {' '.join(str(error).split())} (start the database, or check its DSN)"
        ) from None
    except SyncError as error:  # the catalogs cannot be read (privileges): say so in one line
        return f"cannot read the catalogs: {' '.join(str(error).split())}"
    return problems[0] if problems else None


def build_loop(container: Container, origin: Platform, assign_all: bool = False) -> ConsumerLoop:
    """One direction: a Kafka consumer group, the SyncService, the loop that drives them."""
    from adapters.kafka.source import KafkaChangeSource

    core, dbs = container.core, container.databases
    settings: Settings = core.settings()
    stores = {Platform.LEGACY: dbs.legacy_store(), Platform.REVAMP: dbs.revamp_store()}
    service = SyncService(
        origin=origin,
        mapping=core.mapping(),
        codec=core.codec(),
        origin_store=stores[origin],
        target=stores[origin.other],
        dead_letters=container.messaging.dead_letters(),
        policy=settings.conflict_policy,
        clock=core.clock(),
        retry=core.retry(),
        stats=core.stats(),
        parent_wait_s=settings.parent_wait_s,
        propagate_truncates=settings.truncate == "propagate",
        max_waiting_in_memory=settings.max_waiting_in_memory,
        schema_guard=dbs.schema_guard(),
    )
    prefix = core.prefixes()[origin]
    source = KafkaChangeSource(
        container.messaging.kafka(),
        consumer_group(core.prefixes(), origin),
        change_topics(core.mapping(), origin, prefix),
        max_poll_records=settings.batch_size,
        assign_all=assign_all,
        topic_ranks=parents_first_ranks(core.mapping(), origin, prefix),
    )
    return ConsumerLoop(
        source, service, core.clock(), core.outage_backoff(), batch_size=settings.batch_size
    )


def loop_condition(loop: ConsumerLoop) -> PartCondition:
    return PartCondition(
        failures=loop.failures,
        last_error=loop.last_error,
        seconds_since_progress=time.monotonic() - loop.last_progress,
        out_of_touch=loop.out_of_touch,
    )


def capture_condition(runner: Any) -> PartCondition:
    return PartCondition(
        failures=runner.failures,
        last_error=runner.last_error or "",
        seconds_since_progress=time.monotonic() - runner.last_progress,
    )


class ServiceRuntime:
    """The parts of one long-running command (captures, consumer loops, extras), each in a
    supervised thread, their readiness on /readyz, and a stop that ends within 10 s."""

    def __init__(self, settings: Settings, container: Container, stop: threading.Event) -> None:
        self.settings, self.container, self.stop = settings, container, stop
        self.parts: dict[str, Part] = {}
        self.conditions: dict[str, Callable[[], PartCondition]] = {}
        self.closers: list[Callable[[], None]] = []
        self.loops: list[ConsumerLoop] = []
        self.captures: dict[str, Any] = {}
        self.supervisor: Supervisor | None = None
        self.server: Any = None

    def add_loop(self, loop: ConsumerLoop) -> None:
        name = loop.service.direction
        self.loops.append(loop)
        self.parts[name] = loop.run
        self.conditions[name] = lambda: loop_condition(loop)
        self.closers.append(loop.close)

    def add_capture(self, name: str, runner: Any) -> None:
        self.captures[name] = runner
        self.parts[name] = runner.run
        self.conditions[name] = lambda: capture_condition(runner)
        self.closers.append(runner.close)

    def add_part(self, name: str, part: Part) -> None:
        self.parts[name] = part

    def readiness(self) -> dict[str, object]:
        """The /readyz body."""
        conditions = {}
        states = self.supervisor.states if self.supervisor is not None else {}
        window = self.settings.stall_s
        for name, condition in self.conditions.items():
            state = states.get(name)
            found = condition()
            if state is not None:
                found = PartCondition(
                    running=state.running,
                    failures=found.failures,
                    last_error=found.last_error or state.last_error,
                    seconds_since_progress=found.seconds_since_progress,
                    recent_restarts=state.recent_restarts(window),
                    out_of_touch=found.out_of_touch,
                )
            conditions[name] = found
        report = readiness(conditions, window)
        if self.stop.is_set():
            report["ready"] = False
            report["failing"] = {"service": "stopping"}
        report["last_applied"] = self.container.core.stats().last_applied
        return report

    def serve(self) -> None:
        """/healthz, /readyz, /metrics on SYNC_HTTP_PORT; a port in use is a setting error."""
        port = self.settings.http_port
        if not port:
            return
        from adapters.http_status import serve

        try:
            self.server = serve(
                port, self.metrics_registry(), self.readiness, self.settings.http_host
            )
        except OSError as error:
            if error.errno != errno.EADDRINUSE:
                raise
            raise ConfigurationError(
                f"SYNC_HTTP_PORT: port {port} is in use (another tandem process?): "
                "give each process its own port, or 0 to turn the endpoint off"
            ) from None

    def metrics_registry(self) -> Any:
        """Every Tandem metric of this process; histograms fed through the stats' sink."""
        from adapters.prometheus_metrics import MetricSources, metrics_registry

        stats = self.container.core.stats()
        queue = self.container.messaging.dead_letters()
        registry, stats.sink = metrics_registry(
            MetricSources(
                stats=stats,
                waiting=lambda: {
                    loop.service.direction: len(loop.service.waiting) for loop in self.loops
                },
                seconds_behind=self.seconds_behind,
                restarts=lambda: {
                    name: state.restarts
                    for name, state in (self.supervisor.states if self.supervisor else {}).items()
                },
                captured=lambda: {name: runner.published for name, runner in self.captures.items()},
                dlq_depth=lambda: len(queue.letters()),
                reports_dir=self.settings.state_dir / "reports",
            )
        )
        return registry

    def seconds_behind(self) -> dict[str, float]:
        """Per direction: 0 when caught up, else now minus the source commit time of the last
        change applied (Debezium's MilliSecondsBehindSource, in seconds)."""
        stats, now = self.container.core.stats(), time.time()
        behind = {}
        for loop in self.loops:
            direction = loop.service.direction
            last = stats.last_applied_commit_ms.get(direction)
            if loop.caught_up:
                behind[direction] = 0.0
            elif last:
                behind[direction] = max(0.0, now - last / 1000)
        return behind

    def start(self) -> None:
        self.supervisor = Supervisor(self.parts, RetryPolicy(max_delay_s=30.0))
        self.supervisor.start(self.stop)

    def wait(self, seconds: float | None, tick: Callable[[], None] | None = None) -> None:
        """Until stopped (signal) or `seconds` passed."""
        deadline = None if seconds is None else time.monotonic() + seconds
        while not self.stop.is_set() and (deadline is None or time.monotonic() < deadline):
            self.stop.wait(0.5 if deadline is None else min(0.5, deadline - time.monotonic()))
            if tick is not None:
                tick()

    def shutdown(self) -> None:
        """Stop every part and release everything within STOP_BUDGET_S. A part still blocked
        then (a stopped broker or database) is abandoned: it commits only what it applied, so
        leaving it is as safe as a crash, and the process exits anyway."""
        self.stop.set()
        started = time.monotonic()
        stuck = self.supervisor.join(STOP_BUDGET_S / 2) if self.supervisor is not None else []
        closing = [
            threading.Thread(target=_quietly, args=(close,), name="closing", daemon=True)
            for close in self.closers
        ]
        for thread in closing:
            thread.start()
        for thread in closing:
            thread.join(max(0.1, STOP_BUDGET_S - (time.monotonic() - started)))
        if any(thread.is_alive() for thread in closing):
            stuck.append("closing connections")
        else:
            if self.server is not None:
                self.server.shutdown()
            self.container.shutdown_resources()
        if stuck:
            log.warning("stopped without waiting for: %s", ", ".join(stuck))
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(0)  # blocked threads would otherwise hold the interpreter's exit


def _quietly(close: Callable[[], None]) -> None:
    try:
        close()
    except Exception as error:  # closing the others matters more
        log.warning("closing: %s: %s", type(error).__name__, error)


def run_loops_once(loops: list[ConsumerLoop]) -> None:
    """--once: each direction until drained."""
    for loop in loops:
        loop.drain()


def run_consumers(
    settings: Settings,
    direction: str,
    *,
    seconds: float | None,
    once: bool,
    stop: threading.Event,
) -> int:
    from entrypoints.common import reported_errors
    from entrypoints.container import build_container
    from entrypoints.logging_setup import configure_logging

    configure_logging(settings.log_format, settings.log_level)
    container = build_container(settings)
    container.init_resources()
    runtime = ServiceRuntime(settings, container, stop)
    try:
        with reported_errors():
            problem = first_mapping_problem(container, capture=False)
        if problem is not None:
            print(f"mapping check: {problem}", file=sys.stderr)
            return 2
        with reported_errors():
            # --once takes every partition itself: a group join could outlast the first polls
            for origin in ORIGINS[direction]:
                runtime.add_loop(build_loop(container, origin, assign_all=once))
            if once:
                run_loops_once(runtime.loops)
                return 0
            runtime.serve()
        log.info("sync started", extra={"direction": direction})
        runtime.start()
        runtime.wait(seconds)
        log.info("sync stopping", extra=container.core.stats().snapshot())
        return 0
    finally:
        runtime.shutdown()
