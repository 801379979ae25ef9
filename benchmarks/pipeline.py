"""The whole pipeline under load: application writes → built-in capture → broker → apply.

`pipeline_throughput`: the application inserts users as fast as it can (transactions of
`ROWS_PER_TXN` rows) on one side, then the other, then both at once; rate is rows visible on
the other side per second; latency from each transaction's COMMIT until its first row is
visible on the other side. `latency_at_1k`: the same at 1,000 rows/s per direction, both at once.
CPU seconds are those of each part's thread (capture per database, consumer per direction);
everything runs in this one process, as `tandem run` runs it.
"""

from __future__ import annotations

import statistics
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, func, select

from application.consumer_loop import ConsumerLoop
from benchmarks.live import EMAIL, NAME, Parts, TimedCapture
from benchmarks.report import Result, Target
from benchmarks.stack import bench_container, empty_databases, server_versions
from domain.events import Platform
from domain.mapping import SchemaMapping

THROUGHPUT = "pipeline_throughput"
LATENCY = "latency_at_1k"
SECONDS = {"full": 60.0, "quick": 15.0}
ROWS_PER_TXN = 50
DIRECTIONS = {p: f"{p.value}_to_{p.other.value}" for p in Platform}
THROUGHPUT_TARGETS = [
    Target(f"one_at_a_time.{d}.events_per_s", ">=", 5000, "events/s", f"{d} alone")
    for d in DIRECTIONS.values()
] + [
    t
    for d in DIRECTIONS.values()
    for t in (
        Target(f"both_at_once.{d}.events_per_s", ">=", 3000, "events/s", f"{d} both at once"),
        Target(f"both_at_once.{d}.latency_ms.p99", "<=", 1000, "ms", f"{d} p99 both at once"),
    )
]
LATENCY_TARGETS = [
    Target(f"{d}.latency_ms.p99", "<=", 50, "ms", f"{d} p99 at 1,000/s")
    for d in DIRECTIONS.values()
]


def run_throughput(stack: dict[str, str], mode: str) -> Result:
    seconds = SECONDS[mode]
    metrics: dict[str, Any] = {"one_at_a_time": {}}
    with running_pipeline(stack, THROUGHPUT) as pipeline:
        for origin in Platform:
            result = pipeline.load({origin: None}, seconds)
            metrics["one_at_a_time"][DIRECTIONS[origin]] = result[origin]
        both = pipeline.load(dict.fromkeys(Platform), seconds)
        metrics["both_at_once"] = {DIRECTIONS[o]: both[o] for o in Platform}
        metrics["cpu_s"] = pipeline.cpu_s()
        metrics["failures"] = pipeline.parts.failures
    return Result(
        name=THROUGHPUT,
        title="Pipeline throughput: application writes to rows on the other side",
        parameters={"seconds_per_phase": seconds, "rows_per_transaction": ROWS_PER_TXN},
        metrics=metrics,
        targets=THROUGHPUT_TARGETS,
        notes=[
            "events_per_s: rows written by the application and visible on the other side, over"
            " the time from the first COMMIT to the last row visible",
            "cpu_s: CPU seconds of each part's thread over the whole benchmark",
        ],
        servers=server_versions(stack),
    )


def run_latency(stack: dict[str, str], mode: str) -> Result:
    seconds = SECONDS[mode] / 2
    with running_pipeline(stack, LATENCY) as pipeline:
        both = pipeline.load(dict.fromkeys(Platform, 1000.0), seconds, rows_per_txn=10)
        metrics: dict[str, Any] = {DIRECTIONS[o]: both[o] for o in Platform}
        metrics["cpu_s"] = pipeline.cpu_s()
        metrics["failures"] = pipeline.parts.failures
    return Result(
        name=LATENCY,
        title="Latency at 1,000 changes/s per direction, both at once",
        parameters={"seconds": seconds, "rows_per_s": 1000, "rows_per_transaction": 10},
        metrics=metrics,
        targets=LATENCY_TARGETS,
        notes=["latency_ms: source COMMIT to the row visible on the other side"],
        servers=server_versions(stack),
    )


class running_pipeline:
    """Capture and both consumers running in threads on a benchmark's own topics."""

    def __init__(self, stack: dict[str, str], name: str) -> None:
        self.stack, self.name = stack, name
        self.parts = Parts()
        self.cpu: dict[str, float] = {}

    def __enter__(self) -> running_pipeline:
        empty_databases(self.stack)
        self.scope = bench_container(self.stack, self.name)
        container = self.scope.__enter__()
        self.mapping: SchemaMapping = container.core.mapping()
        dbs = container.adapters
        self.engines = {Platform.LEGACY: dbs.legacy_engine(), Platform.REVAMP: dbs.revamp_engine()}
        self.capture = TimedCapture(container)
        for platform, runner in self.capture.runners.items():
            runner.prepare()
            self._start(f"capture_{platform.value}", runner.run)
        self.loops: list[ConsumerLoop] = []
        for origin in Platform:
            loop = container.services.consumer_loop(origin=origin)
            self.loops.append(loop)
            self._start(f"consumer_{DIRECTIONS[origin]}", loop.run)
        self._warm_up()
        return self

    def _start(self, name: str, part: Callable[[threading.Event], Any]) -> None:
        def timed(stop: threading.Event) -> None:
            try:
                part(stop)
            finally:
                self.cpu[name] = round(time.thread_time(), 2)

        self.parts.start(name, timed)

    def _warm_up(self) -> None:
        """One row each way, so the groups have joined before anything is timed."""
        self.load(dict.fromkeys(Platform, 10.0), 0.1, rows_per_txn=1, cap_s=60.0)

    def load(
        self,
        rates: dict[Platform, float | None],
        seconds: float,
        rows_per_txn: int = ROWS_PER_TXN,
        cap_s: float = 120.0,
    ) -> dict[Platform, dict[str, Any]]:
        """Write on each side of `rates` (rows/s; None: as fast as possible) for `seconds`;
        wait until the rows are on the other side; rate and latency per origin."""
        writers = {
            origin: Writer(self.engines[origin], origin, self.mapping, rate, rows_per_txn)
            for origin, rate in rates.items()
        }
        threads = [threading.Thread(target=w.run, args=(seconds,)) for w in writers.values()]
        watchers = {
            origin: Watcher(self.engines[origin.other], origin.other, self.mapping, writer)
            for origin, writer in writers.items()
        }
        watching = [threading.Thread(target=w.run, args=(cap_s,)) for w in watchers.values()]
        for thread in threads + watching:
            thread.start()
        for thread in threads + watching:
            thread.join()
        return {origin: watchers[origin].result() for origin in writers}

    def cpu_s(self) -> dict[str, float]:
        return dict(self.cpu)

    def __exit__(self, *exc: object) -> None:
        self.parts.join()
        for loop in self.loops:
            loop.close()
        self.capture.close()
        self.scope.__exit__(*exc)


class Writer:
    """The application: users inserted in transactions of `rows_per_txn`, at `rate` rows/s."""

    def __init__(
        self,
        engine: Engine,
        platform: Platform,
        mapping: SchemaMapping,
        rate: float | None,
        rows_per_txn: int,
    ) -> None:
        self.engine, self.platform, self.rate, self.size = engine, platform, rate, rows_per_txn
        self.table = _users(mapping, platform)
        self.tag = f"p{uuid.uuid4().hex[:6]}"
        self.commits: list[tuple[float, str]] = []  # COMMIT moment, first email of the txn
        self.rows = 0
        self.done = threading.Event()

    def run(self, seconds: float) -> None:
        with self.engine.connect() as conn:
            started = time.monotonic()
            while (now := time.monotonic()) - started < seconds:
                if self.rate is not None:
                    due = started + self.rows / self.rate
                    if now < due:
                        time.sleep(due - now)
                rows = [self._row(self.rows + i) for i in range(self.size)]
                conn.execute(self.table.insert(), rows)
                conn.commit()
                self.commits.append((time.monotonic(), rows[0][EMAIL[self.platform]]))
                self.rows += self.size
        self.done.set()

    def _row(self, i: int) -> dict[str, Any]:
        name = f"{self.tag}_{i}"
        return {NAME[self.platform]: name, EMAIL[self.platform]: f"{name}@example.com"}


class Watcher:
    """The other side: when each transaction's first row, and every row, became visible."""

    def __init__(
        self, engine: Engine, platform: Platform, mapping: SchemaMapping, writer: Writer
    ) -> None:
        self.engine, self.platform, self.writer = engine, platform, writer
        self.table = _users(mapping, platform)
        self.seen: dict[str, float] = {}
        self.last_seen = 0.0
        self.arrived = 0

    def run(self, cap_s: float) -> None:
        email = self.table.c[EMAIL[self.platform]]
        with self.engine.connect() as conn:
            deadline = None
            while True:
                now = time.monotonic()
                waiting = [e for _, e in self.writer.commits if e not in self.seen][:2000]
                if waiting:
                    query = select(email).where(email.in_(waiting))
                    for found in conn.execute(query).scalars():
                        self.seen[found] = now
                count = select(func.count()).where(email.like(f"{self.writer.tag}\\_%"))
                arrived = int(conn.execute(count).scalar_one())
                conn.rollback()  # a fresh snapshot each round
                if arrived > self.arrived:
                    self.arrived, self.last_seen = arrived, now
                if self.writer.done.is_set():
                    deadline = deadline or now + cap_s
                    if self.arrived >= self.writer.rows or now > deadline:
                        return
                time.sleep(0.005)

    def result(self) -> dict[str, Any]:
        commits = self.writer.commits
        latencies = [(self.seen[e] - t) * 1000 for t, e in commits if e in self.seen]
        elapsed = max(self.last_seen - commits[0][0], 1e-9) if commits else 0
        return {
            "rows_written": self.writer.rows,
            "rows_arrived": self.arrived,
            "events_per_s": round(self.arrived / elapsed) if elapsed else 0,
            "latency_ms": latency_stats(latencies),
        }


def latency_stats(ms: list[float]) -> dict[str, Any]:
    if len(ms) < 2:
        return {"count": len(ms), "p50": None, "p95": None, "p99": None, "max": None}
    cuts = statistics.quantiles(sorted(ms), n=100, method="inclusive")
    return {
        "count": len(ms),
        "p50": round(cuts[49], 1),
        "p95": round(cuts[94], 1),
        "p99": round(cuts[98], 1),
        "max": round(max(ms), 1),
    }


def _users(mapping: SchemaMapping, platform: Platform) -> Any:
    from adapters.sql.tables import SchemaTables

    return SchemaTables(mapping, platform).of(mapping.entity("user"))
