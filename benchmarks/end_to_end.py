"""End-to-end latency: an application INSERT on one side until its mapped row is on the other.

Capture of both databases and both consumer loops run in threads, as `tandem run` runs them
(the consumers join their groups); inserts come at a steady pace and the other database is
polled for the mapped rows.
"""

from __future__ import annotations

import time
from typing import Any

from application.reconcile import Reconciler
from benchmarks.live import Parts, UserInserts, wait_until
from benchmarks.report import Result, Target, percentiles
from benchmarks.stack import bench_container, dispose, engines_of, server_versions, truncate
from domain.events import Platform
from entrypoints.capture_wiring import capture_runners
from entrypoints.runtime import build_loop

NAME = "end_to_end"
ROWS = {"full": 200, "quick": 50}
PACE_S = 0.05  # between two inserts
POLL_S = 0.005  # how often the other database is asked
DIRECTIONS = {p: f"{p.value}_to_{p.other.value}" for p in Platform}
TARGETS = [Target(f"{d}.latency_ms.p50", "<=", 500, "ms", f"{d} p50") for d in DIRECTIONS.values()]
TARGETS += [
    Target(f"{d}.latency_ms.p95", "<=", 1000, "ms", f"{d} p95") for d in DIRECTIONS.values()
]
TARGETS += [
    Target("rows_missing", "==", 0, "rows", "rows never arrived"),
    Target("rows_differing", "==", 0, "rows", "rows differing after"),
]


def run(stack: dict[str, str], mode: str) -> Result:
    count = ROWS[mode]
    engines = engines_of(stack)
    try:
        truncate(engines)
    finally:
        dispose(engines)
    metrics: dict[str, Any] = {}
    parts = Parts()
    with bench_container(stack, NAME) as container:
        mapping, dbs = container.core.mapping(), container.databases
        owned = {Platform.LEGACY: dbs.legacy_engine(), Platform.REVAMP: dbs.revamp_engine()}
        runners = capture_runners(container)
        loops = []
        try:
            for name, runner in runners.items():
                runner.prepare()
                parts.start(name, runner.run)
            for origin in Platform:
                loops.append(build_loop(container, origin))
                parts.start(loops[-1].service.direction, loops[-1].run)
            sides = {p: UserInserts(owned[p], p, mapping) for p in Platform}
            missing = 0
            try:
                for origin in Platform:
                    samples, lost = measure(sides[origin], sides[origin.other], count)
                    metrics[DIRECTIONS[origin]] = {"latency_ms": percentiles(samples)}
                    missing += lost
            finally:
                for side in sides.values():
                    side.close()
            metrics["rows_missing"] = missing
            time.sleep(1.0)  # let the last bookkeeping settle before comparing
            report = Reconciler(mapping, dbs.legacy_rows(), dbs.revamp_rows()).run()
            metrics["rows_differing"] = len(report.differences)
        finally:
            parts.join()
            for loop in loops:
                loop.close()
            for name, runner in runners.items():
                if name == "capture-legacy":
                    runner.capture.drop_slot()
                runner.close()
    return Result(
        name=NAME,
        title="End to end: INSERT on one side until the mapped row is visible on the other",
        parameters={
            "rows_per_direction": count,
            "pace_ms": PACE_S * 1000,
            "visibility_poll_ms": POLL_S * 1000,
        },
        metrics=metrics,
        targets=TARGETS,
        notes=[f"a part failed: {failure}" for failure in parts.failures],
        servers=server_versions(stack),
    )


def measure(origin: UserInserts, target: UserInserts, count: int) -> tuple[list[float], int]:
    """Latencies (s) of `count` inserts after one warm-up; and how many never arrived."""
    side = origin.platform.value
    _, warm_email, _ = origin.insert(f"e2e_{side}_warmup")
    wait_until(lambda: bool(target.present([warm_email])), 60.0, POLL_S)
    committed: dict[str, float] = {}
    seen: dict[str, float] = {}
    next_insert = time.monotonic()
    deadline = None
    while len(seen) < count:
        now = time.monotonic()
        if len(committed) < count and now >= next_insert:
            _, email, at = origin.insert(f"e2e_{side}_{len(committed)}")
            committed[email] = at
            next_insert = at + PACE_S
            if len(committed) == count:
                deadline = at + 30.0
        pending = [email for email in committed if email not in seen]
        if pending:
            arrived = target.present(pending)
            now = time.monotonic()
            seen.update((email, now) for email in arrived)
        if deadline is not None and time.monotonic() > deadline:
            break
        time.sleep(POLL_S)
    samples = [seen[email] - at for email, at in committed.items() if email in seen]
    return samples, count - len(samples)
