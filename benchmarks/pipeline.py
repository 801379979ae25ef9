"""The whole pipeline under load: application writes → built-in capture → broker → apply.

`pipeline_throughput`: the application inserts users as fast as it can (transactions of
`ROWS_PER_TXN` rows) on one side, then the other, then both at once; rate is rows visible on
the other side per second; latency from each transaction's COMMIT until its first row is
visible on the other side. `latency_at_1k`: the same at 1,000 rows/s per direction, both at once.
The pipeline runs as deployed, in its own process: `tandem run` started with an env file of the
stack (BENCH_PIPELINE=split: `python -m entrypoints.cdc` and one `python -m entrypoints.consumer`
per direction). Only the application's writers and light watchers run in this process. CPU
seconds are those of each process (from /proc), per phase and over the whole benchmark.
"""

from __future__ import annotations

import contextlib
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select

from adapters.capture import pgslot
from benchmarks.live import EMAIL, NAME
from benchmarks.report import Result, Target
from benchmarks.stack import bench_container, bench_settings, empty_databases, server_versions
from domain.events import Platform
from domain.mapping import SchemaMapping

THROUGHPUT = "pipeline_throughput"
LATENCY = "latency_at_1k"
SECONDS = {"full": 60.0, "quick": 15.0}
# How long a phase waits, after its writers stopped, for the rows still on their way: the next
# phase must not start behind the last one's backlog (the writers outrun the pipeline).
DRAIN_S = {"full": 600.0, "quick": 180.0}
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
            result = pipeline.load({origin: None}, seconds, cap_s=DRAIN_S[mode])
            metrics["one_at_a_time"][DIRECTIONS[origin]] = result[origin]
        both = pipeline.load(dict.fromkeys(Platform), seconds, cap_s=DRAIN_S[mode])
        metrics["both_at_once"] = {DIRECTIONS[o]: both[o] for o in Platform}
        metrics["cpu_s"] = pipeline.cpu_s()
        metrics["failures"] = pipeline.failures
    return Result(
        name=THROUGHPUT,
        title="Pipeline throughput: application writes to rows on the other side",
        parameters={
            "seconds_per_phase": seconds,
            "drain_cap_s": DRAIN_S[mode],
            "rows_per_transaction": ROWS_PER_TXN,
            "pipeline_processes": list(COMMANDS[pipeline.layout]),
        },
        metrics=metrics,
        targets=THROUGHPUT_TARGETS,
        notes=[
            "events_per_s: rows written by the application and visible on the other side, over"
            " the time from the first COMMIT to the last row visible",
            "cpu_s: CPU seconds (user + system, /proc) of each pipeline process and of the"
            " benchmark process (writers, watchers), after the warm-up; per phase beside each"
            " direction's figures",
            "latency: the oldest waiting transactions' first rows are looked up by their unique"
            " email every 3 ms (200 at a time); rows are counted every 200 ms",
        ],
        servers=server_versions(stack),
    )


def run_latency(stack: dict[str, str], mode: str) -> Result:
    seconds = SECONDS[mode] / 2
    with running_pipeline(stack, LATENCY) as pipeline:
        both = pipeline.load(dict.fromkeys(Platform, 1000.0), seconds, rows_per_txn=10)
        metrics: dict[str, Any] = {DIRECTIONS[o]: both[o] for o in Platform}
        metrics["cpu_s"] = pipeline.cpu_s()
        metrics["failures"] = pipeline.failures
    return Result(
        name=LATENCY,
        title="Latency at 1,000 changes/s per direction, both at once",
        parameters={
            "seconds": seconds,
            "rows_per_s": 1000,
            "rows_per_transaction": 10,
            "pipeline_processes": list(COMMANDS[pipeline.layout]),
        },
        metrics=metrics,
        targets=LATENCY_TARGETS,
        notes=[
            "latency_ms: source COMMIT to the row visible on the other side",
            "cpu_s: CPU seconds (user + system, /proc) of each process after the warm-up",
        ],
        servers=server_versions(stack),
    )


class running_pipeline:
    """The pipeline as deployed: `tandem run` (or capture and consumers split, with
    BENCH_PIPELINE=split) in its own processes, started with an env file of the stack and
    this benchmark's topics, slot and state; the application and the watchers stay here."""

    def __init__(self, stack: dict[str, str], name: str) -> None:
        self.stack, self.name = stack, name
        self.layout = os.environ.get("BENCH_PIPELINE", "run")
        if self.layout not in COMMANDS:
            raise ValueError(f"BENCH_PIPELINE={self.layout!r}: one of {', '.join(COMMANDS)}")
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.failures: list[str] = []
        self.cpu_at_start: dict[str, float] = {}
        self.cpu_at_end: dict[str, float] = {}

    def __enter__(self) -> running_pipeline:
        empty_databases(self.stack)
        self.scope = bench_container(self.stack, self.name)  # topics; mapping; engines
        container = self.scope.__enter__()
        self.mapping: SchemaMapping = container.core.mapping()
        dbs = container.adapters
        self.engines = {Platform.LEGACY: dbs.legacy_engine(), Platform.REVAMP: dbs.revamp_engine()}
        self.directory = Path(self.stack["BENCH_STATE_DIR"]) / self.name
        self.directory.mkdir(parents=True, exist_ok=True)
        self.env_file = self._write_env_file()
        try:
            for part, args in COMMANDS[self.layout].items():
                self._start(part, [*args, "--env-file", str(self.env_file)])
            self._warm_up()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        self.cpu_at_start = self.cpu_now()
        return self

    def _write_env_file(self) -> Path:
        values = bench_settings(self.stack, self.name, self.directory / "state")
        path = self.directory / "sync.env"
        path.write_text("".join(f"{k}={v}\n" for k, v in values.items()))
        return path

    def _start(self, part: str, args: list[str]) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SYNC_")}
        env["PYTHONPATH"] = str(ROOT)
        with open(self.directory / f"{part}.log", "ab") as log:
            self.processes[part] = subprocess.Popen(args, cwd=ROOT, env=env, stdout=log, stderr=log)

    def _warm_up(self, timeout_s: float = 180.0) -> None:
        """A row each way, again until both arrive: the process has started its captures (a
        row committed before a capture starts is never seen) and its consumers joined."""
        deadline = time.monotonic() + timeout_s
        while True:
            for part, process in self.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(f"{part} exited ({process.returncode}): {self._log(part)}")
            arrived = self.load(dict.fromkeys(Platform, 10.0), 0.1, rows_per_txn=1, cap_s=3.0)
            if all(r["rows_arrived"] >= r["rows_written"] for r in arrived.values()):
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"the pipeline did not start in {timeout_s:.0f} s")

    def _log(self, part: str) -> str:
        return (self.directory / f"{part}.log").read_text(errors="replace")[-2000:]

    def pids(self) -> dict[str, int]:
        return {part: process.pid for part, process in self.processes.items()}

    def load(
        self,
        rates: dict[Platform, float | None],
        seconds: float,
        rows_per_txn: int = ROWS_PER_TXN,
        cap_s: float = 120.0,
    ) -> dict[Platform, dict[str, Any]]:
        """Write on each side of `rates` (rows/s; None: as fast as possible) for `seconds`;
        wait until the rows are on the other side; rate, latency and CPU per origin."""
        writers = {
            origin: Writer(self.engines[origin], origin, self.mapping, rate, rows_per_txn)
            for origin, rate in rates.items()
        }
        watchers = {
            origin: Watcher(self.engines[origin.other], origin.other, self.mapping, writer)
            for origin, writer in writers.items()
        }
        threads = [threading.Thread(target=w.run, args=(seconds,)) for w in writers.values()]
        watching = [threading.Thread(target=w.run, args=(cap_s,)) for w in watchers.values()]
        cpu_before = self.cpu_now()
        for thread in threads + watching:
            thread.start()
        for thread in threads + watching:
            thread.join()
        cpu = _minus(self.cpu_now(), cpu_before)
        results = {origin: watchers[origin].result() for origin in writers}
        for result in results.values():
            result["cpu_s"] = cpu  # of the phase, every process (origins share them)
        return results

    def cpu_now(self) -> dict[str, float]:
        """CPU seconds (user + system) of each pipeline process and of this benchmark process."""
        return {part: process_cpu_s(pid) for part, pid in self.pids().items()} | {
            "benchmark": sum(os.times()[:2])
        }

    def cpu_s(self) -> dict[str, float]:
        """CPU seconds of each process from the warm-up's end to now."""
        self.cpu_at_end = self.cpu_now()
        return _minus(self.cpu_at_end, self.cpu_at_start)

    def __exit__(self, *exc: object) -> None:
        for part, process in self.processes.items():
            if process.poll() is not None:
                self.failures.append(f"{part} exited ({process.returncode}): {self._log(part)}")
            else:
                process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
        _drop_slot(self.engines[Platform.LEGACY], f"bench_{self.name}")
        self.scope.__exit__(*exc)


COMMANDS: dict[str, dict[str, list[str]]] = {
    "run": {"tandem_run": [sys.executable, "-m", "entrypoints.cli", "run"]},
    "split": {
        "cdc": [sys.executable, "-m", "entrypoints.cdc"],
        "consumer_legacy_to_revamp": [
            sys.executable, "-m", "entrypoints.consumer", "--direction", "legacy-to-revamp"
        ],
        "consumer_revamp_to_legacy": [
            sys.executable, "-m", "entrypoints.consumer", "--direction", "revamp-to-legacy"
        ],
    },
}  # fmt: skip
ROOT = Path(__file__).resolve().parents[1]
TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process from /proc (its threads included)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime: fields 14, 15


def _minus(after: dict[str, float], before: dict[str, float]) -> dict[str, float]:
    return {k: round(v - before.get(k, 0.0), 2) for k, v in after.items()}


def _drop_slot(engine: Engine, slot: str) -> None:
    """The benchmark's replication slot, else the server keeps WAL for it."""
    with contextlib.suppress(Exception):
        pgslot.drop_slot_at(engine.url, slot)


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
    """The other side, lightly: each transaction's first row looked up by its unique email
    (the oldest `FIRST_ROWS_AT_ONCE` waiting, every `FIRST_ROW_POLL_S`), and the rows of this
    load counted every `COUNT_POLL_S` over the ids above those there before (a primary key
    range, not a scan of the table)."""

    def __init__(
        self, engine: Engine, platform: Platform, mapping: SchemaMapping, writer: Writer
    ) -> None:
        self.engine, self.platform, self.writer = engine, platform, writer
        self.table = _users(mapping, platform)
        self.seen: dict[str, float] = {}
        self.last_seen = 0.0
        self.arrived = 0

    def run(self, cap_s: float) -> None:
        email, key = self.table.c[EMAIL[self.platform]], self.table.c[ID]
        with self.engine.connect() as conn:
            floor = int(conn.execute(select(func.coalesce(func.max(key), 0))).scalar_one())
            conn.rollback()
            count = select(func.count()).where(key > floor, email.like(f"{self.writer.tag}\\_%"))
            deadline, next_count, unseen = None, 0.0, 0
            while True:
                now = time.monotonic()
                commits = self.writer.commits
                while unseen < len(commits) and commits[unseen][1] in self.seen:
                    unseen += 1
                waiting = [e for _, e in commits[unseen:] if e not in self.seen]
                if waiting:
                    query = select(email).where(email.in_(waiting[:FIRST_ROWS_AT_ONCE]))
                    for found in conn.execute(query).scalars():
                        self.seen[found] = now
                    conn.rollback()  # a fresh snapshot each round
                if now >= next_count or (self.writer.done.is_set() and not waiting):
                    arrived = int(conn.execute(count).scalar_one())
                    conn.rollback()
                    next_count = now + COUNT_POLL_S
                    if arrived > self.arrived:
                        self.arrived, self.last_seen = arrived, now
                if self.writer.done.is_set():
                    deadline = deadline or now + cap_s
                    if self.arrived >= self.writer.rows or now > deadline:
                        return
                time.sleep(FIRST_ROW_POLL_S)

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


FIRST_ROW_POLL_S = 0.003
FIRST_ROWS_AT_ONCE = 200
COUNT_POLL_S = 0.2
ID = "id"


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
