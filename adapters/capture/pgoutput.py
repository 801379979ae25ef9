"""Parsing of PostgreSQL's `pgoutput` logical replication messages (protocol version 1)."""

from __future__ import annotations

import struct
from collections.abc import Callable
from datetime import datetime, timedelta

from adapters.capture.pgmessages import (
    KEY_FLAG,
    PG_EPOCH,
    UNCHANGED,
    Begin,
    Column,
    Commit,
    Delete,
    Insert,
    LogicalMessage,
    Message,
    Origin,
    PgOutputError,
    Relation,
    Truncate,
    TupleValue,
    TypeInfo,
    Update,
)


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.at = 0

    def take(self, fmt: str) -> int:
        size = struct.calcsize(fmt)
        if self.at + size > len(self.data):
            raise PgOutputError(f"message truncated at byte {self.at}")
        (value,) = struct.unpack_from(fmt, self.data, self.at)
        self.at += size
        return int(value)

    def raw(self, size: int) -> bytes:
        if size < 0 or self.at + size > len(self.data):
            raise PgOutputError(f"message truncated at byte {self.at}")
        chunk = self.data[self.at : self.at + size]
        self.at += size
        return chunk

    def string(self) -> str:
        end = self.data.find(b"\0", self.at)
        if end < 0:
            raise PgOutputError(f"unterminated string at byte {self.at}")
        text = self.data[self.at : end].decode("utf-8")
        self.at = end + 1
        return text

    def char(self) -> str:
        return chr(self.take("!B"))

    def timestamp(self) -> datetime:
        return PG_EPOCH + timedelta(microseconds=self.take("!q"))

    def tuple_data(self) -> tuple[TupleValue, ...]:
        values: list[TupleValue] = []
        for _ in range(self.take("!H")):
            kind = self.char()
            if kind == "n":
                values.append(None)
            elif kind == "u":
                values.append(UNCHANGED)
            elif kind in "tb":
                data = self.raw(self.take("!i"))
                values.append(data.decode("utf-8") if kind == "t" else data)
            else:
                raise PgOutputError(f"unknown tuple value kind {kind!r}")
        return tuple(values)


def parse(data: bytes) -> Message:
    """Decode one pgoutput message."""
    reader = _Reader(bytes(data))
    kind = reader.char()
    read = _PARSERS.get(kind)
    if read is None:
        raise PgOutputError(f"unknown pgoutput message type {kind!r}")
    return read(reader)


def _begin(reader: _Reader) -> Begin:
    return Begin(reader.take("!Q"), reader.timestamp(), reader.take("!I"))


def _commit(reader: _Reader) -> Commit:
    return Commit(reader.take("!B"), reader.take("!Q"), reader.take("!Q"), reader.timestamp())


def _origin(reader: _Reader) -> Origin:
    return Origin(reader.take("!Q"), reader.string())


def _relation(reader: _Reader) -> Relation:
    oid, namespace, name, identity = (
        reader.take("!I"),
        reader.string(),
        reader.string(),
        reader.char(),
    )
    columns = []
    for _ in range(reader.take("!H")):
        flags, column = reader.take("!B"), reader.string()
        oid_, modifier = reader.take("!I"), reader.take("!i")
        columns.append(Column(column, oid_, modifier, bool(flags & KEY_FLAG)))
    return Relation(oid, namespace or "pg_catalog", name, identity, tuple(columns))


def _type(reader: _Reader) -> TypeInfo:
    return TypeInfo(reader.take("!I"), reader.string(), reader.string())


def _insert(reader: _Reader) -> Insert:
    oid = reader.take("!I")
    _expect(reader, "N")
    return Insert(oid, reader.tuple_data())


def _update(reader: _Reader) -> Update:
    oid, marker = reader.take("!I"), reader.char()
    old = None
    if marker in "KO":
        old = reader.tuple_data()
        _expect(reader, "N")
    elif marker != "N":
        raise PgOutputError(f"unexpected update marker {marker!r}")
    return Update(oid, old, marker == "K", reader.tuple_data())


def _delete(reader: _Reader) -> Delete:
    oid, marker = reader.take("!I"), reader.char()
    if marker not in "KO":
        raise PgOutputError(f"unexpected delete marker {marker!r}")
    return Delete(oid, reader.tuple_data(), marker == "K")


def _truncate(reader: _Reader) -> Truncate:
    count, options = reader.take("!I"), reader.take("!B")
    return Truncate(options, tuple(reader.take("!I") for _ in range(count)))


def _logical_message(reader: _Reader) -> LogicalMessage:
    flags, lsn, prefix = reader.take("!B"), reader.take("!Q"), reader.string()
    return LogicalMessage(bool(flags & 1), lsn, prefix, reader.raw(reader.take("!I")))


_PARSERS: dict[str, Callable[[_Reader], Message]] = {
    "B": _begin,
    "C": _commit,
    "O": _origin,
    "R": _relation,
    "Y": _type,
    "I": _insert,
    "U": _update,
    "D": _delete,
    "T": _truncate,
    "M": _logical_message,
}


def _expect(reader: _Reader, marker: str) -> None:
    got = reader.char()
    if got != marker:
        raise PgOutputError(f"expected {marker!r}, got {got!r} at byte {reader.at - 1}")
