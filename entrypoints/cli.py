"""`tandem`: the operator's command line."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress

from entrypoints.common import EXIT_PROBLEM, EnvFile, opened, state_dir
from entrypoints.dlq_cli import dlq_app
from entrypoints.mapping_cli import mapping_app
from entrypoints.run_cli import register_run
from entrypoints.stack_cli import stack_app
from entrypoints.status_cli import register_status

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
app.add_typer(stack_app, name="stack")
app.add_typer(dlq_app, name="dlq")
app.add_typer(mapping_app, name="mapping")
register_run(app)
register_status(app)
console = Console()


@app.command()
def migrate(env_file: EnvFile = None) -> None:
    """Create or upgrade schemas, triggers, bookkeeping, origin, publication and topics."""
    from adapters.kafka.admin import ensure_topics
    from adapters.sql.errors import translated
    from adapters.sql_migrations import apply_migrations, publish_tables
    from entrypoints.capture_wiring import capture_runners
    from entrypoints.runtime import change_topics

    with opened(env_file) as container:
        core, dbs = container.core, container.databases
        settings = core.settings()
        state_dir(settings)
        for platform, engine in (("legacy", dbs.legacy_engine()), ("revamp", dbs.revamp_engine())):
            with translated(f"{platform} migrations"):
                applied = apply_migrations(engine, platform)  # type: ignore[arg-type]
            console.print(f"{platform}: {', '.join(applied) if applied else 'up to date'}")
        mapped = [(e.schemas.legacy, e.tables.legacy) for e in core.mapping().entities]
        with translated("legacy publication"):
            added = publish_tables(dbs.legacy_engine(), mapped, "tandem_legacy")
        if added:
            console.print(f"publication tandem_legacy: added {len(added)} mapped tables")
        topics = [
            t
            for origin, prefix in core.prefixes().items()
            for t in change_topics(core.mapping(), origin, prefix)
        ]
        ensure_topics(
            container.messaging.kafka(),
            [*topics, settings.dlq_topic],
            partitions=settings.topic_partitions,
        )
        console.print(f"topics: {len(topics) + 1} ready ({settings.topic_partitions} partitions)")
        for name, runner in capture_runners(container).items():
            try:
                console.print(f"{name}: {runner.prepare()}")
            finally:
                runner.close()


@app.command()
def snapshot(
    source: Annotated[str, typer.Option("--from", help="legacy, revamp or both")] = "both",
    env_file: EnvFile = None,
) -> None:
    """Initial load of the rows that existed before sync started; resumable."""
    from adapters.checkpoint_file import JsonFileCheckpoints
    from application.snapshot import Snapshotter
    from domain.events import Platform

    if source not in ("legacy", "revamp", "both"):
        typer.echo(f"--from: {source!r} is not one of legacy, revamp, both", err=True)
        raise typer.Exit(2)
    origins = list(Platform) if source == "both" else [Platform(source)]
    with opened(env_file) as container:
        core, dbs = container.core, container.databases
        settings = core.settings()
        stores = {Platform.LEGACY: dbs.legacy_store(), Platform.REVAMP: dbs.revamp_store()}
        rows = {Platform.LEGACY: dbs.legacy_rows(), Platform.REVAMP: dbs.revamp_rows()}
        checkpoints = JsonFileCheckpoints(state_dir(settings) / "snapshot.json")
        failed = []
        with Progress(console=console) as progress:
            for origin in origins:
                task = progress.add_task(f"{origin.value} → {origin.other.value}", total=None)
                report = Snapshotter(
                    core.mapping(),
                    origin,
                    rows[origin],
                    stores[origin],
                    stores[origin.other],
                    settings.conflict_policy,
                    core.stats(),
                    checkpoints,
                ).run(lambda _entity, n, task=task: progress.advance(task, n))
                console.print(
                    f"{origin.value}: copied {report.copied}, "
                    f"skipped {report.skipped}, failed {len(report.failed)}"
                )
                failed += report.failed
        for line in failed[:20]:
            console.print(f"  {line}")
        if not failed:
            checkpoints.clear()
        raise typer.Exit(EXIT_PROBLEM if failed else 0)


@app.command()
def reconcile(
    repair: Annotated[bool, typer.Option("--repair", help="make both sides equal")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
    env_file: EnvFile = None,
) -> None:
    """Compare both databases through the mapping; exit 1 when they differ."""
    from application.reconcile import Reconciler
    from application.repair import Repairer
    from domain.events import Platform

    with opened(env_file) as container:
        core, dbs = container.core, container.databases
        rows = {Platform.LEGACY: dbs.legacy_rows(), Platform.REVAMP: dbs.revamp_rows()}
        report = Reconciler(core.mapping(), rows[Platform.LEGACY], rows[Platform.REVAMP]).run()
        repaired = None
        if repair and report.differences:
            stores = {Platform.LEGACY: dbs.legacy_store(), Platform.REVAMP: dbs.revamp_store()}
            repaired = Repairer(
                core.mapping(), stores, rows, core.settings().conflict_policy
            ).repair(report.differences)
            report = Reconciler(core.mapping(), rows[Platform.LEGACY], rows[Platform.REVAMP]).run()
        differences = [
            {
                "entity_type": d.entity_type,
                "legacy_id": d.legacy_id,
                "revamp_id": d.revamp_id,
                "problem": d.problem,
            }
            for d in report.differences
        ]
        if as_json:
            typer.echo(
                json.dumps(
                    {
                        "compared": report.compared,
                        "in_sync": report.in_sync,
                        "repaired": None if repaired is None else repaired.repaired,
                        "differences": differences,
                    }
                )
            )
        else:
            if repaired is not None:
                console.print(f"repaired: {repaired.repaired}, failed: {len(repaired.failed)}")
            console.print(
                f"compared {report.compared} rows: "
                f"{'in sync' if report.in_sync else f'{len(differences)} differ'}"
            )
            for d in differences[:50]:
                console.print(
                    f"  {d['entity_type']} legacy={d['legacy_id']} "
                    f"revamp={d['revamp_id']}: {d['problem']}"
                )
    raise typer.Exit(0 if report.in_sync else EXIT_PROBLEM)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
