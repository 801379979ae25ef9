"""`tandem dlq`: inspect, re-drive and resolve dead letters."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from adapters.resolutions import resolution, shown
from domain.model import DeadLetter
from entrypoints.startup import EXIT_PROBLEM, EXIT_USAGE, EnvFile, opened

dlq_app = typer.Typer(no_args_is_help=True, help="Inspect, re-drive and resolve dead letters.")
console = Console()


def _find(letters: list[DeadLetter], letter_id: str) -> DeadLetter:
    for letter in letters:
        if letter.id == letter_id:
            return letter
    typer.echo(f"no unresolved dead letter with id {letter_id!r}", err=True)
    raise typer.Exit(EXIT_PROBLEM)


def _settled(letter: DeadLetter) -> str:
    done = letter.resolution
    if done is None:
        return ""
    because = f": {done.reason}" if done.reason else ""
    return f"{done.how} by {done.by} at {done.at}{because}"


@dlq_app.command("list")
def list_letters(
    all_letters: Annotated[
        bool, typer.Option("--all", help="resolved letters too, with who resolved them and how")
    ] = False,
    env_file: EnvFile = None,
) -> None:
    """One line per dead letter: id, topic, error (and resolution with --all)."""
    with opened(env_file) as container:
        letters = container.adapters.dead_letters().letters(include_resolved=all_letters)
    unresolved = sum(letter.resolution is None for letter in letters)
    title = f"{unresolved} dead letters" + (
        f", {len(letters) - unresolved} resolved" if all_letters else ""
    )
    table = Table(title=title)
    table.add_column("id", no_wrap=True)
    columns = ["topic", "partition", "offset", "retries", "failed_at", "error"]
    for column in [*columns, "resolution"] if all_letters else columns:
        table.add_column(column, overflow="fold")
    for letter in letters:
        cells = [
            letter.id,
            letter.topic,
            str(letter.partition),
            str(letter.offset),
            str(letter.retry_count),
            letter.failed_at,
            Text(f"{letter.error_type}: {letter.error_message}"),
        ]
        table.add_row(*cells, *([_settled(letter)] if all_letters else []))
    # into a pipe or a file: whole rows, one line each, rather than cut to 80 columns
    (console if console.is_terminal else Console(width=100_000)).print(table)


@dlq_app.command()
def show(letter_id: str, env_file: EnvFile = None) -> None:
    """The whole dead letter, as JSON (resolved ones too)."""
    with opened(env_file) as container:
        letter = _find(container.adapters.dead_letters().letters(include_resolved=True), letter_id)
    typer.echo(json.dumps(shown(letter), indent=2, default=str))


@dlq_app.command()
def replay(
    letter_id: Annotated[str | None, typer.Argument(help="one dead letter's id")] = None,
    all_letters: Annotated[bool, typer.Option("--all", help="every unresolved letter")] = False,
    env_file: EnvFile = None,
) -> None:
    """Put the original events back on their topics and resolve the letters as replayed:
    the consumers apply them again (a letter that fails again comes back as a new one)."""
    if (letter_id is None) == (not all_letters):
        typer.echo("replay: give one ID or --all", err=True)
        raise typer.Exit(EXIT_USAGE)
    with opened(env_file) as container:
        queue = container.adapters.dead_letters()
        letters = queue.letters()
        chosen = letters if all_letters else [_find(letters, str(letter_id))]
        for letter in chosen:
            queue.republish(letter)
        # only those replayed: a letter that came in meanwhile stays
        queue.resolve(chosen, resolution("replayed"))
    console.print(f"replayed {len(chosen)} dead letter(s)")


@dlq_app.command()
def ack(
    letter_id: Annotated[str, typer.Argument(help="one dead letter's id")],
    reason: Annotated[str, typer.Option("--reason", help="why it is skipped (kept on record)")],
    env_file: EnvFile = None,
) -> None:
    """Resolve one letter without applying it."""
    if not reason.strip():
        typer.echo("ack: --reason must say why the letter is skipped", err=True)
        raise typer.Exit(EXIT_USAGE)
    with opened(env_file) as container:
        queue = container.adapters.dead_letters()
        letter = _find(queue.letters(), letter_id)
        queue.resolve([letter], resolution("acked", reason.strip()))
    console.print(f"acknowledged {letter_id}: {reason.strip()}")


@dlq_app.command()
def purge(
    yes: Annotated[bool, typer.Option("--yes", help="do not ask for confirmation")] = False,
    env_file: EnvFile = None,
) -> None:
    """Resolve every unresolved dead letter as purged, without applying any."""
    with opened(env_file) as container:
        queue = container.adapters.dead_letters()
        letters = queue.letters()
        if letters and not yes:
            if not sys.stdin.isatty():
                typer.echo(f"purge: {len(letters)} letter(s) would go; pass --yes", err=True)
                raise typer.Exit(EXIT_USAGE)
            typer.confirm(f"Purge {len(letters)} dead letter(s) without applying them?", abort=True)
        count = queue.purge(letters)
    console.print(f"purged {count} dead letter(s)")
