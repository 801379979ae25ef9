"""The snapshot's progress on a terminal: one bar per table, rows done of total, rate, ETA."""

from __future__ import annotations

from types import TracebackType

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
)

from domain.events import Platform
from domain.mapping import SchemaMapping
from entrypoints.startup import EXIT_USAGE


class RichSnapshotProgress:
    """SnapshotProgress as rich bars; on a pipe, a line per table when it starts and ends."""

    def __init__(self, console: Console, origin: Platform) -> None:
        self.origin = origin
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeRemainingColumn(),
            console=console,
        )
        self.tasks: dict[str, TaskID] = {}

    def __enter__(self) -> RichSnapshotProgress:
        self.progress.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.progress.stop()

    def table_started(self, entity_type: str, total: int, resumed_after: int) -> None:
        resumed = f" (resumed after id {resumed_after})" if resumed_after else ""
        description = f"{self.origin.value} → {self.origin.other.value} {entity_type}{resumed}"
        self.tasks[entity_type] = self.progress.add_task(description, total=total, rate="")

    def rows_done(self, entity_type: str, count: int) -> None:
        task_id = self.tasks[entity_type]
        self.progress.advance(task_id, count)
        speed = self.progress.tasks[task_id].speed
        self.progress.update(task_id, rate=f"{speed:,.0f} rows/s" if speed else "")

    def counts(self) -> dict[str, dict[str, int]]:
        """entity type -> rows done and total, for the report /metrics shows."""
        found = {}
        for entity_type, task_id in self.tasks.items():
            task = self.progress.tasks[task_id]
            found[entity_type] = {"done": int(task.completed), "total": int(task.total or 0)}
        return found


def chosen_entities(mapping: SchemaMapping, names: list[str] | None) -> set[str] | None:
    """The entity types named by `--table` (entity type or table on either side); exit 2
    naming an unknown one."""
    if not names:
        return None
    known = {}
    for entity in mapping.entities:
        for alias in (entity.entity_type, *(entity.tables.on(p) for p in Platform)):
            known[alias] = entity.entity_type
    unknown = [name for name in names if name not in known]
    if unknown:
        typer.echo(f"--table: {', '.join(unknown)} not in the mapping", err=True)
        raise typer.Exit(EXIT_USAGE)
    return {known[name] for name in names}
