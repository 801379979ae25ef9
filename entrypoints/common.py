"""What every command shares: the --env-file option, settings loading, exit codes."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer

from domain.errors import ConfigurationError, SyncError
from entrypoints.container import Container, build_container
from entrypoints.logging_setup import configure_logging
from entrypoints.settings import Settings, gather

EnvFile = Annotated[Path | None, typer.Option("--env-file", help="KEY=VALUE settings file")]

EXIT_OK, EXIT_PROBLEM, EXIT_USAGE = 0, 1, 2


def load_settings(env_file: Path | None, **overrides: str) -> Settings:
    """Flags (overrides) over environment over env file; exit 2 naming a bad setting."""
    try:
        raw = gather(env_file) | {k: v for k, v in overrides.items() if v is not None}
        return Settings.parse(raw)
    except ConfigurationError as error:
        typer.echo(f"configuration error: {error}", err=True)
        raise typer.Exit(EXIT_USAGE) from error


@contextlib.contextmanager
def opened(env_file: Path | None, quiet: bool = True) -> Iterator[Container]:
    """A container with its resources open; driver failures end the command with one line."""
    settings = load_settings(env_file)
    configure_logging(settings.log_format, "WARNING" if quiet else settings.log_level)
    container = build_container(settings)
    container.init_resources()
    try:
        yield container
    except ConfigurationError as error:
        typer.echo(f"configuration error: {error}", err=True)
        raise typer.Exit(EXIT_USAGE) from error
    except SyncError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(EXIT_PROBLEM) from error
    finally:
        container.shutdown_resources()
