"""`python -m entrypoints.cdc`: change capture publishing Debezium-format events, built-in or
the real Debezium engine (SYNC_CAPTURE)."""

from __future__ import annotations

from typing import Annotated

import typer

from entrypoints.signals import stop_on_signals
from entrypoints.startup import EnvFile, load_settings, reported_errors

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
    stop = stop_on_signals()
    from entrypoints.logging_setup import configure_logging
    from entrypoints.runtime import long_running, refuse_unrunnable

    if database not in ("legacy", "revamp", "both"):
        typer.echo(f"--database: {database!r} is not one of legacy, revamp, both", err=True)
        raise typer.Exit(2)
    settings = load_settings(env_file, SYNC_CAPTURE=capture)
    configure_logging(settings.log_format, settings.log_level)
    with long_running(settings, stop, owner="python -m entrypoints.cdc") as runtime:
        with reported_errors():
            which = ("legacy", "revamp") if database == "both" else (database,)
            runners = runtime.container.services.capture_runners(which=which)
            refuse_unrunnable(runners)
            if once:
                for runner in runners.values():
                    with runner:
                        runner.run_once()
                raise typer.Exit(0)
        for name, runner in runners.items():
            runtime.add_capture(name, runner)
        runtime.run(seconds)


if __name__ == "__main__":
    app()
