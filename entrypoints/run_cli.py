"""`tandem run`: capture for both databases and both consumer directions, supervised."""

from __future__ import annotations

import threading
from typing import Annotated

import typer

from entrypoints.common import EnvFile, load_settings


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
        from adapters.state_lock import StateLock
        from domain.events import Platform
        from entrypoints.broker_loss import BrokerLossRepair
        from entrypoints.capture_wiring import capture_runners, refuse_unrunnable
        from entrypoints.common import reported_errors, state_dir
        from entrypoints.consumer import install_stop_handlers
        from entrypoints.container import build_container
        from entrypoints.logging_setup import configure_logging
        from entrypoints.runtime import ServiceRuntime, build_loop, first_mapping_problem

        settings = load_settings(env_file, SYNC_CAPTURE=capture)
        capturing = not no_capture
        configure_logging(settings.log_format, "WARNING" if live else settings.log_level)
        stop = threading.Event()
        install_stop_handlers(stop)
        lock = StateLock(settings.state_dir, "tandem run")
        with reported_errors():
            state_dir(settings)
            if capturing:  # the capture positions have one owner; consumers may be many
                lock.acquire()
        container = build_container(settings)
        container.init_resources()
        runtime = ServiceRuntime(settings, container, stop)
        try:
            with reported_errors():
                problem = first_mapping_problem(container, capture=capturing)
            if problem is not None:
                typer.echo(f"mapping check: {problem}", err=True)
                raise typer.Exit(2)
            with reported_errors():
                repair = BrokerLossRepair(
                    container, lambda: all(loop.caught_up for loop in runtime.loops)
                )
                runners = (
                    capture_runners(container, on_topics_lost=repair.topics_lost)
                    if capturing
                    else {}
                )
                refuse_unrunnable(runners)
                for name, runner in runners.items():
                    runtime.add_capture(name, runner)
                for origin in Platform:
                    runtime.add_loop(build_loop(container, origin))
                if capturing:
                    runtime.add_part("repair-after-broker-loss", repair.run)
                if traffic:
                    _add_traffic(runtime, container)
                runtime.serve()
            runtime.start()
            runtime.wait(seconds, _live_view(runtime, container) if live else None)
        finally:
            runtime.shutdown()
            lock.release()


def _add_traffic(runtime, container):  # type: ignore[no-untyped-def]
    from application.traffic import TrafficGenerator

    dbs = container.databases
    generator = TrafficGenerator([dbs.legacy_app(), dbs.revamp_app()])

    def generate(stop_event: threading.Event) -> None:
        while not stop_event.is_set():
            generator.step()
            stop_event.wait(0.05)

    runtime.add_part("traffic", generate)
    return generator


def _live_view(runtime, container):  # type: ignore[no-untyped-def]
    from entrypoints.live_view import RunView

    queue = container.messaging.dead_letters()
    view = RunView(runtime, lambda: len(queue.letters()))
    view.start()
    runtime.closers.insert(0, view.stop)
    return view.tick
