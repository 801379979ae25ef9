"""Capture latency: from an application INSERT's COMMIT until its event is on Kafka.

"On Kafka" is the moment the capture's flush that covered the event returned, that is, the
broker acknowledged it (acks=all). Inserts come at a steady pace while the built-in capture
runs in its own thread, as `tandem run` runs it.
"""

from __future__ import annotations

import time
from typing import Any

from benchmarks.live import Parts, UserInserts, wait_until
from benchmarks.probes import TimedPublisher
from benchmarks.report import Result, Target, percentiles
from benchmarks.stack import bench_container, dispose, engines_of, server_versions, truncate
from domain.events import Platform
from entrypoints.capture_wiring import capture_runners

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
    engines = engines_of(stack)
    try:
        truncate(engines)
    finally:
        dispose(engines)
    metrics: dict[str, Any] = {}
    parts = Parts()
    with bench_container(stack, NAME) as container:
        mapping, prefixes = container.core.mapping(), container.core.prefixes()
        dbs = container.databases
        owned = {Platform.LEGACY: dbs.legacy_engine(), Platform.REVAMP: dbs.revamp_engine()}
        runners = {
            Platform(name.removeprefix("capture-")): runner
            for name, runner in capture_runners(container).items()
        }
        publishers = {}
        try:
            for platform, runner in runners.items():
                publishers[platform] = runner.capture.publisher = TimedPublisher(
                    runner.capture.publisher
                )
                runner.prepare()
                parts.start(f"capture-{platform.value}", runner.run)
            missing = 0
            for platform in Platform:
                entity = mapping.entity("user")
                topic = (
                    f"{prefixes[platform]}.{entity.schemas.on(platform)}."
                    f"{entity.tables.on(platform)}"
                )
                samples, lost = measure(
                    UserInserts(owned[platform], platform, mapping),
                    publishers[platform],
                    topic,
                    count,
                )
                missing += lost
                metrics[DATABASES[platform]] = {"latency_ms": percentiles(samples)}
            metrics["events_missing"] = missing
        finally:
            parts.join()
            for platform, runner in runners.items():
                if platform is Platform.LEGACY:
                    runner.capture.drop_slot()
                runner.close()
    notes = [f"capture thread failed: {failure}" for failure in parts.failures]
    return Result(
        name=NAME,
        title="Built-in capture: application COMMIT to event acknowledged by the broker",
        parameters={"inserts_per_database": count, "pace_ms": PACE_S * 1000},
        metrics=metrics,
        targets=TARGETS,
        notes=notes,
        servers=server_versions(stack),
    )


def measure(
    inserts: UserInserts, publisher: TimedPublisher, topic: str, count: int
) -> tuple[list[float], int]:
    """Latencies (s) of `count` inserts after one warm-up; and how many never arrived."""
    side = inserts.platform.value
    try:
        warm_id, _, _ = inserts.insert(f"capture_{side}_warmup")
        wait_until(lambda: publisher.acknowledged_at(topic, warm_id) is not None, 30.0)
        committed: dict[int, float] = {}
        for i in range(count):
            row_id, _, at = inserts.insert(f"capture_{side}_{i}")
            committed[row_id] = at
            time.sleep(PACE_S)
        wait_until(
            lambda: all(publisher.acknowledged_at(topic, i) is not None for i in committed), 30.0
        )
    finally:
        inserts.close()
    samples = [
        acked - at
        for row_id, at in committed.items()
        if (acked := publisher.acknowledged_at(topic, row_id)) is not None
    ]
    return samples, len(committed) - len(samples)
