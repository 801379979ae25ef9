"""`python -m entrypoints.consumer`: the sync service, consuming change events from Kafka."""

from __future__ import annotations

import enum
import faulthandler
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from domain.errors import ConfigurationError
from entrypoints.settings import Settings, gather, has_real_settings

app = typer.Typer(add_completion=False, help=__doc__)


class Direction(enum.Enum):
    LEGACY_TO_REVAMP = "legacy-to-revamp"
    REVAMP_TO_LEGACY = "revamp-to-legacy"
    BOTH = "both"


STOP_DEADLINE_S = 9.5


def install_stop_handlers(stop: threading.Event) -> None:
    """SIGINT and SIGTERM finish the batch in flight, commit, and exit 0; whatever the process
    is blocked on (a stopped broker or database, a connect), it is gone within 10 s: past the
    deadline it exits as a crash would, which commits nothing that was not applied."""

    def handler(signum: int, _frame: object) -> None:
        if not stop.is_set():
            stop.set()
            threading.Thread(target=_exit_after_deadline, name="stop-deadline", daemon=True).start()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, handler)
    faulthandler.register(signal.SIGUSR1, all_threads=True)  # where is it stuck? kill -USR1


def _exit_after_deadline() -> None:
    time.sleep(STOP_DEADLINE_S)
    sys.stderr.write("stop: still blocked after the deadline, exiting now\n")
    sys.stderr.flush()
    os._exit(0)


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
    stop = threading.Event()
    install_stop_handlers(stop)
    console = Console(stderr=False)
    try:
        raw = gather(env_file)
        if in_memory or not has_real_settings(env_file):
            if not in_memory:
                typer.echo(
                    "no SYNC_* settings and no --env-file: running in memory "
                    "(--in-memory) with generated traffic",
                    err=True,
                )
            from adapters.mapping_file import load_mapping
            from entrypoints.logging_setup import configure_logging
            from entrypoints.memory_run import run_in_memory

            configure_logging("console", "WARNING")
            settings_policy = Settings.parse(
                {
                    **raw,
                    "SYNC_LEGACY_DSN": "postgresql+psycopg://x/x",
                    "SYNC_REVAMP_DSN": "mysql+pymysql://x/x",
                }
            )
            differing = run_in_memory(
                load_mapping(raw.get("SYNC_MAPPING")),
                settings_policy.conflict_policy,
                seconds,
                once,
                stop,
                console,
                live=sys.stdout.isatty(),
            )
            raise typer.Exit(0 if differing == 0 else 1)
        settings = Settings.parse(raw).check()
    except ConfigurationError as error:
        fail_configuration(error)
        return
    from entrypoints.runtime import run_consumers

    code = run_consumers(settings, direction.value, seconds=seconds, once=once, stop=stop)
    raise typer.Exit(code)


if __name__ == "__main__":
    app()
