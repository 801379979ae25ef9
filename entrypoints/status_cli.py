"""`tandem status`: lag per direction and partition, DLQ depth, last applied change, health."""

from __future__ import annotations

import json
import urllib.error
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
    report["service"] = service_readiness(settings.http_port)
    report["reasons"] = unhealthy_reasons(report)
    report["healthy"] = not report["reasons"]
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
            service = report["service"]
            if service is None:
                console.print("service: not asked (SYNC_HTTP_PORT=0)")
            else:
                state = "ready" if service.get("ready") else "NOT READY"
                console.print(f"service: {state}", markup=False)
            for reason in report["reasons"]:
                console.print(f"  {reason}", markup=False, soft_wrap=True)
            console.print(f"healthy: {report['healthy']}")
        raise typer.Exit(0 if report["healthy"] else EXIT_PROBLEM)
