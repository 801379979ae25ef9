"""`tandem status`: lag per direction and partition, DLQ depth, last applied change, health."""

from __future__ import annotations

import json
import urllib.request
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select, text

from domain.errors import BrokerUnavailableError
from domain.events import Platform
from entrypoints.common import EXIT_PROBLEM, EnvFile, opened

console = Console()


def _service_health(port: int) -> dict[str, Any] | None:
    if not port:
        return None
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer:
            return dict(json.loads(answer.read()))
    except (OSError, ValueError):
        return None


def collect(container: Any) -> dict[str, Any]:
    from adapters.kafka.admin import group_lag
    from entrypoints.runtime import change_topics, consumer_group

    core, dbs = container.core, container.databases
    settings = core.settings()
    report: dict[str, Any] = {"directions": {}, "databases": {}, "healthy": True}
    for platform, engine, store in (
        (Platform.LEGACY, dbs.legacy_engine(), dbs.legacy_store()),
        (Platform.REVAMP, dbs.revamp_engine(), dbs.revamp_store()),
    ):
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
                processed = store.tables.processed
                last = conn.execute(select(func.max(processed.c.processed_at))).scalar()
            report["databases"][platform.value] = {"reachable": True, "last_applied_at": last}
        except Exception as error:
            report["databases"][platform.value] = {"reachable": False, "error": str(error)}
            report["healthy"] = False
    report["kafka"], report["dlq_depth"] = {"reachable": True}, None
    try:  # one unreachable broker costs one bootstrap timeout, not one per question
        for origin, prefix in core.prefixes().items():
            lag = group_lag(
                container.messaging.kafka(),
                consumer_group(core.prefixes(), origin),
                change_topics(core.mapping(), origin, prefix),
            )
            report["directions"][f"{origin.value}-to-{origin.other.value}"] = {
                f"{t}[{p}]": {"committed": c, "end": e, "lag": e - c}
                for (t, p), (c, e) in lag.items()
            }
        report["dlq_depth"] = len(container.messaging.dead_letters().letters())
    except BrokerUnavailableError as error:
        report["kafka"] = {"reachable": False, "error": str(error)}
        report["healthy"] = False
    report["service"] = _service_health(settings.http_port)
    return report


def register_status(app: typer.Typer) -> None:
    @app.command()
    def status(
        as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
        env_file: EnvFile = None,
    ) -> None:
        """Lag per direction and partition, DLQ depth, last applied change, health."""
        with opened(env_file) as container:
            report = collect(container)
        if as_json:
            typer.echo(json.dumps(report, default=str))
        else:
            table = Table(title="lag")
            for column in ("direction", "partition", "committed", "end", "lag"):
                table.add_column(column)
            for direction, partitions in report["directions"].items():
                for where, numbers in partitions.items():
                    table.add_row(
                        direction, where, *(str(numbers[k]) for k in ("committed", "end", "lag"))
                    )
            console.print(table)
            for name, db in report["databases"].items():
                console.print(
                    f"{name}: {'reachable' if db['reachable'] else 'UNREACHABLE'}"
                    f", last applied {db.get('last_applied_at')}"
                )
            kafka = report["kafka"]
            where = "reachable" if kafka["reachable"] else f"UNREACHABLE: {kafka['error']}"
            console.print(f"kafka: {where}", markup=False, soft_wrap=True)
            depth = report["dlq_depth"]
            console.print(f"dlq depth: {'unknown' if depth is None else depth}")
            console.print(f"service: {report['service'] or 'not running (no health endpoint)'}")
            console.print(f"healthy: {report['healthy']}")
        raise typer.Exit(0 if report["healthy"] else EXIT_PROBLEM)
