"""The array literals read back, on a real PostgreSQL, as the values they were built from."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from adapters.sql import pg_arrays

pytestmark = pytest.mark.integration

TEXTS = ["a", 'say "hi"', "back\\slash", "NULL", None, "{x,y}", "", " padded ", "ü€", "a,b"]


def test_literals_read_back_exactly(clean_engines: dict[str, Engine]) -> None:
    with clean_engines["legacy"].connect() as conn:
        row = conn.exec_driver_sql(
            "SELECT %s::text[], %s::bigint[], %s::boolean[], %s::bpchar[]",
            (
                pg_arrays.texts(TEXTS),
                pg_arrays.integers([1, None, -(2**63), 2**63 - 1]),
                pg_arrays.booleans([True, None, False]),
                pg_arrays.texts(["6f1c0c8e-0000-4000-8000-000000000001"]),
            ),
        ).one()
    assert row[0] == TEXTS
    assert row[1] == [1, None, -(2**63), 2**63 - 1]
    assert row[2] == [True, None, False]
    assert row[3] == ["6f1c0c8e-0000-4000-8000-000000000001"]
