"""`tandem`: the operator's command line."""

from __future__ import annotations

import json
from collections import Counter
from typing import TYPE_CHECKING, Annotated, Any

import attrs
import typer
from rich.console import Console

from adapters.prometheus_metrics import write_report
from entrypoints.cli.dlq import dlq_app
from entrypoints.cli.mapping import mapping_app
from entrypoints.cli.run import register_run
from entrypoints.cli.stack import stack_app
from entrypoints.cli.status import register_status
from entrypoints.startup import EXIT_PROBLEM, AsJson, EnvFile, opened, state_dir

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
app.add_typer(stack_app, name="stack")
app.add_typer(dlq_app, name="dlq")
app.add_typer(mapping_app, name="mapping")
register_run(app)
register_status(app)
console = Console()


def _print_version(asked: bool) -> None:
    if asked:
        from importlib.metadata import version

        typer.echo(f"tandem {version('tandem-sync')}")
        raise typer.Exit(0)


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="print the version"),
    ] = False,
) -> None:
    """Two-way PostgreSQL <-> MySQL sync through change data capture and Kafka."""


if TYPE_CHECKING:
    from application.reconcile import ReconcileReport
    from application.repair import RepairReport


@app.command()
def migrate(env_file: EnvFile = None) -> None:
    """Create or upgrade schemas, triggers, bookkeeping, origin, publication and topics."""
    from adapters.kafka.admin import ensure_topics
    from adapters.sql.errors import translated
    from adapters.sql_migrations import apply_migrations, publish_tables
    from adapters.topics import all_change_topics

    with opened(env_file) as container:
        core, adapters = container.core, container.adapters
        settings = core.settings()
        state_dir(settings)
        for platform, engine in (
            ("legacy", adapters.legacy_engine()),
            ("revamp", adapters.revamp_engine()),
        ):
            with translated(f"{platform} migrations"):
                applied = apply_migrations(engine, platform)  # type: ignore[arg-type]
            console.print(f"{platform}: {', '.join(applied) if applied else 'up to date'}")
        mapped = [(e.schemas.legacy, e.tables.legacy) for e in core.mapping().entities]
        with translated("legacy publication"):
            added = publish_tables(adapters.legacy_engine(), mapped, "tandem_legacy")
        if added:
            console.print(f"publication tandem_legacy: added {len(added)} mapped tables")
        topics = all_change_topics(core.mapping(), core.prefixes())
        ensure_topics(
            adapters.kafka(), [*topics, settings.dlq_topic], partitions=settings.topic_partitions
        )
        console.print(f"topics: {len(topics) + 1} ready ({settings.topic_partitions} partitions)")
        _advise_capture(container)
        for name, runner in container.services.capture_runners().items():
            try:
                console.print(f"{name}: {runner.prepare()}")
            finally:
                runner.close()


def _advise_capture(container: Any) -> None:
    """Each mapped table's REPLICA IDENTITY and the binlog row settings, with what to change."""
    from adapters.sql.errors import translated
    from domain.capture_advice import capture_advice
    from domain.events import Platform

    catalogs = container.adapters.catalogs()
    with translated("capture settings"):
        legacy, revamp = (catalogs[p].read() for p in (Platform.LEGACY, Platform.REVAMP))
    for line in capture_advice(container.core.mapping(), legacy, revamp):
        console.print(f"warning: {line}", markup=False, highlight=False)


@app.command()
def snapshot(
    source: Annotated[str, typer.Option("--from", help="legacy, revamp or both")] = "both",
    tables: Annotated[
        list[str] | None,
        typer.Option("--table", help="only this entity or table (repeatable)"),
    ] = None,
    env_file: EnvFile = None,
) -> None:
    """Initial load of the rows that existed before sync started; resumable."""
    from domain.events import Platform
    from entrypoints.cli.snapshot_progress import RichSnapshotProgress, chosen_entities

    if source not in ("legacy", "revamp", "both"):
        typer.echo(f"--from: {source!r} is not one of legacy, revamp, both", err=True)
        raise typer.Exit(2)
    origins = list(Platform) if source == "both" else [Platform(source)]
    with opened(env_file) as container:
        settings = container.core.settings()
        only = chosen_entities(container.core.mapping(), tables)
        state_dir(settings)
        checkpoints = container.adapters.snapshot_checkpoints()
        failed: list[str] = []
        tables: dict[str, dict[str, dict[str, int]]] = {}
        for origin in origins:
            with RichSnapshotProgress(console, origin) as progress:
                snapshotter = container.services.snapshotter(origin=origin)
                report = snapshotter.run(progress, only)
            tables[origin.direction] = progress.counts()
            for entity_type, last_id in report.resumed.items():
                console.print(f"{origin.value}: {entity_type} resumed from id {last_id}")
            console.print(
                f"{origin.value}: copied {report.copied}, already in sync {report.in_sync}, "
                f"skipped {report.skipped}, failed {len(report.failed)}"
            )
            failed += report.failed
        _print_some(failed)
        write_report(settings.state_dir / "reports", "snapshot", {"tables": tables})
        if not failed:
            checkpoints.clear()
        raise typer.Exit(EXIT_PROBLEM if failed else 0)


SHOWN = 50


@app.command()
def reconcile(
    repair: Annotated[bool, typer.Option("--repair", help="make both sides equal")] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="with --repair: show the plan, write nothing")
    ] = False,
    as_json: AsJson = False,
    env_file: EnvFile = None,
) -> None:
    """Compare both databases through the mapping; exit 1 when they differ."""
    with opened(env_file) as container:
        core, services = container.core, container.services
        report = services.reconciler().run()
        repairs = None
        if repair and report.differences:
            repairer = services.repairer()
            if dry_run:
                repairs = repairer.plan(report.differences)
            else:
                repairs = repairer.repair(report.differences)
                report = services.reconciler().run()
        drift = Counter(d.entity_type for d in report.differences)
        write_report(
            core.settings().state_dir / "reports",
            "reconcile",
            {
                "compared": report.compared,
                "drift": {e.entity_type: drift[e.entity_type] for e in core.mapping().entities},
            },
        )
        differences = [attrs.asdict(d) for d in report.differences]
        actions = (
            []
            if repairs is None
            else [attrs.asdict(a) | {"side": a.side.value} for a in repairs.actions]
        )
        if as_json:
            document = {
                "compared": report.compared,
                "in_sync": report.in_sync,
                "dry_run": bool(repairs is not None and dry_run),
                "repaired": None if repairs is None or dry_run else repairs.repaired,
                "repairs": actions,
                "differences": differences,
            }
            typer.echo(json.dumps(document, default=str))
        else:
            _print_reconcile(report, repairs, dry_run)
    raise typer.Exit(0 if report.in_sync else EXIT_PROBLEM)


def _print_reconcile(report: ReconcileReport, repairs: RepairReport | None, dry_run: bool) -> None:
    if repairs is not None:
        verb = "would repair" if dry_run else "repaired"
        console.print(
            f"{verb}: {len(repairs.actions) if dry_run else repairs.repaired}, "
            f"failed: {0 if dry_run else len(repairs.failed)}"
        )
        _print_some([a.describe() for a in repairs.actions])
    state = "in sync" if report.in_sync else f"{len(report.differences)} differ"
    console.print(f"compared {report.compared} rows: {state}")
    _print_some(
        [
            f"{d.entity_type} legacy={d.legacy_id} revamp={d.revamp_id}: {d.problem}"
            for d in report.differences
        ]
    )


def _print_some(lines: list[str]) -> None:
    for line in lines[:SHOWN]:
        console.print(f"  {line}", markup=False, highlight=False)
    if len(lines) > SHOWN:
        console.print(f"  … and {len(lines) - SHOWN} more (--json lists every one)")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
