"""Array literals say exactly what psycopg's list dumping would (read back on a real server in
tests/integration/test_pg_arrays.py); what a literal cannot say exactly stays a list."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from adapters.sql.pg_arrays import literal


def test_integers_and_nulls() -> None:
    assert literal([1, -2, 3_000_000_000_000]) == "{1,-2,3000000000000}"
    assert literal([1, None]) == "{1,NULL}"
    assert literal([]) == "{}" and literal([None]) == "{NULL}"


def test_texts_are_quoted_whatever_they_hold() -> None:
    assert literal(["a", 'say "hi"', "back\\slash", "NULL", None, "{x,y}", ""]) == (
        '{"a","say \\"hi\\"","back\\\\slash","NULL",NULL,"{x,y}",""}'
    )


def test_booleans() -> None:
    assert literal([True, False, None]) == "{t,f,NULL}"


def test_what_a_literal_cannot_say_exactly_stays_a_list() -> None:
    for values in (
        [1, True],  # a bool among integers would go as 1
        ["a\x00b"],  # psycopg refuses it with its own error
        [datetime(2026, 1, 1)],
        [Decimal("1.5")],
        [b"bytes"],
        [1, "1"],
    ):
        assert literal(values) == values
