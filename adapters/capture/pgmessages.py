"""The messages of PostgreSQL's `pgoutput` logical replication protocol, as values."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, datetime

PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
KEY_FLAG = 1  # column flag: part of the replica identity


class PgOutputError(ValueError):
    """A pgoutput message is truncated or of an unknown kind."""


class Toast(enum.Enum):
    """An unchanged TOASTed value ('u'): pgoutput does not send it again."""

    UNCHANGED = "u"


UNCHANGED = Toast.UNCHANGED
TupleValue = str | bytes | Toast | None  # text, binary, unchanged TOAST, NULL


@dataclass(frozen=True)
class Column:
    name: str
    type_oid: int
    type_modifier: int
    is_key: bool


@dataclass(frozen=True)
class Relation:
    oid: int
    namespace: str
    name: str
    replica_identity: str  # d(efault), n(othing), f(ull), i(ndex)
    columns: tuple[Column, ...]


@dataclass(frozen=True)
class Begin:
    final_lsn: int
    commit_time: datetime
    xid: int


@dataclass(frozen=True)
class Commit:
    flags: int
    commit_lsn: int
    end_lsn: int
    commit_time: datetime


@dataclass(frozen=True)
class Origin:
    origin_lsn: int
    name: str


@dataclass(frozen=True)
class TypeInfo:
    oid: int
    namespace: str
    name: str


@dataclass(frozen=True)
class Insert:
    relation_oid: int
    new: tuple[TupleValue, ...]


@dataclass(frozen=True)
class Update:
    relation_oid: int
    old: tuple[TupleValue, ...] | None  # None unless the old key ('K') or row ('O') was sent
    old_is_key_only: bool
    new: tuple[TupleValue, ...]


@dataclass(frozen=True)
class Delete:
    relation_oid: int
    old: tuple[TupleValue, ...]
    old_is_key_only: bool


@dataclass(frozen=True)
class Truncate:
    options: int
    relation_oids: tuple[int, ...]


@dataclass(frozen=True)
class LogicalMessage:
    transactional: bool
    lsn: int
    prefix: str
    content: bytes


Message = (
    Begin
    | Commit
    | Origin
    | Relation
    | TypeInfo
    | Insert
    | Update
    | Delete
    | Truncate
    | LogicalMessage
)


def format_lsn(lsn: int) -> str:
    """An LSN as PostgreSQL writes it (`16/B374D848`)."""
    return f"{lsn >> 32:X}/{lsn & 0xFFFFFFFF:X}"


def parse_lsn(text: str) -> int:
    high, _, low = text.partition("/")
    return (int(high, 16) << 32) | int(low, 16)
