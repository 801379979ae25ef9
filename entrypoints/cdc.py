"""`python -m entrypoints.cdc`: change capture publishing Debezium-format events, built-in or
the real Debezium engine (SYNC_CAPTURE)."""

from __future__ import annotations

import threading
from typing import Annotated

import typer

from entrypoints.common import EnvFile, load_settings, reported_errors, state_dir
from entrypoints.consumer import install_stop_handlers

app = typer.Typer(add_completion=False, help=__doc__)


@app.command()
def main(
    database: Annotated[str, typer.Option(help="legacy, revamp or both")] = "both",
    seconds: Annotated[float | None, typer.Option(help="stop after N seconds", min=0)] = None,
    once: Annotated[bool, typer.Option("--once", help="publish what is there, exit")] = False,
    capture: Annotated[
        str | None, typer.Option("--capture", help="builtin or debezium (default: SYNC_CAPTURE)")
    ] = None,
    env_file: EnvFile = None,
) -> None:
    """Capture committed changes and publish them to Kafka; SIGTERM stops cleanly."""
    from adapters.state_lock import StateLock
    from entrypoints.capture_wiring import capture_runners, refuse_unrunnable
    from entrypoints.container import build_container
    from entrypoints.logging_setup import configure_logging
    from entrypoints.runtime import ServiceRuntime

    if database not in ("legacy", "revamp", "both"):
        typer.echo(f"--database: {database!r} is not one of legacy, revamp, both", err=True)
        raise typer.Exit(2)
    settings = load_settings(env_file, SYNC_CAPTURE=capture)
    configure_logging(settings.log_format, settings.log_level)
    stop = threading.Event()
    install_stop_handlers(stop)
    container = build_container(settings)
    lock = StateLock(settings.state_dir, "python -m entrypoints.cdc")
    with reported_errors():
        state_dir(settings)
        lock.acquire()
        runners = capture_runners(
            container, ("legacy", "revamp") if database == "both" else (database,)
        )
        refuse_unrunnable(runners)
        if once:
            for runner in runners.values():
                with runner:
                    runner.run_once()
            raise typer.Exit(0)
    runtime = ServiceRuntime(settings, container, stop)
    for name, runner in runners.items():
        runtime.add_capture(name, runner)
    try:
        runtime.start()
        runtime.wait(seconds)
    finally:
        runtime.shutdown()
        lock.release()


if __name__ == "__main__":
    app()
