"""The array literals read back, on a real PostgreSQL, as the values they were built from."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from adapters.sql.pg_arrays import literal

pytestmark = pytest.mark.integration

TEXTS = ["a", 'say "hi"', "back\\slash", "NULL", None, "{x,y}", "", " padded ", "ü€", "a,b"]
UUID = "6f1c0c8e-0000-4000-8000-000000000001"


def test_literals_read_back_exactly(clean_engines: dict[str, Engine]) -> None:
    integers = [1, None, -(2**63), 2**63 - 1]
    with clean_engines["legacy"].connect() as conn:
        row = conn.exec_driver_sql(
            "SELECT %s::text[], %s::bigint[], %s::boolean[], %s::bpchar[], %s::jsonb[]",
            (literal(TEXTS), literal(integers), literal([True, None, False]), literal([UUID]),
             literal(['{"a": [1, "x\\"y"]}', None])),
        ).one()  # fmt: skip
    assert row[0] == TEXTS
    assert row[1] == integers
    assert row[2] == [True, None, False]
    assert row[3] == [UUID]
    assert row[4] == [{"a": [1, 'x"y']}, None]
