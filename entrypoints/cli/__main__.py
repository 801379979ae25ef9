"""`python -m entrypoints.cli`: the same as `tandem`."""

from entrypoints.cli.app import main

main()
