"""Which database server an engine talks to, for checkpoints that must not move servers."""

from __future__ import annotations

from sqlalchemy import Engine, text

from adapters.sql.errors import translated


def server_identity(engine: Engine) -> str:
    """PostgreSQL's system identifier; MySQL's server_uuid (MariaDB, which has none: server_id,
    data directory and first binlog file)."""
    with translated("server identity"), engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            found = conn.execute(text("SELECT system_identifier FROM pg_control_system()"))
            return f"postgresql:{found.scalar()}"
        variables = dict(
            conn.execute(
                text(
                    "SHOW GLOBAL VARIABLES "
                    "WHERE Variable_name IN ('server_uuid', 'server_id', 'datadir')"
                )
            ).all()
        )
        if variables.get("server_uuid"):
            return f"mysql:{variables['server_uuid']}"
        first = conn.execute(text("SHOW BINARY LOGS")).first()
        binlog = first[0] if first else "-"
        return f"mariadb:{variables.get('server_id')}:{variables.get('datadir')}:{binlog}"
