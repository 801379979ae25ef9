"""`tandem run`: capture for both databases and both consumer directions, supervised."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Annotated

import typer

from entrypoints.signals import stop_on_signals
from entrypoints.startup import EnvFile, load_settings


def register_run(app: typer.Typer) -> None:
    @app.command()
    def run(
        env_file: EnvFile = None,
        traffic: Annotated[bool, typer.Option("--traffic", help="generate app writes")] = False,
        live: Annotated[bool, typer.Option("--live", help="show a live view")] = False,
        seconds: Annotated[float | None, typer.Option(help="stop after N seconds")] = None,
        capture: Annotated[
            str | None,
            typer.Option("--capture", help="builtin or debezium (default: SYNC_CAPTURE)"),
        ] = None,
        no_capture: Annotated[
            bool, typer.Option("--no-capture", help="consume only: capture runs elsewhere")
        ] = False,
    ) -> None:
        """The main job: capture and sync both ways until SIGTERM/SIGINT."""
        stop = stop_on_signals()
        from domain.events import Platform
        from entrypoints.broker_loss import BrokerLossRepair
        from entrypoints.logging_setup import configure_logging
        from entrypoints.runtime import (
            first_mapping_problem,
            long_running,
            refuse_unrunnable,
        )
        from entrypoints.startup import reported_errors, state_dir

        settings = load_settings(env_file, SYNC_CAPTURE=capture)
        capturing = not no_capture
        configure_logging(settings.log_format, "WARNING" if live else settings.log_level)
        with reported_errors():
            state_dir(settings)
        owner = "tandem run" if capturing else None  # capture positions have one owner
        with long_running(settings, stop, owner=owner) as runtime:
            container = runtime.container
            with reported_errors():
                problem = first_mapping_problem(container, capture=capturing, stop=stop)
            if problem is not None:
                typer.echo(f"mapping check: {problem}", err=True)
                raise typer.Exit(2)
            with reported_errors():
                repair = BrokerLossRepair(
                    container, lambda: all(loop.caught_up for loop in runtime.loops)
                )
                runners = (
                    container.services.capture_runners(on_topics_lost=repair.topics_lost)
                    if capturing
                    else {}
                )
                refuse_unrunnable(runners)
                for name, runner in runners.items():
                    runtime.add_capture(name, runner)
                for origin in Platform:
                    runtime.add_loop(container.services.consumer_loop(origin=origin))
                if capturing:
                    runtime.add_part("repair-after-broker-loss", repair.run)
                if traffic:
                    runtime.add_part("traffic", _generate(container.services.traffic()))
                runtime.serve()
            runtime.run(seconds, _live_view(runtime) if live else None)


def _generate(generator) -> Callable[[threading.Event], None]:  # type: ignore[no-untyped-def]
    def generate(stop: threading.Event) -> None:
        while not stop.is_set():
            generator.step()
            stop.wait(0.05)

    return generate


def _live_view(runtime) -> Callable[[], None]:  # type: ignore[no-untyped-def]
    from entrypoints.cli.live_view import RunView

    queue = runtime.container.adapters.dead_letters()
    view = RunView(runtime, lambda: len(queue.letters()))
    view.start()
    runtime.closers.insert(0, view.stop)
    return view.tick
