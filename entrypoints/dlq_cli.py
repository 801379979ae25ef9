"""`tandem dlq`: inspect and re-drive dead letters."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from domain.model import DeadLetter
from entrypoints.common import EXIT_PROBLEM, EnvFile, opened

dlq_app = typer.Typer(no_args_is_help=True, help="Inspect and re-drive dead letters.")
console = Console()


def _find(letters: list[DeadLetter], letter_id: str) -> DeadLetter:
    for letter in letters:
        if letter.id == letter_id:
            return letter
    typer.echo(f"no dead letter with id {letter_id!r}", err=True)
    raise typer.Exit(EXIT_PROBLEM)


@dlq_app.command("list")
def list_letters(env_file: EnvFile = None) -> None:
    """One line per dead letter: id, topic, error."""
    with opened(env_file) as container:
        letters = container.messaging.dead_letters().letters()
    table = Table(title=f"{len(letters)} dead letters")
    table.add_column("id", no_wrap=True)
    for column in ("topic", "partition", "offset", "retries", "failed_at", "error"):
        table.add_column(column, overflow="fold")
    for letter in letters:
        table.add_row(
            letter.id,
            letter.topic,
            str(letter.partition),
            str(letter.offset),
            str(letter.retry_count),
            letter.failed_at,
            Text(f"{letter.error_type}: {letter.error_message}"),
        )
    # into a pipe or a file: whole rows, one line each, rather than cut to 80 columns
    (console if console.is_terminal else Console(width=100_000)).print(table)


@dlq_app.command()
def show(letter_id: str, env_file: EnvFile = None) -> None:
    """The whole dead letter, as JSON."""
    with opened(env_file) as container:
        letter = _find(container.messaging.dead_letters().letters(), letter_id)
    typer.echo(
        json.dumps(
            {
                "id": letter.id,
                "original_event": letter.original_event,
                "topic": letter.topic,
                "partition": letter.partition,
                "offset": letter.offset,
                "error_type": letter.error_type,
                "error_message": letter.error_message,
                "stack_trace": letter.stack_trace,
                "retry_count": letter.retry_count,
                "failed_at": letter.failed_at,
            },
            indent=2,
            default=str,
        )
    )


@dlq_app.command()
def replay(
    letter_id: Annotated[str | None, typer.Argument(help="one dead letter's id")] = None,
    all_letters: Annotated[bool, typer.Option("--all", help="every dead letter")] = False,
    env_file: EnvFile = None,
) -> None:
    """Put the original events back on their topics; the consumers apply them again."""
    if (letter_id is None) == (not all_letters):
        typer.echo("replay: give one ID or --all", err=True)
        raise typer.Exit(2)
    with opened(env_file) as container:
        queue = container.messaging.dead_letters()
        letters = queue.letters()
        chosen = letters if all_letters else [_find(letters, str(letter_id))]
        for letter in chosen:
            queue.republish(letter)
        if all_letters:  # only those replayed: a letter that came in meanwhile stays
            queue.purge(chosen)
    console.print(f"replayed {len(chosen)} dead letter(s)")


@dlq_app.command()
def purge(env_file: EnvFile = None) -> None:
    """Forget every dead letter held now."""
    with opened(env_file) as container:
        count = container.messaging.dead_letters().purge()
    console.print(f"purged {count} dead letter(s)")
