"""`tandem`: the operator's command line, one module per command group."""

from entrypoints.cli.app import app, main

__all__ = ["app", "main"]
