"""Prometheus metrics of a running Tandem, named by prometheus-client's conventions.

Counters and histograms are fed as the sync works (`PrometheusSink`); gauges are read from the
running parts when Prometheus scrapes (`TandemCollector`). Results of the one-shot commands
(snapshot, reconcile) are read from the reports they leave in the state directory.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import attrs
from prometheus_client import CollectorRegistry, Histogram, Info
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from adapters.atomic_file import write_json_atomically
from application.stats import SyncStats

SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
MESSAGES = (1, 10, 50, 100, 250, 500, 1000, 2000, 5000)
DLQ_DEPTH_EVERY_S = 30.0  # reading the dead-letter topic is a whole-topic read


class PrometheusSink:
    """MetricsSink: each measurement into its histogram."""

    def __init__(self, registry: CollectorRegistry) -> None:
        def histogram(name: str, text: str, buckets: tuple[float, ...]) -> Histogram:
            return Histogram(name, text, ["direction"], registry=registry, buckets=buckets)

        self.histograms = {
            "apply_batch_seconds": histogram(
                "tandem_apply_batch_seconds", "Applying one batch to the target, commit included",
                SECONDS,
            ),
            "batch_messages": histogram(
                "tandem_batch_messages", "Messages in one applied batch", MESSAGES
            ),
            "source_to_target_seconds": histogram(
                "tandem_source_to_target_seconds",
                "From the commit on the source to the change applied on the other side",
                SECONDS,
            ),
        }  # fmt: skip

    def observe(self, name: str, labels: Mapping[str, str], value: float) -> None:
        found = self.histograms.get(name)
        if found is not None:
            found.labels(**labels).observe(value)


@attrs.frozen
class MetricSources:
    """Where the scrape-time gauges come from; each callable is cheap but the DLQ depth."""

    stats: SyncStats
    waiting: Callable[[], dict[str, int]] = dict
    seconds_behind: Callable[[], dict[str, float]] = dict
    restarts: Callable[[], dict[str, int]] = dict
    captured: Callable[[], dict[str, int]] = dict
    dlq_depth: Callable[[], int | None] = lambda: None
    reports_dir: Path | None = None


class TandemCollector(Collector):
    """The gauges and the per-table event counters, read at scrape time."""

    def __init__(self, sources: MetricSources) -> None:
        self.sources = sources
        self._depth: tuple[float, int | None] = (0.0, None)

    def collect(self) -> Iterator[Metric]:
        yield self._events()
        yield _gauge(
            "tandem_waiting_children", "Children waiting for their parent", "direction",
            self.sources.waiting(),
        )  # fmt: skip
        yield _gauge(
            "tandem_seconds_behind_source",
            "Now minus the source commit time of the last change applied; 0 when caught up",
            "direction",
            self.sources.seconds_behind(),
        )
        yield _counter(
            "tandem_part_restarts", "Restarts of a part after it died", "part",
            self.sources.restarts(),
        )  # fmt: skip
        yield _counter(
            "tandem_capture_published", "Change events published by the built-in capture",
            "capture", self.sources.captured(),
        )  # fmt: skip
        depth = self._dlq_depth()
        yield _gauge("tandem_dlq_depth", "Dead letters not resolved", None, {"": depth or 0})
        yield from self._reports()

    def _events(self) -> Metric:
        family = CounterMetricFamily(
            "tandem_events",
            "Change events by direction, table and outcome",
            labels=["direction", "table", "outcome"],
        )
        for (direction, table, outcome), count in sorted(self.sources.stats.tables().items()):
            family.add_metric([direction, table, outcome], count)
        return family

    def _dlq_depth(self) -> int | None:
        read_at, depth = self._depth
        if time.monotonic() - read_at > DLQ_DEPTH_EVERY_S or depth is None:
            try:
                depth = self.sources.dlq_depth()
            except Exception:  # a scrape must answer even with the broker gone
                depth = None
            self._depth = (time.monotonic(), depth)
        return depth

    def _reports(self) -> Iterator[Metric]:
        snapshot = read_report(self.sources.reports_dir, "snapshot")
        rows = GaugeMetricFamily(
            "tandem_snapshot_rows",
            "Rows of the last snapshot per direction and table: done and total",
            labels=["direction", "table", "state"],
        )
        for direction, tables in snapshot.get("tables", {}).items():
            for table, counts in tables.items():
                for state in ("done", "total"):
                    rows.add_metric([direction, table, state], counts.get(state, 0))
        yield rows
        reconcile = read_report(self.sources.reports_dir, "reconcile")
        drift = GaugeMetricFamily(
            "tandem_reconcile_drift_rows",
            "Rows that differ between both sides at the last reconcile, per entity",
            labels=["entity"],
        )
        for entity, count in reconcile.get("drift", {}).items():
            drift.add_metric([entity], count)
        yield drift


def metrics_registry(sources: MetricSources) -> tuple[CollectorRegistry, PrometheusSink]:
    """A registry with every Tandem metric and build info; the sink to hand to SyncStats."""
    registry = CollectorRegistry()
    sink = PrometheusSink(registry)
    registry.register(TandemCollector(sources))
    Info("tandem_build", "The running Tandem", registry=registry).info(
        {"version": tandem_version()}
    )
    return registry, sink


def tandem_version() -> str:
    try:
        return version("tandem-sync")
    except PackageNotFoundError:
        return "unknown"


def write_report(directory: Path, name: str, document: Mapping[str, Any]) -> None:
    """Leave a one-shot command's result for the running service's /metrics."""
    write_json_atomically(directory / f"{name}.json", dict(document))


def read_report(directory: Path | None, name: str) -> dict[str, Any]:
    if directory is None:
        return {}
    try:
        found = json.loads((directory / f"{name}.json").read_text())
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def _gauge(name: str, text: str, label: str | None, values: Mapping[str, float | int]) -> Metric:
    family = GaugeMetricFamily(name, text, labels=[label] if label else [])
    for key, value in values.items():
        family.add_metric([key] if label else [], value)
    return family


def _counter(name: str, text: str, label: str, values: Mapping[str, int]) -> Metric:
    family = CounterMetricFamily(name, text, labels=[label])
    for key, value in values.items():
        family.add_metric([key], value)
    return family
