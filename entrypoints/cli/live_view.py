"""The live views: of `tandem run` (rates, lag, DLQ, parts) and of the in-memory demo."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from rich.console import Console, Group
from rich.live import Live
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


class RunView:
    """`tandem run --live`: per direction the rate, seconds behind source, DLQ depth, waiting
    children and last error; the parts' states in a table of their own. On a terminal it
    redraws in place; into a pipe or file it writes one line every `every_s` seconds."""

    def __init__(self, runtime: Any, dlq_depth: Callable[[], int | None], every_s: float = 5.0):
        self.runtime, self.dlq_depth, self.every_s = runtime, dlq_depth, every_s
        self.console = Console()
        self.live = (
            Live(console=self.console, refresh_per_second=2) if self.console.is_terminal else None
        )
        self.previous: tuple[float, dict[str, int]] = (time.monotonic(), {})
        self.rates: dict[str, float] = {}
        self.last_line = 0.0
        self.depth: tuple[float, int | None] = (0.0, None)

    def start(self) -> None:
        if self.live is not None:
            self.live.start()

    def stop(self) -> None:
        if self.live is not None:
            self.live.stop()

    def tick(self) -> None:
        now = time.monotonic()
        self._measure(now)
        if self.live is not None:
            self.live.update(Group(self._directions(), self._parts()))
        elif now - self.last_line >= self.every_s:
            self.last_line = now
            self.console.print(self.line(), markup=False, highlight=False, soft_wrap=True)

    def line(self) -> str:
        behind = self.runtime.seconds_behind()
        directions = [
            f"{d}: {self.rates.get(d, 0.0):.0f}/s, {behind.get(d, 0.0):.1f} s behind, "
            f"waiting {waiting}"
            for d, waiting in self._waiting().items()
        ]
        failing = self.runtime.readiness()["failing"]
        parts = "all ready" if not failing else "; ".join(f"{n} {w}" for n, w in failing.items())
        depth = self._depth()
        return " | ".join([*directions, f"dlq {'?' if depth is None else depth}", parts])

    def _measure(self, now: float) -> None:
        at, counts = self.previous
        current = self.runtime.container.core.stats().snapshot()
        if now - at >= 1.0:
            for direction in DIRECTIONS:
                key = f"{direction}:{Outcome.APPLIED.value}"
                self.rates[direction] = (current.get(key, 0) - counts.get(key, 0)) / (now - at)
            self.previous = (now, current)

    def _waiting(self) -> dict[str, int]:
        return {loop.service.direction: len(loop.service.waiting) for loop in self.runtime.loops}

    def _depth(self) -> int | None:
        read_at, depth = self.depth
        if time.monotonic() - read_at > 30 or read_at == 0.0:
            try:
                depth = self.dlq_depth()
            except Exception:  # the view must keep drawing with the broker gone
                depth = None
            self.depth = (time.monotonic(), depth)
        return depth

    def _directions(self) -> Table:
        stats = self.runtime.container.core.stats().snapshot()
        behind = self.runtime.seconds_behind()
        errors = {loop.service.direction: loop.last_error for loop in self.runtime.loops}
        depth = self._depth()
        table = Table(title=f"tandem run · dlq depth {'?' if depth is None else depth}")
        for column in ("direction", "applied/s", "behind (s)", "applied", "dead-lettered",
                       "waiting", "last error"):  # fmt: skip
            table.add_column(column, overflow="fold")
        for direction, waiting in self._waiting().items():
            table.add_row(
                direction,
                f"{self.rates.get(direction, 0.0):.0f}",
                f"{behind.get(direction, 0.0):.1f}",
                str(stats.get(f"{direction}:{Outcome.APPLIED.value}", 0)),
                str(stats.get(f"{direction}:{Outcome.DEAD_LETTERED.value}", 0)),
                str(waiting),
                errors.get(direction) or "",
            )
        return table

    def _parts(self) -> Table:
        states = self.runtime.supervisor.states if self.runtime.supervisor else {}
        table = Table(title="parts")
        for column in ("part", "state", "restarts", "last error"):
            table.add_column(column, overflow="fold")
        for name, part in self.runtime.readiness()["parts"].items():
            state = states.get(name)
            table.add_row(
                name,
                "ready" if part["ready"] else part["state"],
                str(state.restarts if state else 0),
                part["last_error"],
            )
        return table
