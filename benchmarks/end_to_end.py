"""End-to-end latency: an application INSERT on one side until its mapped row is on the other.

Capture of both databases and both consumer loops run in threads, as `tandem run` runs them
(the consumers join their groups); inserts come at a steady pace and the other database is
polled for the mapped rows.
"""

from __future__ import annotations

import time
from typing import Any

from application.reconcile import Reconciler
from benchmarks.live import Parts, TimedCapture, UserInserts, wait_until
from benchmarks.report import Result, Target, percentiles
from benchmarks.stack import bench_container, empty_databases, server_versions
from domain.events import Platform

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
    empty_databases(stack)
    metrics: dict[str, Any] = {}
    parts = Parts()
    with bench_container(stack, NAME) as container:
        mapping, dbs = container.core.mapping(), container.adapters
        owned = {Platform.LEGACY: dbs.legacy_engine(), Platform.REVAMP: dbs.revamp_engine()}
        capture, loops = TimedCapture(container), []
        try:
            capture.start(parts)
            for origin in Platform:
                loops.append(container.services.consumer_loop(origin=origin))
                parts.start(loops[-1].service.direction, loops[-1].run)
            sides = {p: UserInserts(owned[p], p, mapping) for p in Platform}
            missing = 0
            try:
                for origin in Platform:
                    split, lost = measure(sides[origin], sides[origin.other], count, capture)
                    metrics[DIRECTIONS[origin]] = {k: percentiles(v) for k, v in split.items()}
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
            capture.close()
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
        notes=[
            "capture_ms: COMMIT to the event acknowledged by the broker; deliver_apply_ms: from"
            " there until the mapped row is visible on the other side",
            *(f"a part failed: {failure}" for failure in parts.failures),
        ],
        servers=server_versions(stack),
    )


def measure(
    origin: UserInserts, target: UserInserts, count: int, capture: TimedCapture
) -> tuple[dict[str, list[float]], int]:
    """Latencies (s) of `count` inserts after one warm-up, whole and split at the broker's
    acknowledgement of the captured event; and how many rows never arrived."""
    side = origin.platform.value
    _, warm_email, _ = origin.insert(f"e2e_{side}_warmup")
    wait_until(lambda: bool(target.present([warm_email])), 60.0, POLL_S)
    committed: dict[str, tuple[int, float]] = {}
    seen: dict[str, float] = {}
    next_insert, deadline = time.monotonic(), None
    while len(seen) < count:
        if len(committed) < count and time.monotonic() >= next_insert:
            row_id, email, at = origin.insert(f"e2e_{side}_{len(committed)}")
            committed[email] = (row_id, at)
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
    split: dict[str, list[float]] = {"latency_ms": [], "capture_ms": [], "deliver_apply_ms": []}
    for email, (row_id, at) in committed.items():
        if email not in seen:
            continue
        split["latency_ms"].append(seen[email] - at)
        acknowledged = capture.acknowledged_at(origin.platform, row_id)
        if acknowledged is not None:
            split["capture_ms"].append(acknowledged - at)
            split["deliver_apply_ms"].append(seen[email] - acknowledged)
    return split, count - len(split["latency_ms"])
