"""Capture latency: from an application INSERT's COMMIT until its event is on Kafka.

"On Kafka" is the moment the capture's flush that covered the event returned, that is, the
broker acknowledged it (acks=all). Inserts come at a steady pace while the built-in capture
runs in its own thread, as `tandem run` runs it.
"""

from __future__ import annotations

import time
from typing import Any

from benchmarks.live import Parts, TimedCapture, UserInserts, wait_until
from benchmarks.report import Result, Target, percentiles
from benchmarks.stack import bench_container, empty_databases, server_versions
from domain.events import Platform

NAME = "capture_latency"
SAMPLES = {"full": 200, "quick": 50}
PACE_S = 0.02  # between two inserts
DATABASES = {Platform.LEGACY: "postgresql", Platform.REVAMP: "mariadb"}
TARGETS = [
    Target(f"{db}.latency_ms.p50", "<=", 100, "ms", f"{db} p50") for db in DATABASES.values()
] + [Target(f"{db}.latency_ms.p95", "<=", 250, "ms", f"{db} p95") for db in DATABASES.values()]
TARGETS.append(Target("events_missing", "==", 0, "events", "events never published"))


def run(stack: dict[str, str], mode: str) -> Result:
    count = SAMPLES[mode]
    empty_databases(stack)
    metrics: dict[str, Any] = {}
    parts = Parts()
    with bench_container(stack, NAME) as container:
        mapping, dbs = container.core.mapping(), container.adapters
        owned = {Platform.LEGACY: dbs.legacy_engine(), Platform.REVAMP: dbs.revamp_engine()}
        capture = TimedCapture(container)
        try:
            capture.start(parts)
            missing = 0
            for platform in Platform:
                inserts = UserInserts(owned[platform], platform, mapping)
                try:
                    samples, lost = measure(inserts, capture, count)
                finally:
                    inserts.close()
                metrics[DATABASES[platform]] = {"latency_ms": percentiles(samples)}
                missing += lost
            metrics["events_missing"] = missing
        finally:
            parts.join()
            capture.close()
    return Result(
        name=NAME,
        title="Built-in capture: application COMMIT to event acknowledged by the broker",
        parameters={"inserts_per_database": count, "pace_ms": PACE_S * 1000},
        metrics=metrics,
        targets=TARGETS,
        notes=[f"a capture thread failed: {failure}" for failure in parts.failures],
        servers=server_versions(stack),
    )


def measure(inserts: UserInserts, capture: TimedCapture, count: int) -> tuple[list[float], int]:
    """Latencies (s) of `count` inserts after one warm-up; and how many never arrived."""
    platform = inserts.platform

    def acknowledged(row_id: int) -> float | None:
        return capture.acknowledged_at(platform, row_id)

    warm_id, _, _ = inserts.insert(f"capture_{platform.value}_warmup")
    wait_until(lambda: acknowledged(warm_id) is not None, 30.0)
    committed: dict[int, float] = {}
    for i in range(count):
        row_id, _, at = inserts.insert(f"capture_{platform.value}_{i}")
        committed[row_id] = at
        time.sleep(PACE_S)
    wait_until(lambda: all(acknowledged(i) is not None for i in committed), 30.0)
    samples = [
        at_broker - at
        for row_id, at in committed.items()
        if (at_broker := acknowledged(row_id)) is not None
    ]
    return samples, len(committed) - len(samples)
