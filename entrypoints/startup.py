"""What every command shares: the --env-file option, settings loading, exit codes."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer

from domain.errors import ConfigurationError, SyncError
from entrypoints.containers import Container, build_container
from entrypoints.logging_setup import configure_logging
from entrypoints.settings import Settings, gather

EnvFile = Annotated[Path | None, typer.Option("--env-file", help="KEY=VALUE settings file")]
AsJson = Annotated[bool, typer.Option("--json", help="machine-readable output")]

EXIT_OK, EXIT_PROBLEM, EXIT_USAGE = 0, 1, 2


def load_settings(env_file: Path | None, **overrides: str | None) -> Settings:
    """Flags (overrides) over environment over env file; exit 2 naming a bad setting."""
    try:
        raw = gather(env_file) | {k: v for k, v in overrides.items() if v is not None}
        return Settings.parse(raw).check()
    except ConfigurationError as error:
        typer.echo(f"configuration error: {one_line(error)}", err=True)
        raise typer.Exit(EXIT_USAGE) from error


def one_line(error: Exception) -> str:
    """The error's message on one line (drivers add hints on lines of their own)."""
    return " ".join(str(error).split())


@contextlib.contextmanager
def opened(env_file: Path | None, quiet: bool = True, **overrides: str) -> Iterator[Container]:
    """A container with its resources open; driver failures end the command with one line."""
    settings = load_settings(env_file, **overrides)
    configure_logging(settings.log_format, "WARNING" if quiet else settings.log_level)
    if quiet:  # the command reports a broker failure itself, in one line
        logging.getLogger("kafka").setLevel(logging.CRITICAL)
    container = build_container(settings)
    container.init_resources()
    try:
        with reported_errors():
            yield container
    finally:
        container.shutdown_resources()


@contextlib.contextmanager
def reported_errors() -> Iterator[None]:
    """A configuration error ends the command with exit 2, another sync error with exit 1,
    each as one line on stderr."""
    try:
        yield
    except ConfigurationError as error:
        typer.echo(f"configuration error: {one_line(error)}", err=True)
        raise typer.Exit(EXIT_USAGE) from error
    except SyncError as error:
        typer.echo(f"error: {one_line(error)}", err=True)
        raise typer.Exit(EXIT_PROBLEM) from error


def state_dir(settings: Settings) -> Path:
    """SYNC_STATE_DIR, created if absent; a ConfigurationError naming it when it cannot be."""
    try:
        settings.state_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ConfigurationError(
            f"SYNC_STATE_DIR: cannot create {settings.state_dir}: {error.strerror}"
        ) from error
    return settings.state_dir
