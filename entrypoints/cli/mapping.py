"""`tandem mapping scaffold|check`: propose a mapping from both live catalogs, or judge one."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from entrypoints.startup import EXIT_PROBLEM, EXIT_USAGE, EnvFile, opened

mapping_app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
log = logging.getLogger(__name__)


@mapping_app.command()
def scaffold(
    out: Annotated[Path, typer.Option("--out", help="where to write the proposed mapping")],
    legacy_schema: Annotated[str, typer.Option(help="PostgreSQL schema")] = "public",
    revamp_schema: Annotated[
        str | None, typer.Option(help="MySQL database (default: the DSN's)")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="overwrite --out")] = False,
    env_file: EnvFile = None,
) -> None:
    """Pair the tables and columns of both databases into a mapping; a comment on each guess."""
    from adapters.mapping_file import render_proposal
    from domain.scaffold import propose

    if out.exists() and not force:
        typer.echo(f"--out: {out} exists (add --force to overwrite)", err=True)
        raise typer.Exit(EXIT_USAGE)
    # the mapping is what is being written: SYNC_MAPPING may name a file that does not exist yet
    with opened(env_file, SYNC_MAPPING="") as container:
        legacy = container.adapters.legacy_catalog(schema=legacy_schema).read()
        revamp = container.adapters.revamp_catalog(schema=revamp_schema).read()
        proposal = propose(legacy, revamp)
    try:
        out.write_text(render_proposal(proposal))
    except OSError as error:
        typer.echo(f"--out: cannot write {out}: {error.strerror}", err=True)
        raise typer.Exit(EXIT_USAGE) from error
    guesses = sum(1 for e in proposal.entities for f in e.fields if f.note) + sum(
        len(e.notes) for e in proposal.entities
    )
    typer.echo(
        f"{out}: {len(proposal.entities)} entities, "
        f"{sum(len(e.fields) for e in proposal.entities)} fields, "
        f"{guesses + len(proposal.notes)} comments to read; then run `tandem mapping check`"
    )


@mapping_app.command()
def check(
    capture: Annotated[
        bool, typer.Option(help="also check the capture prerequisites (replica identity, binlog)")
    ] = True,
    env_file: EnvFile = None,
) -> None:
    """Validate the mapping (SYNC_MAPPING) against both live schemas: every problem, one line
    each; exit 1 when there is any."""
    with opened(env_file) as container:
        problems = container.adapters.schema_guard().problems(capture=capture)
        mapping = container.core.mapping()
    for problem in problems:
        typer.echo(problem)
    if problems:
        raise typer.Exit(EXIT_PROBLEM)
    typer.echo(f"mapping fits both schemas: {len(mapping.entities)} entities checked")
