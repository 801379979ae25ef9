"""pgoutput messages to Debezium change events, transaction by transaction, with echo filtering."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any

from adapters.capture.pgmessages import (
    UNCHANGED,
    Begin,
    Commit,
    Delete,
    Insert,
    Origin,
    PgOutputError,
    Relation,
    Truncate,
    TupleValue,
    Update,
)
from adapters.capture.pgoutput import parse
from adapters.capture.pgtypes import BYTEA, connect_type, convert
from adapters.debezium_envelope import TableTypes, change_message, dumps
from adapters.debezium_values import UNAVAILABLE
from adapters.topics import change_topic
from domain.events import SYNC_ORIGIN, Operation, is_sync_origin

log = logging.getLogger("tandem.capture.postgres")

Emit = Callable[[str, bytes | None, bytes | None], None]
PrimaryKey = Callable[[Relation], Sequence[str]]
Types = Callable[[Relation], TableTypes]


def replica_identity_key(relation: Relation) -> Sequence[str]:
    """The columns pgoutput flags as the key (every column under REPLICA IDENTITY FULL)."""
    return [c.name for c in relation.columns if c.is_key]


def relation_types(relation: Relation) -> TableTypes:
    """Column types from the Relation message alone (no nullability, no enum labels)."""
    return TableTypes({c.name: connect_type(c.type_oid, c.type_modifier) for c in relation.columns})


@dataclass
class _Transaction:
    begin: Begin
    origin: str | None = None
    skip: bool = False


@dataclass
class DecodeStats:
    committed: int = 0  # complete transactions seen (published or skipped)
    skipped: int = 0  # transactions dropped for their replication origin
    published: int = 0  # change events handed to `emit`
    last_commit_end: int | None = None  # end LSN of the last complete transaction
    truncates: int = 0


class PgChangeDecoder:
    """Feeds pgoutput rows in, calls `emit(topic, key, value)` for each change of a kept txn."""

    def __init__(
        self,
        emit: Emit,
        *,
        topic_prefix: str,
        database: str,
        skip_origins: Collection[str] = (SYNC_ORIGIN,),
        primary_key: PrimaryKey = replica_identity_key,
        tombstones: bool = True,
        schemas: bool = True,
        table_types: Types = relation_types,
        version: str = "tandem",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.emit, self.prefix, self.database = emit, topic_prefix, database
        self.skip_origins = frozenset(skip_origins)
        self.primary_key, self.tombstones = primary_key, tombstones
        self.schemas, self.table_types = schemas, table_types
        self.version, self.clock = version, clock
        self.relations: dict[int, Relation] = {}
        self.stats = DecodeStats()
        self._txn: _Transaction | None = None

    def _skipped_origin(self, name: str) -> bool:
        """An origin to skip, or one of its numbered siblings (`tandem_sync_2`..): concurrent
        sync transactions each hold their own."""
        return is_sync_origin(name, self.skip_origins)

    @property
    def in_transaction(self) -> bool:
        return self._txn is not None

    def reset(self) -> DecodeStats:
        """Forget any open transaction and start new statistics; return the old ones."""
        stats, self.stats, self._txn = self.stats, DecodeStats(), None
        return stats

    def feed(self, lsn: int, data: bytes) -> None:
        """Process one pgoutput message of the slot's stream (its LSN and bytes)."""
        message = parse(data)
        if isinstance(message, Relation):
            # kept even from a dropped transaction: pgoutput sends a Relation once per stream
            # (and again after it changes)
            self.relations[message.oid] = message
        elif isinstance(message, Begin):
            self._txn = _Transaction(message)
        elif isinstance(message, Origin):
            txn = self._open()
            txn.origin, txn.skip = message.name, self._skipped_origin(message.name)
        elif isinstance(message, Commit):
            txn = self._open()
            self.stats.committed += 1
            self.stats.skipped += txn.skip
            self.stats.last_commit_end = message.end_lsn
            self._txn = None
        elif isinstance(message, Insert | Update | Delete):
            txn = self._open()
            if not txn.skip:
                self._change(txn, lsn, message)
        elif isinstance(message, Truncate):  # published as Debezium's op "t", with no key
            txn = self._open()
            self.stats.truncates += 1
            if not txn.skip:
                for oid in message.relation_oids:
                    self._send(txn, lsn, self._relation(oid), Operation.TRUNCATE, None, None)

    def _open(self) -> _Transaction:
        if self._txn is None:
            raise PgOutputError("change message outside a transaction")
        return self._txn

    def _relation(self, oid: int) -> Relation:
        if oid not in self.relations:
            raise PgOutputError(f"change for relation {oid} before its Relation message")
        return self.relations[oid]

    def _change(self, txn: _Transaction, lsn: int, message: Insert | Update | Delete) -> None:
        relation = self._relation(message.relation_oid)
        if isinstance(message, Insert):
            self._send(txn, lsn, relation, Operation.CREATE, None, _row(relation, message.new))
            return
        before = (
            None if message.old is None else _row(relation, message.old, message.old_is_key_only)
        )
        if isinstance(message, Delete):
            self._send(txn, lsn, relation, Operation.DELETE, before, None)
            return
        after = _row(relation, message.new, fill_from=before)
        key_columns = self.primary_key(relation)
        if before is not None and _key(key_columns, before) != _key(key_columns, after):
            # Debezium turns a primary-key change into a delete of the old key and a create
            self._send(txn, lsn, relation, Operation.DELETE, before, None)
            self._send(txn, lsn, relation, Operation.CREATE, None, after)
            return
        self._send(txn, lsn, relation, Operation.UPDATE, before, after)

    def _send(
        self,
        txn: _Transaction,
        lsn: int,
        relation: Relation,
        op: Operation,
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
    ) -> None:
        begin = txn.begin
        commit = begin.commit_time
        commit_us = int(commit.timestamp()) * 1_000_000 + commit.microsecond
        source = {
            "version": self.version,
            "connector": "postgresql",
            "name": self.prefix,
            "ts_ms": commit_us // 1000,
            "snapshot": "false",
            "db": self.database,
            "sequence": dumps([str(self.stats.last_commit_end or 0), str(lsn)]).decode(),
            "ts_us": commit_us,
            "ts_ns": commit_us * 1000,
            "schema": relation.namespace,
            "table": relation.name,
            "txId": begin.xid,
            "lsn": lsn,
            "xmin": None,
        }
        topic = change_topic(self.prefix, relation.namespace, relation.name)
        key_columns = tuple(self.primary_key(relation))
        key, value = change_message(
            topic, "postgresql", op, before, after, source, int(self.clock() * 1_000_000),
            types=self.table_types(relation), key_columns=key_columns, schemas=self.schemas,
        )  # fmt: skip
        self.emit(topic, key, value)
        self.stats.published += 1
        if op is Operation.DELETE and self.tombstones and key is not None:
            self.emit(topic, key, None)


def _row(
    relation: Relation,
    values: Sequence[TupleValue],
    key_only: bool = False,
    fill_from: dict[str, Any] | None = None,
) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for column, value in zip(relation.columns, values, strict=False):
        if key_only and not column.is_key:
            continue
        if value is UNCHANGED:
            placeholder = UNAVAILABLE.encode() if column.type_oid == BYTEA else UNAVAILABLE
            known = (fill_from or {}).get(column.name, placeholder)
            row[column.name] = known
        elif isinstance(value, str):
            row[column.name] = convert(column.type_oid, value)
        else:
            row[column.name] = value  # None, or bytes in binary mode
    return row


def _key(columns: Sequence[str], row: dict[str, Any]) -> dict[str, Any]:
    return {name: row.get(name) for name in columns}
