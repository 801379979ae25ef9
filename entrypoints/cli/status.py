"""`tandem status`: lag per direction and partition, DLQ depth, last applied change, health."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from adapters.topics import change_topics, consumer_group
from domain.errors import BrokerUnavailableError
from domain.events import Platform
from entrypoints.startup import EXIT_PROBLEM, AsJson, EnvFile, opened

console = Console()


def service_readiness(port: int) -> dict[str, Any] | None:
    """The running service's /readyz body (200 or 503 alike); `running: False` when nothing
    answers on the port; None when SYNC_HTTP_PORT is 0 (no way to ask)."""
    if not port:
        return None
    url = f"http://127.0.0.1:{port}/readyz"
    try:
        with urllib.request.urlopen(url, timeout=3) as answer:
            body = answer.read()
    except urllib.error.HTTPError as refusal:  # 503: not ready, and the body says why
        body = refusal.read()
    except (OSError, ValueError) as error:
        return {"running": False, "ready": False, "failing": {"service": f"{url}: {error}"}}
    try:
        return {"running": True, **json.loads(body)}
    except ValueError:
        return {"running": True, "ready": False, "failing": {"service": f"{url}: not JSON"}}


def unhealthy_reasons(report: dict[str, Any]) -> list[str]:
    """Why the report is unhealthy, one line each (empty when healthy)."""
    reasons = [
        f"{name} database unreachable: {db.get('error')}"
        for name, db in report["databases"].items()
        if not db["reachable"]
    ]
    if not report["kafka"]["reachable"]:
        reasons.append(f"kafka unreachable: {report['kafka']['error']}")
    service = report.get("service")
    if service is not None and not service.get("ready"):
        if not service.get("running"):
            reasons.append(f"service not running ({service['failing']['service']})")
        else:
            failing = service.get("failing") or {"service": "not ready"}
            reasons += [f"{part} not ready: {why}" for part, why in failing.items()]
    return reasons


def collect(container: Any) -> dict[str, Any]:
    from adapters.kafka.admin import group_lag

    core, dbs = container.core, container.adapters
    settings = core.settings()
    report: dict[str, Any] = {"directions": {}, "lag": {}, "databases": {}, "warnings": []}
    for platform, store in (
        (Platform.LEGACY, dbs.legacy_store()),
        (Platform.REVAMP, dbs.revamp_store()),
    ):
        try:
            last = store.last_processed_at()
            report["databases"][platform.value] = {
                "reachable": True,
                "last_applied_at": None if last is None else last.isoformat(),
            }
        except Exception as error:
            report["databases"][platform.value] = {"reachable": False, "error": str(error)}
    report["capture"] = _capture_lag(container, report)
    report["kafka"], report["dlq_depth"] = {"reachable": True}, None
    try:  # one unreachable broker costs one bootstrap timeout, not one per question
        for origin, prefix in core.prefixes().items():
            lag = group_lag(
                container.adapters.kafka(),
                consumer_group(core.prefixes(), origin),
                change_topics(core.mapping(), origin, prefix),
            )
            direction = origin.direction
            report["directions"][direction] = {
                f"{t}[{p}]": {"committed": c, "end": e, "lag": e - c}
                for (t, p), (c, e) in lag.items()
            }
            report["lag"][direction] = _behind(container, lag)
        report["dlq_depth"] = len(container.adapters.dead_letters().letters())
    except BrokerUnavailableError as error:
        report["kafka"] = {"reachable": False, "error": str(error)}
    report["service"] = service_readiness(settings.http_port)
    last_applied = (report["service"] or {}).get("last_applied") or {}
    for direction, lag in report["lag"].items():
        lag["last_applied"] = last_applied.get(direction)
    report["reasons"] = unhealthy_reasons(report) + _stalled(report, settings.stall_s)
    report["healthy"] = not report["reasons"]
    return report


def _behind(container: Any, lag: dict[tuple[str, int], tuple[int, int]]) -> dict[str, Any]:
    """Seconds behind source: now minus the time of the oldest change not applied yet (0 when
    none waits), and the Kafka lag it stands for."""
    from adapters.kafka.offsets import timestamps_at

    waiting = {where: committed for where, (committed, end) in lag.items() if end > committed}
    oldest = min(timestamps_at(container.adapters.kafka(), waiting).values(), default=None)
    behind = 0.0 if oldest is None else max(0.0, time.time() - oldest / 1000)
    return {
        "seconds_behind_source": round(behind, 3),
        "oldest_unapplied_at": None if oldest is None else _iso_ms(oldest),
        "kafka_lag": sum(end - committed for committed, end in lag.values()),
    }


def _capture_lag(container: Any, report: dict[str, Any]) -> dict[str, Any]:
    """Slot bytes behind on PostgreSQL, binlog distance of the capture on MySQL; a
    warning for every inactive slot that keeps WAL."""
    from adapters.capture.lag import binlog_distance, debezium_binlog_distance, slot_lag

    dbs, settings = container.adapters, container.core.settings()
    capture: dict[str, Any] = {}
    if report["databases"]["legacy"]["reachable"]:
        slots = slot_lag(dbs.legacy_engine())
        capture["legacy"] = {"slots": slots}
        # the built-in capture streams its slot (active), but not while it reconnects: the
        # holder of the state lock is its reader either way
        owner = container.core.state_lock(owner="status").holder()
        for slot in slots:
            if slot["slot"] == settings.legacy_slot and owner is not None:
                slot["active"], slot["reader"] = True, owner
            if not slot["active"] and slot["retained_bytes"] > 0:
                report["warnings"].append(
                    f"replication slot {slot['slot']} is inactive and retains "
                    f"{_size(slot['retained_bytes'])} of WAL: run its capture, or drop it "
                    f"(SELECT pg_drop_replication_slot('{slot['slot']}'))"
                )
    if report["databases"]["revamp"]["reachable"]:
        if settings.capture == "debezium":
            from adapters.capture.debezium_engine.position import (
                load_binlog_position,
                position_file,
            )

            at = load_binlog_position(position_file(settings.state_dir))
            distance = debezium_binlog_distance(dbs.revamp_engine(), at)
        else:
            distance = binlog_distance(dbs.revamp_engine(), settings.binlog_checkpoint)
        capture["revamp"] = {"binlog": distance}
    return capture


def _stalled(report: dict[str, Any], stall_s: float) -> list[str]:
    return [
        f"{direction} is {lag['seconds_behind_source']:.0f} s behind source "
        f"(more than SYNC_STALL_SECONDS={stall_s:g})"
        for direction, lag in report["lag"].items()
        if lag["seconds_behind_source"] > stall_s
    ]


def _iso_ms(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat()


def _size(count: int) -> str:
    size = float(count)
    for unit in ("B", "kB", "MB"):
        if size < 1024:
            return f"{size:.0f} B" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"


def register_status(app: typer.Typer) -> None:
    @app.command()
    def status(
        as_json: AsJson = False,
        env_file: EnvFile = None,
    ) -> None:
        """Lag per direction and partition, DLQ depth, last applied change, health."""
        with opened(env_file) as container:
            report = collect(container)
        if as_json:
            typer.echo(json.dumps(report, default=str))
        else:
            _print_report(report)
        raise typer.Exit(0 if report["healthy"] else EXIT_PROBLEM)


def _print_report(report: dict[str, Any]) -> None:
    console.print(_behind_table(report))
    console.print(_partitions_table(report))
    for line in _capture_lines(report):
        console.print(line, markup=False)
    for name, db in report["databases"].items():
        console.print(
            f"{name}: {'reachable' if db['reachable'] else 'UNREACHABLE'}"
            f", last applied {db.get('last_applied_at') or 'never'}"
        )
    kafka = report["kafka"]
    where = "reachable" if kafka["reachable"] else f"UNREACHABLE: {kafka['error']}"
    console.print(f"kafka: {where}", markup=False, soft_wrap=True)
    depth = report["dlq_depth"]
    console.print(f"dlq depth: {'unknown' if depth is None else depth}")
    service = report["service"]
    if service is None:
        console.print("service: not asked (SYNC_HTTP_PORT=0)")
    else:
        console.print(f"service: {'ready' if service.get('ready') else 'NOT READY'}", markup=False)
    for warning in report["warnings"]:
        console.print(f"warning: {warning}", markup=False, soft_wrap=True)
    for reason in report["reasons"]:
        console.print(f"  {reason}", markup=False, soft_wrap=True)
    console.print(f"healthy: {report['healthy']}")


def _behind_table(report: dict[str, Any]) -> Table:
    table = Table(title="behind source")
    for column in ("direction", "seconds behind", "oldest unapplied", "kafka lag", "last applied"):
        table.add_column(column)
    for direction, lag in report["lag"].items():
        last = lag.get("last_applied") or {}
        applied = (
            f"{last['entity']} {last['operation']} {json.dumps(last['key'])} "
            f"at {last['applied_at']}"
            if last
            else "unknown (service not asked)"
        )
        table.add_row(
            direction,
            f"{lag['seconds_behind_source']:.1f}",
            lag["oldest_unapplied_at"] or "-",
            str(lag["kafka_lag"]),
            applied,
        )
    return table


def _partitions_table(report: dict[str, Any]) -> Table:
    table = Table(title="kafka lag per partition")
    for column in ("direction", "partition", "committed", "end", "lag"):
        table.add_column(column)
    for direction, found in report["directions"].items():
        for where, numbers in found.items():
            table.add_row(direction, where, *(str(numbers[k]) for k in ("committed", "end", "lag")))
    return table


def _capture_lines(report: dict[str, Any]) -> list[str]:
    lines = [
        f"legacy slot {slot['slot']}: {'active' if slot['active'] else 'inactive'}, "
        f"{_size(slot['behind_bytes'])} behind, {_size(slot['retained_bytes'])} of WAL kept"
        for slot in report["capture"].get("legacy", {}).get("slots", [])
    ]
    binlog = report["capture"].get("revamp", {}).get("binlog")
    if binlog is not None:
        distance = binlog["behind_bytes"]
        lines.append(
            f"revamp binlog: server at {binlog['server']}, capture at {binlog['checkpoint']}, "
            f"{'unknown' if distance is None else _size(distance)} behind"
        )
    return lines
