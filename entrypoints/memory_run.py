"""The whole pipeline on in-memory adapters with generated traffic on both sides."""

from __future__ import annotations

import threading
import time

from rich.console import Console
from rich.live import Live

from adapters.clock import SystemClock
from adapters.memory.pipeline import build_pipeline
from application.reconcile import Reconciler
from application.traffic import TrafficGenerator
from domain.mapping import SchemaMapping
from domain.rules import ConflictPolicy
from entrypoints.live_view import stats_table, summary_lines

WRITES_PER_TICK = 5


def run_in_memory(
    mapping: SchemaMapping,
    policy: ConflictPolicy,
    seconds: float | None,
    once: bool,
    stop: threading.Event,
    console: Console,
    live: bool,
) -> int:
    """Run until `seconds` pass, `stop` is set, or (with `once`) one round; returns differences."""
    pipeline = build_pipeline(mapping, SystemClock(), policy)
    traffic = TrafficGenerator([pipeline.legacy, pipeline.revamp])
    deadline = None if seconds is None else time.monotonic() + seconds
    view = (
        Live(
            stats_table(pipeline.stats, "tandem (in memory)"),
            console=console,
            refresh_per_second=4,
            transient=False,
        )
        if live
        else None
    )
    if view is not None:
        view.start()
    try:
        while not stop.is_set() and (deadline is None or time.monotonic() < deadline):
            for _ in range(WRITES_PER_TICK):
                traffic.step()
            for loop in pipeline.loops.values():
                loop.step()
            if view is not None:
                view.update(
                    stats_table(
                        pipeline.stats,
                        "tandem (in memory)",
                        {
                            "app writes": str(traffic.writes),
                            "dlq depth": str(len(pipeline.dead_letters.held)),
                        },
                    )
                )
            if once:
                break
            time.sleep(0.01)
        pipeline.drain()  # finish what is in flight, then commit: the graceful stop
    finally:
        if view is not None:
            view.stop()
    report = Reconciler(mapping, pipeline.legacy, pipeline.revamp).run()
    console.print(f"app writes: {traffic.writes}")
    for line in summary_lines(pipeline.stats, len(report.differences)):
        console.print(line)
    for difference in report.differences[:20]:
        console.print(f"  {difference}")
    return len(report.differences)
