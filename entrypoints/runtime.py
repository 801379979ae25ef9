"""One runtime for every long-running command: named parts in supervised threads, their
health on /readyz, a wait until a signal or a deadline, and a teardown in order (parts, their
connections, the HTTP endpoint, the container's resources, the state lock) within 10 s."""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from application.consumer_loop import ConsumerLoop
from application.health import PartCondition, readiness
from application.supervisor import Part, Supervisor
from domain.errors import ConfigurationError
from entrypoints.containers import Container, build_container
from entrypoints.heap import freeze_long_lived
from entrypoints.settings import Settings

log = logging.getLogger(__name__)
STOP_BUDGET_S = 6.0  # SIGTERM ends the process within 10 s, whatever it was blocked on


@contextlib.contextmanager
def long_running(
    settings: Settings, stop: threading.Event, adapters: str = "real", owner: str | None = None
) -> Iterator[ServiceRuntime]:
    """The runtime of one long-running command on a fresh container, stopped by `stop` (from
    `stop_on_signals`) or a deadline. With `owner`, the
    command owns the state directory (the capture positions have one owner; consumers may be
    many) and holds its lock until the teardown is over."""
    from entrypoints.startup import reported_errors, state_dir

    container = build_container(settings, adapters)
    lock = container.core.state_lock(owner=owner) if owner is not None else None
    if lock is not None:
        with reported_errors():
            state_dir(settings)
            lock.acquire()
    try:
        container.init_resources()
        runtime = ServiceRuntime(settings, container, stop)
        try:
            yield runtime
        finally:
            runtime.shutdown()
    finally:
        if lock is not None:
            lock.release()


def first_mapping_problem(container: Container, capture: bool, stop: threading.Event) -> str | None:
    """The mapping checked against both live schemas before anything runs; the first problem.
    A database or broker that cannot be reached at start is waited for up to
    SYNC_START_WAIT_SECONDS (a restart in the middle of a short outage rides it out), then is a
    TargetUnavailableError saying so; once running, the parts wait out an outage themselves."""
    from adapters.kafka.admin import check_reachable
    from domain.errors import SyncError, TargetUnavailableError, TransientError
    from entrypoints.startup import one_line

    settings = container.core.settings()
    deadline = time.monotonic() + settings.start_wait_s
    waiting = False
    while True:
        try:
            check_reachable(container.adapters.kafka())
            problems = container.adapters.schema_guard().problems(capture=capture)
            break
        except TransientError as error:
            reason = one_line(error)
            if time.monotonic() >= deadline or stop.is_set():
                raise TargetUnavailableError(
                    f"cannot start: {reason} (start it, or check its address)"
                ) from None
            if not waiting:
                log.warning(
                    "waiting up to %.0f s at start (SYNC_START_WAIT_SECONDS): %s",
                    settings.start_wait_s,
                    reason,
                )
                waiting = True
            stop.wait(1.0)
        except SyncError as error:  # the catalogs cannot be read (privileges): say so in one line
            return f"cannot read the catalogs: {one_line(error)}"
    if waiting:
        log.warning("reached every server; starting")
    return problems[0] if problems else None


def refuse_unrunnable(runners: dict[str, Any]) -> None:
    """A checkpoint taken from another server, or Debezium without its extra or Java, stops
    the command at start, in one line; a server that cannot be reached now is waited for by
    the capture itself."""
    from domain.errors import TransientError

    for runner in runners.values():
        check_engine = getattr(runner, "check", None)
        if check_engine is not None:
            check_engine()
        check = getattr(getattr(runner, "capture", None), "check_checkpoint", None)
        if check is not None:
            with contextlib.suppress(TransientError):
                check()


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
        self.closers: list[Callable[[], None]] = []  # run after the parts stopped
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

    def add_part(
        self,
        name: str,
        part: Part,
        condition: Callable[[], PartCondition] | None = None,
        closer: Callable[[], None] | None = None,
    ) -> None:
        self.parts[name] = part
        if condition is not None:
            self.conditions[name] = condition
        if closer is not None:
            self.closers.append(closer)

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
        queue = self.container.adapters.dead_letters()
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
        freeze_long_lived()  # everything built so far lives as long as the process
        self.supervisor = Supervisor(self.parts, self.container.core.part_backoff())
        self.supervisor.start(self.stop)

    def run(self, seconds: float | None, tick: Callable[[], None] | None = None) -> None:
        """Start every part and wait until stopped or `seconds` passed (the teardown is the
        caller's `long_running`)."""
        self.start()
        self.wait(seconds, tick)

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
