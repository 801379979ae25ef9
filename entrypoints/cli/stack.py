"""`tandem stack up|down|status`: private servers on loopback and free ports, without Docker."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from adapters.redaction import redact
from devstack import StackError, down, status, up
from devstack.stack_env import read as read_env_file

stack_app = typer.Typer(
    name="stack",
    help="A private PostgreSQL, MariaDB and Kafka-protocol broker on 127.0.0.1, no Docker.",
    no_args_is_help=True,
    add_completion=False,
)

DirOption = Annotated[
    Path, typer.Option("--dir", help="Stack directory: state, logs, pid files and stack.env.")
]
EnvFileOption = Annotated[
    Path | None,
    typer.Option("--env-file", help="KEY=VALUE file; the environment takes precedence over it."),
]


def _fail(message: str) -> NoReturn:
    typer.echo(f"tandem stack: {' '.join(message.split())}", err=True)
    raise typer.Exit(2)


@stack_app.command("up")
def up_command(dir: DirOption = Path(".tandem"), env_file: EnvFileOption = None) -> None:
    """Start the stack (or reuse what runs), wait until it answers, write <dir>/stack.env."""
    try:
        environ = {**read_env_file(env_file), **os.environ} if env_file else None
        values = up(dir, environ=environ, echo=typer.echo)
    except StackError as exc:
        _fail(str(exc))
    typer.echo(f"wrote {Path(dir).resolve() / 'stack.env'}:")
    for key, value in values.items():
        typer.echo(f"  {key}={redact(value)}")


@stack_app.command("down")
def down_command(
    dir: DirOption = Path(".tandem"),
    purge: Annotated[
        bool, typer.Option("--purge", help="Also delete the databases, logs and stack.env.")
    ] = False,
) -> None:
    """Stop the servers this stack started (SIGTERM, then SIGKILL after 30 s)."""
    try:
        stopped = down(dir, purge=purge, echo=typer.echo)
    except StackError as exc:
        _fail(str(exc))
    if not stopped:
        typer.echo("nothing was running")


@stack_app.command("status")
def status_command(dir: DirOption = Path(".tandem")) -> None:
    """Show each part; exit 1 when one is down."""
    stack_dir = Path(dir).resolve()
    if not (stack_dir / "state.json").is_file():
        typer.echo(f"no stack in {stack_dir}: run `tandem stack up`")
        raise typer.Exit(1)
    try:
        rows = status(stack_dir)
    except StackError as exc:
        _fail(str(exc))
    table = Table(title=f"tandem stack ({stack_dir})")
    for column in ("part", "state", "address", "pid"):
        table.add_column(column)
    for row in rows:
        state = "[green]running[/green]" if row.running else "[red]down[/red]"
        table.add_row(row.part, state, row.address, str(row.pid or "-"))
    Console().print(table)
    if not all(row.running for row in rows):
        raise typer.Exit(1)
