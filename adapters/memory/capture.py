"""Capture for the in-memory databases: committed changes become Debezium events."""

from __future__ import annotations

import itertools
import json
from typing import TYPE_CHECKING

from adapters.debezium import dumps, envelope
from adapters.memory.broker import InMemoryBroker
from adapters.topics import change_topic
from domain.events import Platform

if TYPE_CHECKING:
    from adapters.memory.database import InMemoryDatabase
    from adapters.memory.session import Transaction

_CONNECTORS = {Platform.LEGACY: "postgresql", Platform.REVAMP: "mysql"}


class InMemoryCapture:
    """Publishes each committed transaction as Debezium would, or as built-in capture would.

    With `drop_sync_transactions`, transactions of the sync service produce nothing, as the
    built-in capture does; without it they are published and the consumer must skip them.
    MySQL does not log cascaded deletes in its binlog, so revamp capture omits them.
    """

    def __init__(self, broker: InMemoryBroker, prefix: str, drop_sync_transactions: bool = False):
        self.broker = broker
        self.prefix = prefix
        self.drop_sync_transactions = drop_sync_transactions
        self.positions = itertools.count(1000)
        self.transactions = itertools.count(500)

    def committed(self, db: InMemoryDatabase, txn: Transaction) -> None:
        if not txn.changes or (txn.sync and self.drop_sync_transactions):
            return
        ts_ms = int(db.now() * 1000)
        tx_id = next(self.transactions)
        for row_index, change in enumerate(txn.changes):
            if db.platform is Platform.REVAMP and change.cascaded:
                continue  # InnoDB cascades are not in the binlog
            entity = change.entity
            schema, table = entity.schemas.on(db.platform), entity.tables.on(db.platform)
            key_column = entity.key.on(db.platform)
            row = change.after or change.before or {}
            position = next(self.positions)
            source = {
                "version": "tandem-memory",
                "connector": _CONNECTORS[db.platform],
                "name": self.prefix,
                "ts_ms": ts_ms,
                "snapshot": "false",
                "db": db.platform.value,
                "schema": schema,
                "table": table,
            }
            if db.platform is Platform.LEGACY:
                source |= {"txId": tx_id, "lsn": position}
            else:
                source |= {
                    "file": "binlog.000001",
                    "pos": position,
                    "row": row_index,
                    "gtid": None,
                    "server_id": 1,
                }
            self.broker.produce(
                change_topic(self.prefix, schema, table),
                json.dumps({key_column: row[key_column]}).encode(),
                dumps(envelope(change.operation, change.before, change.after, source, ts_ms)),
            )
