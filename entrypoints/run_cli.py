"""`tandem run`: capture for both databases and both consumer directions, supervised."""

from __future__ import annotations

import threading
import time
from typing import Annotated

import typer
from rich.console import Console
from rich.live import Live

from entrypoints.common import EnvFile, load_settings


def register_run(app: typer.Typer) -> None:
    @app.command()
    def run(
        env_file: EnvFile = None,
        traffic: Annotated[bool, typer.Option("--traffic", help="generate app writes")] = False,
        live: Annotated[bool, typer.Option("--live", help="show a live view")] = False,
        seconds: Annotated[float | None, typer.Option(help="stop after N seconds")] = None,
        capture: Annotated[bool, typer.Option(help="run the built-in capture")] = True,
    ) -> None:
        """The main job: capture and sync both ways until SIGTERM/SIGINT."""
        from application.supervisor import Supervisor
        from application.traffic import TrafficGenerator
        from domain.events import Platform
        from domain.retry import RetryPolicy
        from entrypoints.capture_wiring import capture_runners
        from entrypoints.consumer import install_stop_handlers
        from entrypoints.container import build_container
        from entrypoints.live_view import stats_table
        from entrypoints.logging_setup import configure_logging
        from entrypoints.runtime import build_loop, first_mapping_problem

        settings = load_settings(env_file)
        configure_logging(settings.log_format, "WARNING" if live else settings.log_level)
        stop = threading.Event()
        install_stop_handlers(stop)
        container = build_container(settings)
        container.init_resources()
        problem = first_mapping_problem(container, capture=capture)
        if problem is not None:
            container.shutdown_resources()
            typer.echo(f"mapping check: {problem}", err=True)
            raise typer.Exit(2)
        parts = {}
        runners = capture_runners(container) if capture else {}
        parts.update({name: runner.run for name, runner in runners.items()})
        loops = {origin: build_loop(container, origin) for origin in Platform}
        parts.update({loop.service.direction: loop.run for loop in loops.values()})
        generator = None
        if traffic:
            dbs = container.databases
            generator = TrafficGenerator([dbs.legacy_app(), dbs.revamp_app()])

            def generate(stop_event: threading.Event) -> None:
                while not stop_event.is_set():
                    generator.step()
                    stop_event.wait(0.05)

            parts["traffic"] = generate
        supervisor = Supervisor(parts, RetryPolicy(max_delay_s=30.0))
        server = _serve(settings.http_port, container, supervisor, loops, stop)
        supervisor.start(stop)
        deadline = None if seconds is None else time.monotonic() + seconds
        console = Console()
        view = Live(console=console, refresh_per_second=2) if live else None
        try:
            if view is not None:
                view.start()
            while not stop.is_set() and (deadline is None or time.monotonic() < deadline):
                stop.wait(0.5)
                if view is not None:
                    extra = {
                        name: ("up" if s.running else "DOWN") + f" ({s.restarts} restarts)"
                        for name, s in supervisor.states.items()
                    }
                    if generator is not None:
                        extra["app writes"] = str(generator.writes)
                    view.update(stats_table(container.core.stats(), "tandem run", extra))
        finally:
            stop.set()
            supervisor.join()
            if view is not None:
                view.stop()
            for loop in loops.values():
                loop.close()
            for runner in runners.values():
                runner.close()
            if server is not None:
                server.shutdown()
            container.shutdown_resources()


def _serve(port, container, supervisor, loops, stop):  # type: ignore[no-untyped-def]
    if not port:
        return None
    from adapters.http_status import serve

    def health() -> dict[str, object]:
        parts = {
            n: {"running": s.running, "restarts": s.restarts, "last_error": s.last_error}
            for n, s in supervisor.states.items()
        }
        return {
            "healthy": all(p["running"] for p in parts.values())
            and all(loop.failures == 0 for loop in loops.values())
            and not stop.is_set(),
            "parts": parts,
            "last_applied": container.core.stats().last_applied,
            "directions": {loop.service.direction: loop.last_error for loop in loops.values()},
        }

    return serve(
        port,
        container.core.stats(),
        health,
        lambda: {loop.service.direction: len(loop.service.waiting) for loop in loops.values()},
    )
