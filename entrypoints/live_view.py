"""The live view of a running sync: counts per direction, DLQ, waiting children."""

from __future__ import annotations

from rich.table import Table

from application.stats import Outcome, SyncStats

DIRECTIONS = ("legacy-to-revamp", "revamp-to-legacy")
COLUMNS = ("consumed", *(o.value for o in Outcome if o is not Outcome.WAITING), "retries")


def stats_table(stats: SyncStats, title: str, extra: dict[str, str] | None = None) -> Table:
    counts = stats.snapshot()
    table = Table(title=title)
    table.add_column("counter")
    for direction in DIRECTIONS:
        table.add_column(direction, justify="right")
    for column in COLUMNS:
        table.add_row(
            column.replace("_", " "), *(str(counts.get(f"{d}:{column}", 0)) for d in DIRECTIONS)
        )
    for label, value in (extra or {}).items():
        table.add_row(label, value, "")
    return table


def summary_lines(stats: SyncStats, differing_rows: int) -> list[str]:
    """The closing counts, one `name: value` per line."""
    names = ("consumed", "applied", "echoes_skipped", "duplicates_skipped", "stale_skipped")
    lines = [f"{name.replace('_', ' ')}: {stats.total(name)}" for name in names]
    lines += [
        f"conflicts: {stats.conflicts}",
        f"dead lettered: {stats.total(Outcome.DEAD_LETTERED.value)}",
        f"differing rows: {differing_rows}",
    ]
    return lines
