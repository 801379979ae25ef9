"""The wide table pair of the type-fidelity suite: its DDL, mapping, values and comparison.

Where the two column types differ, values compare under these conversions (README, "Type
fidelity"): CHAR(n) trailing spaces are padding; real/FLOAT compare as 32-bit floats; JSON
compares as parsed documents (jsonb normalises spacing and key order); TIME arrives from
MySQL as a duration; timestamptz/TIMESTAMP compare as naive UTC; TINYINT(1) and BIT(1)
compare as booleans; uuid/CHAR(36) as lowercase text.
"""

from __future__ import annotations

import json
import struct
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from hypothesis import strategies as st

TABLE = "fidelity_wide"
MOODS = ("happy", "sad", "meh")
# column: (PostgreSQL type, MySQL type, mapping type or None)
COLUMNS: dict[str, tuple[str, str, str | None]] = {
    "small_n": ("smallint", "SMALLINT", "integer"),
    "int_n": ("integer", "INT", "integer"),
    "big_n": ("bigint", "BIGINT", "integer"),
    "ubig_n": ("bigint", "BIGINT UNSIGNED", "integer"),
    "uint_n": ("integer", "INT UNSIGNED", "integer"),
    "price": ("numeric(38,10)", "DECIMAL(38,10)", "decimal"),
    "real_n": ("real", "FLOAT", "float"),
    "double_n": ("double precision", "DOUBLE", "float"),
    "flag": ("boolean", "TINYINT(1)", "boolean"),
    "bit_flag": ("boolean", "BIT(1)", "boolean"),
    "code": ("char(8)", "CHAR(8)", "string"),
    "name": ("varchar(100)", "VARCHAR(100)", "string"),
    "body": ("text", "TEXT", "string"),
    "data_blob": ("bytea", "BLOB", "binary"),
    "vblob": ("bytea", "VARBINARY(300)", "binary"),
    "day": ("date", "DATE", "date"),
    "tod": ("time(6)", "TIME(6)", "time"),
    "at": ("timestamp(6)", "DATETIME(6)", "timestamp"),
    "at_tz": ("timestamptz", "TIMESTAMP(6) NULL", "timestamp"),
    "doc": ("jsonb", "JSON", "json"),
    "uid": ("uuid", "CHAR(36)", "uuid"),
    "mood": ("fidelity_mood", f"ENUM({', '.join(repr(m) for m in MOODS)})", None),
}
PG_CASTS = {"doc": "jsonb", "uid": "uuid", "mood": "fidelity_mood"}


def legacy_ddl() -> list[str]:
    columns = ", ".join(f"{name} {pg} NULL" for name, (pg, _, _) in COLUMNS.items())
    labels = ", ".join(f"'{m}'" for m in MOODS)
    return [
        f"CREATE TYPE fidelity_mood AS ENUM ({labels})",
        f"CREATE TABLE {TABLE} (id serial PRIMARY KEY, tag varchar(40) NOT NULL, "
        f"{columns}, source varchar(20))",
        f"ALTER TABLE {TABLE} REPLICA IDENTITY FULL",
        # the `source` column kept truthful, as the README asks of every mapped table (a
        # capture that cannot see the sync's own marks, Debezium's, tells echoes by it)
        "CREATE FUNCTION fidelity_source() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "NEW.source := CASE WHEN coalesce(current_setting('tandem.origin', true), '') = "
        "'sync_service' THEN 'sync_service' ELSE 'legacy' END; RETURN NEW; END $$",
        f"CREATE TRIGGER fidelity_source BEFORE INSERT OR UPDATE ON {TABLE} "
        "FOR EACH ROW EXECUTE FUNCTION fidelity_source()",
    ]


def revamp_ddl() -> list[str]:
    columns = ", ".join(
        f"{name} {my}" + ("" if my.endswith("NULL") else " NULL")
        for name, (_, my, _) in COLUMNS.items()
    )
    return [
        f"CREATE TABLE {TABLE} (id INT AUTO_INCREMENT PRIMARY KEY, tag VARCHAR(40) NOT NULL, "
        f"{columns}, source VARCHAR(20)) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
        *(
            f"CREATE TRIGGER fidelity_source_{when} BEFORE {event} ON {TABLE} FOR EACH ROW "
            "SET NEW.source = IF(COALESCE(@tandem_origin, '') = 'sync_service', "
            "'sync_service', 'revamp')"
            for when, event in (("bi", "INSERT"), ("bu", "UPDATE"))
        ),
    ]


def mapping(revamp_schema: str) -> dict[str, Any]:
    fields: list[dict[str, Any]] = [{"name": "tag", "type": "string"}]
    for name, (_, _, kind) in COLUMNS.items():
        field: dict[str, Any] = {"name": name, "nullable": True}
        if kind is not None:
            field["type"] = kind
        if kind == "decimal":
            field["scale"] = 10
        fields.append(field)
    return {
        "schemas": {"legacy": "public", "revamp": revamp_schema},
        "entities": {"wide": {"tables": TABLE, "key": "id", "fields": fields}},
    }


def _text(size: int) -> st.SearchStrategy[str]:
    """Any Unicode text PostgreSQL and utf8mb4 hold: 4-byte emoji, control characters; no NUL."""
    chars = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
    return st.text(chars, max_size=size)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | _text(20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text(8), inner, max_size=4),
    max_leaves=10,
)
_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "small_n": st.integers(-(2**15), 2**15 - 1),
    "int_n": st.integers(-(2**31), 2**31 - 1),
    "big_n": st.integers(-(2**63), 2**63 - 1),
    "ubig_n": st.integers(0, 2**63 - 1),
    "uint_n": st.integers(0, 2**31 - 1),  # what both integer and INT UNSIGNED hold
    "price": st.decimals(min_value=-(10**27), max_value=10**27, places=10),
    "real_n": st.floats(width=32, allow_nan=False, allow_infinity=False, allow_subnormal=False),
    "double_n": st.floats(allow_nan=False, allow_infinity=False, allow_subnormal=False),
    "flag": st.booleans(),
    "bit_flag": st.booleans(),
    "code": _text(8).map(lambda s: s.rstrip(" ")),
    "name": _text(100),
    "body": _text(400),
    "data_blob": st.binary(max_size=400),
    "vblob": st.binary(max_size=300),
    "day": st.dates(date(1000, 1, 1), date(9999, 12, 31)),
    "tod": st.times(),
    "at": st.datetimes(datetime(1000, 1, 1), datetime(9999, 12, 31, 23, 59, 59, 999999)),
    "at_tz": st.datetimes(datetime(1970, 1, 1, 0, 0, 1), datetime(2038, 1, 19, 3, 14, 7)),
    "doc": _JSON,
    "uid": st.uuids().map(str),
    "mood": st.sampled_from(MOODS),
}
ROWS = st.fixed_dictionaries({name: st.none() | values for name, values in _VALUES.items()})
PRE_1973 = datetime(1971, 6, 15, 12, 0, 0, 500000)
EDGES: list[dict[str, Any]] = [
    {
        "small_n": -(2**15), "int_n": 2**31 - 1, "big_n": 2**53 + 1, "ubig_n": 2**63 - 1,
        "uint_n": 2**31 - 1, "price": Decimal("-99999999999999999999999999.0123456789"),
        "real_n": 1.1, "double_n": 0.1, "flag": True, "bit_flag": True, "code": "🎉x",
        "name": "Zoë 𝄞", "body": "\x01\x02\x7f binary-looking \U0001f600",
        "data_blob": bytes(range(256)),
        "vblob": bytes(range(255, -1, -1))[:300], "day": date(1969, 12, 31),
        "tod": time(13, 14, 15, 161718), "at": PRE_1973, "at_tz": PRE_1973,
        "doc": {"a": [1, "ü", None, True], "b": {}}, "uid": "0f8fad5b-d9cb-469f-a165-70867728950e",
        "mood": "meh",
    },
    # a JSON document may be a bare string, the empty one included
    {"at": datetime(1969, 7, 20, 20, 17, 40), "at_tz": datetime(1970, 1, 1, 0, 0, 1),
     "day": date(9999, 12, 31), "price": Decimal("0.0000000001"), "big_n": -(2**63),
     "doc": ""},
    {"at": datetime(9999, 12, 31, 23, 59, 59, 999999), "at_tz": datetime(2038, 1, 19, 3, 14, 7),
     "tod": time(0, 0), "data_blob": b"", "code": "", "big_n": 2**63 - 1, "price": Decimal(0),
     "doc": "ü 𝄞 \"quoted\""},
    dict.fromkeys(COLUMNS),  # NULL in each
]  # fmt: skip
for _edge in EDGES:
    for _column in COLUMNS:
        _edge.setdefault(_column, None)


def _float32(value: float) -> float:
    return float(struct.unpack("<f", struct.pack("<f", value))[0])


def normal(column: str, value: Any) -> Any:
    """A value read from either database, in the form both compare equal in."""
    if value is None:
        return None
    if column == "real_n":
        return _float32(value)
    if column in ("flag", "bit_flag"):
        return value != b"\x00" if isinstance(value, bytes) else bool(value)
    if column == "code":
        return value.rstrip(" ")
    if column in ("data_blob", "vblob"):
        return bytes(value)
    if column == "tod" and isinstance(value, timedelta):
        return (datetime(1970, 1, 1) + value).time()
    if column in ("at", "at_tz") and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    if column == "uid":
        return str(UUID(str(value)))
    if column == "price":
        return Decimal(value)
    return value


def as_read(row: dict[str, Any], legacy: bool) -> dict[str, Any]:
    """A row read from one side, its JSON document parsed: psycopg parses jsonb itself,
    MariaDB's JSON is text. (A document may be a JSON string: only the side says which.)"""
    if legacy or row["doc"] is None:
        return row
    return {**row, "doc": json.loads(row["doc"])}


def parameters(row: dict[str, Any], legacy: bool) -> dict[str, Any]:
    """A generated row as SQL parameters for one side."""
    params = dict(row)
    if row.get("doc") is not None or "doc" in row:
        params["doc"] = None if row.get("doc") is None else json.dumps(row["doc"])
    if legacy and row.get("at_tz") is not None:
        params["at_tz"] = row["at_tz"].replace(tzinfo=UTC)
    return params


def select_list(legacy: bool) -> str:
    """The columns to read; MariaDB's text protocol rounds a FLOAT, so it is read as DOUBLE."""
    names = ["id", "tag", *COLUMNS]
    if not legacy:
        names = ["CAST(real_n AS DOUBLE) AS real_n" if n == "real_n" else n for n in names]
    return ", ".join(names)
