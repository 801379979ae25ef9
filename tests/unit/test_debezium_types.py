"""Debezium's wire encodings: what the built-in capture writes and what the codec reads back."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters import connect_types as ct
from adapters.capture import mysqltypes, pgtypes
from adapters.debezium import DebeziumCodec
from adapters.debezium_envelope import TableTypes, change_message
from adapters.debezium_values import UNAVAILABLE, by_field, by_schema
from adapters.mapping_file import parse_mapping
from domain.coercions import UNCHANGED
from domain.errors import InvalidEventError
from domain.events import Operation, Platform
from domain.model import RawMessage

PRE_1973 = datetime(1971, 6, 15, 12, 0, 0, 500000)


def test_a_decimal_is_its_unscaled_value_in_base64_with_the_scale_in_the_schema() -> None:
    price = ct.decimal(10, 2)
    assert price.value(Decimal("12.50")) == "BOI="  # 1250 = 0x04e2
    assert price.value(Decimal("-0.01")) == "/w=="  # -1: one byte, two's complement
    assert price.value(Decimal("1.5")) == ct.b64(b"\x00\x96")  # rescaled to 150
    assert price.schema("price") == {
        "type": "bytes", "optional": True, "name": "org.apache.kafka.connect.data.Decimal",
        "version": 1, "parameters": {"scale": "2", "connect.decimal.precision": "10"},
        "field": "price",
    }  # fmt: skip


def test_zoned_timestamps_print_the_columns_fraction_digits_in_utc() -> None:
    moment = datetime(2024, 1, 2, 3, 4, 5, 120000)
    assert ct.zoned_text(moment, 6) == "2024-01-02T03:04:05.120000Z"
    assert ct.zoned_text(moment, 3) == "2024-01-02T03:04:05.120Z"
    assert ct.zoned_text(moment, 0) == "2024-01-02T03:04:05.12Z"  # ISO_OFFSET_DATE_TIME
    assert ct.zoned_text(moment.replace(microsecond=0), 0) == "2024-01-02T03:04:05Z"


def test_adaptive_precision_picks_milli_or_microseconds_by_the_declared_digits() -> None:
    assert ct.timestamp(3).name == "io.debezium.time.Timestamp"
    assert ct.timestamp(6).name == "io.debezium.time.MicroTimestamp"
    assert pgtypes.connect_type(pgtypes.TIME, -1) is ct.MICRO_TIME
    assert pgtypes.connect_type(pgtypes.TIME, 3) is ct.TIME_MS
    assert mysqltypes.connect_type("time", "time(0)") is ct.MICRO_TIME  # always, on MySQL


def test_floats_print_as_java_prints_a_float() -> None:
    assert ct.FLOAT32.value(1.100000023841858) == 1.1


@pytest.mark.parametrize(
    ("data_type", "column_type", "expected"),
    [
        ("tinyint", "tinyint(1)", "int16"),
        ("int", "int(10) unsigned", "int64"),
        ("bigint", "bigint(20) unsigned", "int64"),
        ("bit", "bit(1)", "boolean"),
        ("varbinary", "varbinary(300)", "bytes"),
        ("longtext", "longtext", "string"),  # MariaDB's JSON
    ],
)
def test_mysql_columns_get_debeziums_types(data_type: str, column_type: str, expected: str) -> None:
    assert mysqltypes.connect_type(data_type, column_type).type == expected


def test_an_enum_lists_its_labels() -> None:
    kind = mysqltypes.connect_type("enum", "enum('Draft','Published')")
    assert kind.parameters == {"allowed": "Draft,Published"}


def test_postgres_numeric_without_precision_is_a_variable_scale_decimal() -> None:
    kind = pgtypes.connect_type(pgtypes.NUMERIC, -1)
    assert kind.value(Decimal("-12.345")) == {"scale": 3, "value": ct.b64(b"\xcf\xc7")}
    assert by_schema(kind.value(Decimal("-12.345")), kind.schema()) == Decimal("-12.345")


VALUES: list[tuple[ct.ConnectType, Any]] = [
    (ct.decimal(38, 10), Decimal("1234567890123456789012345678.0123456789")),
    (ct.BYTES, bytes(range(256))),
    (ct.MICRO_TIMESTAMP, PRE_1973),
    (ct.MICRO_TIMESTAMP, datetime(1969, 12, 31, 23, 59, 59, 999999)),
    (ct.MICRO_TIMESTAMP, datetime(9999, 12, 31, 23, 59, 59, 999999)),
    (ct.TIMESTAMP_MS, datetime(1960, 1, 1, 0, 0, 0, 123000)),
    (ct.zoned_timestamp(6), PRE_1973),
    (ct.DATE, date(1, 1, 1)),
    (ct.MICRO_TIME, time(13, 14, 15, 161718)),
    (ct.INT64, 2**63 - 1),
    (ct.STRING, "emoji 🎉 and ünïcode"),
    (ct.bits(1), True),
]


@pytest.mark.parametrize(("kind", "value"), VALUES)
def test_every_encoding_reads_back_exactly(kind: ct.ConnectType, value: Any) -> None:
    wire = json.loads(json.dumps(kind.value(value)))
    assert by_schema(wire, kind.schema()) == value


@settings(max_examples=200, derandomize=True)
@given(st.decimals(allow_nan=False, allow_infinity=False, places=6, max_value=10**30,
                   min_value=-(10**30)))  # fmt: skip
def test_any_decimal_round_trips(number: Decimal) -> None:
    kind = ct.decimal(37, 6)
    assert by_schema(kind.value(number), kind.schema()) == number


def test_a_value_against_its_schema_is_refused_not_guessed() -> None:
    for value, kind in (("12.5", ct.decimal(5, 1)), (1.5, ct.MICRO_TIMESTAMP),
                        ("xyz", ct.BYTES), (86_400_000_000, ct.MICRO_TIME)):  # fmt: skip
        with pytest.raises(ValueError):
            by_schema(value, kind.schema())


# --- the codec: with the schema wrapper, and without it by the mapping's declared types ------

MAPPING = parse_mapping(
    {
        "entities": {
            "thing": {
                "tables": {"legacy": "things", "revamp": "things"},
                "fields": [
                    {"name": "at", "type": "timestamp"},
                    {"name": "at_ms", "type": "timestamp", "precision": {"legacy": 6, "revamp": 3}},
                    {"name": "price", "type": "decimal", "scale": 4, "nullable": True},
                    {"name": "blob", "type": "binary", "nullable": True},
                    {"name": "bio", "type": "string", "nullable": True},
                ],
            }
        }
    }
)
CODEC = DebeziumCodec(MAPPING, {Platform.LEGACY: "legacy", Platform.REVAMP: "revamp"})
ROW = {
    "id": 1,
    "at": PRE_1973,
    "at_ms": datetime(1972, 1, 1, 0, 0, 0, 5000),
    "price": Decimal("-3.1400"),
    "blob": bytes(range(256)),
    "bio": UNAVAILABLE,
}
TYPES = TableTypes({"id": ct.INT32, "at": ct.MICRO_TIMESTAMP, "at_ms": ct.TIMESTAMP_MS,
                    "price": ct.decimal(10, 4), "blob": ct.BYTES, "bio": ct.STRING})  # fmt: skip


@pytest.mark.parametrize("schemas", [True, False])
def test_the_codec_decodes_the_built_in_captures_events_with_or_without_the_wrapper(
    schemas: bool,
) -> None:
    source = {"version": "t", "connector": "mysql", "name": "revamp", "ts_ms": 5, "db": "revamp",
              "table": "things", "file": "binlog.000001", "pos": 4, "row": 0}  # fmt: skip
    key, value = change_message(
        "revamp.revamp.things", "mysql", Operation.UPDATE, None, ROW, source, 7,
        types=TYPES, key_columns=("id",), schemas=schemas,
    )  # fmt: skip
    event = CODEC.decode(RawMessage("revamp.revamp.things", 0, 0, key, value))
    assert event is not None and event.after is not None
    assert event.after == ROW | {"bio": UNCHANGED}
    assert "bio" not in MAPPING.entity("thing").transform(event.after, Platform.REVAMP)


def test_without_the_wrapper_a_pre_1973_microsecond_timestamp_is_not_read_as_milliseconds() -> None:
    field = MAPPING.entity("thing").fields[0]
    micros = ct.micros(PRE_1973)
    assert micros < 10**14  # what the old magnitude guess took for milliseconds
    assert by_field(micros, field, Platform.LEGACY) == PRE_1973


def test_a_base64_decimal_without_wrapper_or_declared_scale_is_refused() -> None:
    field = parse_mapping(
        {"entities": {"t": {"tables": "t", "fields": [{"name": "p", "type": "decimal"}]}}}
    ).entity("t").fields[0]  # fmt: skip
    with pytest.raises(ValueError, match="needs `scale`"):
        by_field("BOI=", field, Platform.LEGACY)


def test_an_undecodable_value_is_an_invalid_event_naming_the_column() -> None:
    document = {"schema": {"type": "struct", "fields": [
        {"type": "struct", "field": "after", "fields": [
            {"type": "int64", "name": "io.debezium.time.MicroTimestamp", "field": "at"}]}]},
        "payload": {"op": "c", "before": None, "after": {"id": 1, "at": "yesterday"},
                    "source": {"ts_ms": 1, "table": "things"}}}  # fmt: skip
    message = RawMessage("legacy.public.things", 0, 0, b'{"id":1}', json.dumps(document).encode())
    with pytest.raises(InvalidEventError, match=r"after\.at"):
        CODEC.decode(message)


def test_time_of_a_mysql_time_column_is_microseconds_past_midnight() -> None:
    assert ct.MICRO_TIME.value(timedelta(hours=13, microseconds=5)) == 46_800_000_005


def test_an_unchanged_column_passes_validation_and_is_not_written() -> None:
    from domain.events import SourcePosition, SyncEvent
    from domain.validation import check_event

    after = {"id": 1, "at": PRE_1973, "at_ms": PRE_1973, "price": None, "blob": UNCHANGED,
             "bio": UNCHANGED}  # fmt: skip
    event = SyncEvent.captured(
        origin=Platform.LEGACY, table="things", entity_type="thing",
        operation=Operation.UPDATE, key={"id": 1}, before=None, after=after,
        position=SourcePosition("lsn:1", "1", 5),
    )  # fmt: skip
    entity = MAPPING.entity("thing")
    check_event(entity, event)
    assert set(entity.transform(after, Platform.LEGACY)) == {"at", "at_ms", "price"}


@pytest.mark.parametrize(
    ("expression", "kind", "not_null", "default"),
    [
        ("nextval('legacy_users_id_seq'::regclass)", ct.INT32, True, 0),
        ("nextval('legacy_users_id_seq'::regclass)", ct.INT32, False, None),
        ("'draft'::character varying", ct.STRING, False, "draft"),
        ("'it''s'::text", ct.STRING, True, "it's"),
        ("now()", ct.timestamp(6), True, None),
        ("42", ct.INT64, True, 42),
        ("true", ct.BOOLEAN, False, True),
        (None, ct.STRING, True, None),
    ],
)
def test_postgresql_column_defaults_are_carried_as_debezium_carries_them(
    expression: str | None, kind: ct.ConnectType, not_null: bool, default: Any
) -> None:
    assert pgtypes.column_default(expression, kind, not_null) == default


@pytest.mark.parametrize(
    ("expression", "kind", "default"),
    [
        ("'Draft'", ct.STRING, "Draft"),
        ("0", ct.INT32, 0),
        ("NULL", ct.STRING, None),
        ("current_timestamp(6)", ct.timestamp(6), None),
        (None, ct.INT32, None),
    ],
)
def test_mariadb_column_defaults_are_carried_as_debezium_carries_them(
    expression: str | None, kind: ct.ConnectType, default: Any
) -> None:
    assert mysqltypes.column_default(expression, kind) == default
