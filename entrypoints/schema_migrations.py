"""`python -m entrypoints.schema_migrations`: the SQL migrations alone, for both databases
named by SYNC_LEGACY_DSN and SYNC_REVAMP_DSN (docker-compose, beside Debezium: no topics, no
slot); `tandem migrate` does this and the rest."""

from __future__ import annotations

import os
import sys

from sqlalchemy import create_engine

from adapters.sql_migrations import Platform, apply_migrations


def main() -> int:
    targets: list[tuple[Platform, str]] = [
        ("legacy", "SYNC_LEGACY_DSN"),
        ("revamp", "SYNC_REVAMP_DSN"),
    ]
    status = 0
    for platform, variable in targets:
        dsn = os.environ.get(variable)
        if not dsn:
            print(f"{variable} is not set", file=sys.stderr)
            status = 2
            continue
        engine = create_engine(dsn)
        try:
            names = apply_migrations(engine, platform)
        finally:
            engine.dispose()
        print(f"{platform}: applied {', '.join(names) if names else 'nothing (up to date)'}")
    return status


if __name__ == "__main__":
    raise SystemExit(main())
