"""In-memory pipeline: generated application writes on both sides through both directions.

Two passes over the same seeded traffic: one timed (events/s through the SyncService, per
window of writes, so that a slowdown as the data grows shows), one under tracemalloc (peak
memory; tracing slows Python several times, so its numbers are not timed). Each pass stops at
its time cap; the result then says how many writes it reached.
"""

from __future__ import annotations

import time
import tracemalloc
from typing import Any

from adapters.clock import SystemClock
from adapters.mapping_file import load_mapping
from application.reconcile import Reconciler
from benchmarks.report import Result, Target
from demo.in_memory import in_memory_pipeline
from demo.traffic import TrafficGenerator

NAME = "memory_pipeline"
WRITES = {"full": 20_000, "quick": 2_000}
CAP_S = {"full": 100.0, "quick": 20.0}  # the timed pass
TRACED_CAP_S = {"full": 45.0, "quick": 15.0}  # the tracemalloc pass
WRITES_PER_TICK = 50  # application writes between two steps of each consumer loop
WINDOWS = 10


def targets(writes: int) -> list[Target]:
    return [
        Target("timed.sync_events_per_s", ">=", 2000, "events/s", "events/s through SyncService"),
        Target("timed.writes", ">=", writes, "writes", "writes done within the time cap"),
        Target("traced.peak_kib_per_write", "<=", 5, "KiB", "peak memory per write"),
        Target("timed.rows_differing", "==", 0, "rows", "rows differing after"),
    ]


def run(mode: str) -> Result:
    writes = WRITES[mode]
    timed = drive(writes, CAP_S[mode], traced=False)
    traced = drive(writes, TRACED_CAP_S[mode], traced=True)
    notes = []
    if timed["capped"]:
        notes.append(
            f"timed pass stopped at its {CAP_S[mode]:g} s cap after {timed['writes']:,} of "
            f"{writes:,} writes; see the per-window rates for the slowdown as data grows"
        )
    if traced["capped"]:
        notes.append(
            f"traced pass stopped at its {TRACED_CAP_S[mode]:g} s cap after "
            f"{traced['writes']:,} writes: peak memory is per write reached"
        )
    return Result(
        name=NAME,
        title="In-memory pipeline: throughput and peak memory",
        parameters={
            "writes_planned": writes,
            "writes_per_tick": WRITES_PER_TICK,
            "traffic_seed": 7,
            "timed_cap_s": CAP_S[mode],
            "traced_cap_s": TRACED_CAP_S[mode],
        },
        metrics={"timed": timed, "traced": traced},
        targets=targets(writes),
        notes=notes,
    )


def drive(writes: int, cap_s: float, traced: bool) -> dict[str, Any]:
    """Generate `writes` application writes (or until `cap_s`), sync them, compare sides."""
    mapping = load_mapping()
    if traced:
        tracemalloc.start()
    try:
        pipeline = in_memory_pipeline(mapping, SystemClock())
        traffic = TrafficGenerator([pipeline.legacy, pipeline.revamp], seed=7)
        window, windows = max(1, writes // WINDOWS), []
        marks = (0, 0.0)  # consumed events and sync seconds at the start of the window
        sync_s, capped = 0.0, False
        started = time.perf_counter()
        while traffic.writes < writes:
            for _ in range(WRITES_PER_TICK):
                if traffic.writes < writes:
                    traffic.step()
            began = time.perf_counter()
            for loop in pipeline.loops.values():
                loop.step()
            sync_s += time.perf_counter() - began
            if traffic.writes >= (len(windows) + 1) * window or traffic.writes >= writes:
                consumed = pipeline.stats.total("consumed")
                rate = (consumed - marks[0]) / max(sync_s - marks[1], 1e-9)
                windows.append({"writes": traffic.writes, "events_per_s": round(rate)})
                marks = (consumed, sync_s)
            if time.perf_counter() - started > cap_s:
                capped = True
                break
        began = time.perf_counter()
        pipeline.drain()
        sync_s += time.perf_counter() - began
        wall_s = time.perf_counter() - started
        current, peak = tracemalloc.get_traced_memory() if traced else (0, 0)
    finally:
        if traced:
            tracemalloc.stop()
    events = pipeline.stats.total("consumed")
    result: dict[str, Any] = {"writes": traffic.writes, "capped": capped, "events": events}
    if traced:
        result |= {
            "peak_mib": round(peak / 2**20, 1),
            "retained_mib": round(current / 2**20, 1),
            "peak_kib_per_write": round(peak / 1024 / max(traffic.writes, 1), 2),
        }
    else:
        result |= {
            "wall_s": round(wall_s, 1),
            "sync_s": round(sync_s, 1),
            "sync_events_per_s": round(events / sync_s),
            "app_writes_per_s": round(traffic.writes / wall_s),
            "windows": windows,
        }
    report = Reconciler(mapping, pipeline.legacy, pipeline.revamp).run()
    result |= {
        "dead_letters": pipeline.stats.total("dead_lettered"),
        "rows_compared": report.compared,
        "rows_differing": len(report.differences),
    }
    return result
