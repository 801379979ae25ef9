"""Prometheus metrics: every family the Grafana dashboard queries is exported, with values."""

from __future__ import annotations

import json
import re
from pathlib import Path

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from adapters.prometheus_metrics import MetricSources, metrics_registry, write_report
from application.stats import Outcome, SyncStats

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "infra" / "grafana" / "dashboards" / "tandem.json"


def exported(tmp_path: Path) -> dict[str, list[tuple[dict[str, str], float]]]:
    stats = SyncStats()
    registry, stats.sink = metrics_registry(
        MetricSources(
            stats=stats,
            waiting=lambda: {"legacy-to-revamp": 2},
            seconds_behind=lambda: {"legacy-to-revamp": 1.5, "revamp-to-legacy": 0.0},
            restarts=lambda: {"legacy capture": 1},
            captured=lambda: {"legacy capture": 7},
            dlq_depth=lambda: 3,
            reports_dir=tmp_path,
        )
    )
    stats.record("legacy-to-revamp", Outcome.APPLIED, "legacy_users")
    stats.record("legacy-to-revamp", Outcome.APPLIED, "legacy_users")
    stats.record("legacy-to-revamp", Outcome.DEAD_LETTERED, "legacy_posts")
    stats.applied("legacy-to-revamp", commit_ts_ms=1_000_000, now_s=1_000.25)
    stats.observe("apply_batch_seconds", {"direction": "legacy-to-revamp"}, 0.04)
    stats.observe("batch_messages", {"direction": "legacy-to-revamp"}, 500)
    write_report(
        tmp_path, "snapshot", {"tables": {"legacy-to-revamp": {"user": {"done": 4, "total": 5}}}}
    )
    write_report(tmp_path, "reconcile", {"drift": {"user": 2, "post": 0}})
    samples: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(generate_latest(registry).decode()):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append((sample.labels, sample.value))
    return samples


def test_events_latencies_and_gauges_carry_their_values(tmp_path: Path) -> None:
    samples = exported(tmp_path)
    events = {(s["table"], s["outcome"]): v for s, v in samples["tandem_events_total"]}
    assert events == {("legacy_users", "applied"): 2, ("legacy_posts", "dead_lettered"): 1}
    [(labels, count)] = samples["tandem_source_to_target_seconds_count"]
    assert labels == {"direction": "legacy-to-revamp"} and count == 1
    [(_, latency)] = samples["tandem_source_to_target_seconds_sum"]
    assert latency == 0.25
    assert samples["tandem_dlq_depth"] == [({}, 3.0)]
    assert ({"direction": "legacy-to-revamp"}, 1.5) in samples["tandem_seconds_behind_source"]
    assert samples["tandem_part_restarts_total"] == [({"part": "legacy capture"}, 1.0)]
    assert samples["tandem_capture_published_total"] == [({"capture": "legacy capture"}, 7.0)]
    snapshot = {s["state"]: v for s, v in samples["tandem_snapshot_rows"]}
    assert snapshot == {"done": 4, "total": 5}
    assert ({"entity": "user"}, 2.0) in samples["tandem_reconcile_drift_rows"]
    [(build, one)] = samples["tandem_build_info"]
    assert one == 1 and build["version"]


def test_every_metric_the_dashboard_queries_is_exported(tmp_path: Path) -> None:
    names = set(exported(tmp_path))
    queries = [
        target["expr"]
        for panel in json.loads(DASHBOARD.read_text())["panels"]
        for target in panel["targets"]
    ]
    used = {m for q in queries for m in re.findall(r"\btandem_[a-z_]+", q)}
    assert used, "the dashboard queries nothing"
    assert used <= names, f"queried but not exported: {sorted(used - names)}"
