"""Change messages are serialized fast (orjson, schemas once per table) and as before."""

from __future__ import annotations

import json
import math
import tracemalloc

from adapters import connect_types
from adapters.debezium_envelope import TableTypes, change_message, dumps
from domain.events import Operation

TYPES = TableTypes(
    {"id": connect_types.python_type(1), "name": connect_types.python_type("x"),
     "score": connect_types.python_type(1.5)},
    not_null=frozenset({"id"}),
)  # fmt: skip
SOURCE = {"version": "3", "connector": "postgresql", "name": "legacy", "ts_ms": 1, "db": "d",
          "schema": "public", "table": "users"}  # fmt: skip


def _message(after: dict[str, object]) -> tuple[bytes | None, bytes]:
    return change_message(
        "legacy.public.users", "postgresql", Operation.CREATE, None, after, SOURCE, 1_000_000,
        types=TYPES, key_columns=("id",),
    )  # fmt: skip


def test_the_same_document_as_the_standard_encoder_writes() -> None:
    key, value = _message({"id": 7, "name": 'Zoë \u2028 "q"', "score": 2.5})
    document = json.loads(value)
    again = json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()
    assert value == again
    assert document["payload"]["after"] == {"id": 7, "name": 'Zoë \u2028 "q"', "score": 2.5}
    assert json.loads(key or b"") == {
        "schema": {"type": "struct", "optional": False, "name": "legacy.public.users.Key",
                   "fields": [{"type": "int64", "optional": False, "field": "id"}]},
        "payload": {"id": 7},
    }  # fmt: skip


def test_the_schema_is_serialized_once_per_table_and_columns() -> None:
    _message({"id": 1, "name": "a", "score": 1.0})
    cached = dict(TYPES.schemas)
    _, value = _message({"id": 2, "name": "b", "score": 2.0})
    assert TYPES.schemas == cached and len(cached) == 2  # key and value
    assert json.loads(value)["schema"]["name"] == "legacy.public.users.Envelope"


def test_nan_and_infinity_stay_what_they_are_not_null() -> None:
    _, value = _message({"id": 3, "name": None, "score": math.nan})
    assert b'"score":NaN' in value
    assert math.isinf(json.loads(dumps({"after": {"x": -math.inf}}))["after"]["x"])


def test_integers_beyond_64_bits_still_encode() -> None:
    assert json.loads(dumps({"n": 2**70})) == {"n": 2**70}


def test_a_kept_message_costs_about_its_length() -> None:
    """orjson hands back its whole output buffer (4 KiB or more); dumps copies it to length,
    so that what the in-memory broker or a batch keeps is not ten times its size."""
    tracemalloc.start()
    try:
        kept = [dumps({"id": n, "name": "x" * 100}) for n in range(1000)]
        traced, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(kept[0]) < 200
    assert traced < 1000 * 400, f"{traced / 1000:.0f} bytes kept per message"
