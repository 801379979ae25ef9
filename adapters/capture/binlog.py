"""Binlog transactions: buffering, dropping the sync service's own, and Debezium envelopes."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from adapters.debezium_envelope import TableTypes, change_message
from adapters.topics import change_topic
from domain.events import Operation

log = logging.getLogger("tandem.capture.mysql")

Message = tuple[str, bytes | None, bytes | None]  # topic, key, value (None: tombstone)


@dataclass(frozen=True)
class BinlogPosition:
    """Where the next transaction starts: binlog file and offset (GTID of the last, if any)."""

    file: str
    pos: int
    gtid: str | None = None


@dataclass(frozen=True)
class RowChange:
    """One row of a rows event: `pos` is the event's offset, `row` the row's index in it."""

    table: str
    op: Operation
    before: Mapping[str, Any] | None
    after: Mapping[str, Any] | None
    key_columns: tuple[str, ...]
    file: str
    pos: int
    row: int = 0
    # its rows event's own time (the statement's start); Debezium's source.ts_ms is this, not
    # the commit's, which can be a second later. None: the transaction's commit time
    ts_ms: int | None = None


@dataclass(frozen=True)
class CompletedTransaction:
    changes: tuple[RowChange, ...]
    skipped: bool  # it wrote the marker table: the sync service's own transaction
    position: BinlogPosition  # just after its commit
    ts_ms: int
    server_id: int = 0


@dataclass
class TransactionBuffer:
    """Collects a transaction's row changes; a transaction touching `marker_table` is dropped."""

    marker_table: str = "tandem_sync_marker"
    _changes: list[RowChange] = field(default_factory=list)
    _open: bool = False
    _skip: bool = False
    _gtid: str | None = None

    @property
    def open(self) -> bool:
        return self._open

    def note_gtid(self, gtid: str) -> None:
        """The GTID of the transaction about to start (MySQL sends it before BEGIN)."""
        self._gtid = gtid

    def begin(self) -> None:
        if self._open and (self._changes or self._skip):
            log.warning(
                "BEGIN inside an open transaction: dropping its buffered rows",
                extra={"rows": len(self._changes)},
            )
        elif self._open:
            return  # MariaDB: the GTID event began it, a BEGIN query may follow
        self._open, self._skip, self._changes = True, False, []

    def skips(self, table: str) -> bool:
        """Whether rows of `table` here are dropped unread (marker seen): spares decoding them."""
        if table == self.marker_table:
            if not self._open:
                self.begin()
            self._skip, self._changes = True, []
        return self._skip

    def add(self, change: RowChange) -> None:
        if not self._open:
            self.begin()  # rows with no BEGIN seen: treat as their own transaction
        if change.table == self.marker_table:
            self._skip, self._changes = True, []  # nothing of it will be published
        elif not self._skip:
            self._changes.append(change)

    def commit(
        self, position: BinlogPosition, ts_ms: int, server_id: int = 0
    ) -> CompletedTransaction:
        done = CompletedTransaction(
            tuple(self._changes),
            self._skip,
            BinlogPosition(position.file, position.pos, self._gtid or position.gtid),
            ts_ms,
            server_id,
        )
        self.abandon()
        return done

    def abandon(self) -> None:
        """Forget the open transaction (after a reconnect it is read again from the start)."""
        self._open, self._skip, self._changes, self._gtid = False, False, [], None


_TRUNCATE = re.compile(
    r"^\s*TRUNCATE\s+(?:TABLE\s+)?(?:`?(?P<schema>\w+)`?\s*\.\s*)?`?(?P<table>\w+)`?\s*;?\s*$",
    re.IGNORECASE,
)


def truncated_table(query: str, database: str, current: str = "") -> str | None:
    """The table of `database` that a `TRUNCATE [TABLE] [db.]name` statement empties, run
    with `current` as the default database (empty: unknown), else None."""
    found = _TRUNCATE.match(query)
    if found is None or (found["schema"] or current or database) != database:
        return None
    return found["table"]


def debezium_messages(
    txn: CompletedTransaction,
    *,
    prefix: str,
    database: str,
    version: str,
    now_ms: int,
    tombstones: bool = True,
    schemas: bool = True,
    types_of: Callable[[str], TableTypes] | None = None,
) -> list[Message]:
    """The Debezium change events of a kept transaction, in binlog order; `types_of` gives a
    table's column types (by default, from the Python values alone)."""
    messages: list[Message] = []
    for change in txn.changes:
        ts_ms = txn.ts_ms if change.ts_ms is None else change.ts_ms
        source = {
            "version": version,
            "connector": "mysql",
            "name": prefix,
            "ts_ms": ts_ms,
            "snapshot": "false",
            "db": database,
            "sequence": None,
            "ts_us": ts_ms * 1000,
            "ts_ns": ts_ms * 1_000_000,
            "table": change.table,
            "server_id": txn.server_id,
            "gtid": txn.position.gtid,
            "file": change.file,
            "pos": change.pos,
            "row": change.row,
            "thread": None,
            "query": None,
        }
        before, after = _clean(change.before), _clean(change.after)
        topic = change_topic(prefix, database, change.table)
        types = types_of(change.table) if types_of is not None else TableTypes({})
        key, value = change_message(
            topic, "mysql", change.op, before, after, source, now_ms * 1000,
            types=types, key_columns=change.key_columns, schemas=schemas,
        )  # fmt: skip
        messages.append((topic, key, value))  # no primary key: a null key, as Debezium
        if tombstones and change.op is Operation.DELETE and key is not None:
            messages.append((topic, key, None))
    return messages


def _clean(row: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Values the JSON converter can write: JSON columns as text, SETs as Debezium's CSV."""
    if row is None:
        return None
    cleaned: dict[str, Any] = {}
    for name, value in row.items():
        if isinstance(value, dict | list):
            value = json.dumps(_text(value), separators=(",", ":"), default=str)
        elif isinstance(value, set | frozenset):
            value = ",".join(sorted(str(v) for v in value))
        cleaned[name] = value
    return cleaned


def _text(value: Any) -> Any:
    """A decoded JSON document with binlog bytes (keys and strings) turned into text."""
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, dict):
        return {_text(k): _text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_text(v) for v in value]
    return value
