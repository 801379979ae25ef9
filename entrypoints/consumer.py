"""`python -m entrypoints.consumer`: the sync service, consuming change events from Kafka."""

from __future__ import annotations

import enum
import logging
import sys
import threading
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from domain.errors import ConfigurationError
from domain.events import Platform
from entrypoints.settings import Settings, gather, has_real_settings, in_memory_settings
from entrypoints.signals import stop_on_signals

app = typer.Typer(add_completion=False, help=__doc__)
log = logging.getLogger(__name__)


class Direction(enum.Enum):
    LEGACY_TO_REVAMP = Platform.LEGACY.direction
    REVAMP_TO_LEGACY = Platform.REVAMP.direction
    BOTH = "both"


ORIGINS = {Direction.BOTH: tuple(Platform)} | {
    Direction(origin.direction): (origin,) for origin in Platform
}


def fail_configuration(error: ConfigurationError) -> None:
    typer.echo(f"configuration error: {error}", err=True)
    raise typer.Exit(2)


@app.command()
def main(
    direction: Annotated[Direction, typer.Option(help="which way to sync")] = Direction.BOTH,
    in_memory: Annotated[bool, typer.Option("--in-memory", help="in-memory adapters")] = False,
    seconds: Annotated[float | None, typer.Option(help="stop after N seconds", min=0)] = None,
    once: Annotated[bool, typer.Option("--once", help="process what is there, exit")] = False,
    env_file: Annotated[Path | None, typer.Option(help="KEY=VALUE settings file")] = None,
) -> None:
    """Consume change events and apply them to the other database."""
    stop = stop_on_signals()
    try:
        raw = gather(env_file)
        if in_memory or not has_real_settings(env_file):
            if not in_memory:
                typer.echo(
                    "no SYNC_* settings and no --env-file: running in memory "
                    "(--in-memory) with generated traffic",
                    err=True,
                )
            from demo.in_memory import run_in_memory
            from entrypoints.logging_setup import configure_logging

            configure_logging("console", "WARNING")
            differing = run_in_memory(
                in_memory_settings(raw), stop, seconds, once, Console(), live=sys.stdout.isatty()
            )
            raise typer.Exit(0 if differing == 0 else 1)
        settings = Settings.parse(raw).check()
    except ConfigurationError as error:
        fail_configuration(error)
        return
    raise typer.Exit(run_consumers(settings, stop, direction, seconds=seconds, once=once))


def run_consumers(
    settings: Settings,
    stop: threading.Event,
    direction: Direction,
    *,
    seconds: float | None,
    once: bool,
) -> int:
    """The chosen directions until a signal or `seconds`; with `once`, until drained."""
    from entrypoints.logging_setup import configure_logging
    from entrypoints.runtime import first_mapping_problem, long_running
    from entrypoints.startup import reported_errors

    configure_logging(settings.log_format, settings.log_level)
    with long_running(settings, stop) as runtime:
        container = runtime.container
        with reported_errors():
            problem = first_mapping_problem(container, capture=False, stop=stop)
        if problem is not None:
            print(f"mapping check: {problem}", file=sys.stderr)
            return 2
        with reported_errors():
            # --once takes every partition itself: a group join could outlast the first polls
            for origin in ORIGINS[direction]:
                loop = container.services.consumer_loop(origin=origin, assign_all=once)
                runtime.add_loop(loop)
            if once:
                for loop in runtime.loops:
                    loop.drain()
                return 0
            runtime.serve()
        log.info("sync started", extra={"direction": direction.value})
        runtime.run(seconds)
        log.info("sync stopping", extra=container.core.stats().snapshot())
        return 0


if __name__ == "__main__":
    app()
