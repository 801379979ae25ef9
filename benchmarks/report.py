"""Benchmark results: targets, machine facts, one JSON file each and a summary table."""

from __future__ import annotations

import json
import operator
import os
import platform
import statistics
import subprocess
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import attrs

ROOT = Path(__file__).resolve().parents[1]
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    "==": operator.eq,
}
_SHOWN = {">=": "≥", "<=": "≤", "==": "="}


@attrs.frozen
class Target:
    """A bound on one measured metric, named by its dotted path in the result's metrics."""

    metric: str
    op: str
    value: float
    unit: str
    label: str

    def check(self, metrics: Mapping[str, Any]) -> dict[str, Any]:
        measured = lookup(metrics, self.metric)
        met = measured is not None and _COMPARE[self.op](measured, self.value)
        return {
            "metric": self.metric,
            "label": self.label,
            "target": f"{self.op} {self.value:g}",
            "unit": self.unit,
            "measured": measured,
            "met": met,
        }


@attrs.define
class Result:
    """What one benchmark measured, with the targets it is held to."""

    name: str
    title: str
    parameters: dict[str, Any]
    metrics: dict[str, Any]
    targets: list[Target]
    notes: list[str] = attrs.field(factory=list)
    servers: dict[str, str] = attrs.field(factory=dict)

    def checks(self) -> list[dict[str, Any]]:
        return [target.check(self.metrics) for target in self.targets]

    @property
    def met(self) -> bool:
        return all(check["met"] for check in self.checks())

    def document(self, mode: str, elapsed_s: float) -> dict[str, Any]:
        """The JSON document, fields always in this order."""
        return {
            "benchmark": self.name,
            "title": self.title,
            "mode": mode,
            "met": self.met,
            "targets": self.checks(),
            "metrics": self.metrics,
            "parameters": self.parameters,
            "notes": self.notes,
            "elapsed_s": round(elapsed_s, 1),
            "machine": machine_facts() | ({"servers": self.servers} if self.servers else {}),
        }


def lookup(metrics: Mapping[str, Any], path: str) -> Any:
    value: Any = metrics
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def percentiles(values: Sequence[float], scale: float = 1000.0) -> dict[str, Any]:
    """count, p50, p95 and max of durations in seconds, shown in ms (`scale`), 0.1 precision."""
    if not values:
        return {"count": 0, "p50": None, "p95": None, "max": None}
    ordered = sorted(values)
    cuts = statistics.quantiles(ordered, n=100, method="inclusive") if len(ordered) > 1 else None
    p50, p95 = (cuts[49], cuts[94]) if cuts else (ordered[0], ordered[0])
    return {
        "count": len(ordered),
        "p50": round(p50 * scale, 1),
        "p95": round(p95 * scale, 1),
        "max": round(ordered[-1] * scale, 1),
    }


def machine_facts() -> dict[str, Any]:
    return {
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "system": f"{platform.system()} {platform.machine()}",
        "measured_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "git_commit": _git("rev-parse", "--short=12", "HEAD"),
        "git_dirty": bool(_git("status", "--porcelain", "--untracked-files=no")),
    }


def _git(*args: str) -> str:
    try:
        done = subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout.strip()


def write_result(directory: Path, document: dict[str, Any]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{document['benchmark']}.json"
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    return path


def write_summary(directory: Path, order: Iterable[str]) -> Path:
    """summary.md from every result file in `directory`, benchmarks in `order` first."""
    documents = {p.stem: json.loads(p.read_text()) for p in sorted(directory.glob("*.json"))}
    names = [n for n in order if n in documents] + [n for n in documents if n not in order]
    lines = [
        "# Tandem benchmarks",
        "",
        "Written by `make bench` (`python -m benchmarks.run`); the details of each benchmark",
        "are in its JSON file next to this one. Targets live in `benchmarks/`, not in the tests.",
        "",
        "| benchmark | metric | measured | target | met |",
        "|---|---|---|---|---|",
    ]
    for name in names:
        for check in documents[name]["targets"]:
            lines.append(
                f"| {name} | {check['label']} | {_number(check['measured'])} {check['unit']} "
                f"| {_target(check)} {check['unit']} | {'yes' if check['met'] else '**no**'} |"
            )
    lines += [
        "",
        "| benchmark | mode | elapsed | measured at | machine | commit |",
        "|---|---|---|---|---|---|",
    ]
    for name in names:
        doc, facts = documents[name], documents[name]["machine"]
        commit = facts["git_commit"] + (" (dirty)" if facts["git_dirty"] else "")
        lines.append(
            f"| {name} | {doc['mode']} | {doc['elapsed_s']} s | {facts['measured_at']} "
            f"| {facts['cpu_count']} CPUs, {facts['implementation']} {facts['python']}, "
            f"{facts['system']} | {commit} |"
        )
    notes = [(name, note) for name in names for note in documents[name]["notes"]]
    if notes:
        lines += ["", "## Notes", ""] + [f"- {name}: {note}" for name, note in notes]
    path = directory / "summary.md"
    path.write_text("\n".join(lines) + "\n")
    return path


def _target(check: Mapping[str, Any]) -> str:
    op, _, value = str(check["target"]).partition(" ")
    return f"{_SHOWN.get(op, op)} {_number(float(value))}"


def _number(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.2f}".rstrip("0")  # a ratio of 0.47 is not shown as a met 0.5
    return f"{int(value):,}"
