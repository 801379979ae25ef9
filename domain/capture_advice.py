"""What the capture needs of each database, said as the statement that provides it."""

from __future__ import annotations

from domain.catalog import Catalog
from domain.mapping import SchemaMapping

_BINLOG = {"binlog_format": "ROW", "binlog_row_image": "FULL", "binlog_row_metadata": "FULL"}


def capture_advice(mapping: SchemaMapping, legacy: Catalog, revamp: Catalog) -> list[str]:
    """One line per setting that keeps a change from being captured whole, with the fix."""
    advice = []
    for entity in mapping.entities:
        table = legacy.table(entity.tables.legacy)
        identity = None if table is None else table.replica_identity
        if identity is None or identity == "full":
            continue
        name = f"{entity.schemas.legacy}.{entity.tables.legacy}"
        advice.append(
            f"legacy {name}: REPLICA IDENTITY {identity.upper()}: an update that leaves a "
            "large (TOASTed) column unchanged does not carry its value, and deletes carry "
            "only the key; such columns are left as they are on revamp. For whole rows: "
            f"ALTER TABLE {name} REPLICA IDENTITY FULL"
        )
    for variable, wanted in _BINLOG.items():
        value = revamp.setting(variable)
        if value is not None and value.upper() != wanted:
            advice.append(
                f"revamp: {variable} is {value}, capture needs {wanted}: "
                f"SET PERSIST {variable} = '{wanted}' (MariaDB: SET GLOBAL, and "
                f"{variable} = {wanted} under [mysqld] in the server's configuration)"
            )
    return advice
