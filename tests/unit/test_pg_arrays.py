"""Array literals say exactly what psycopg's list dumping would (checked on a real server in
tests/integration/test_pg_arrays.py)."""

from __future__ import annotations

import pytest

from adapters.sql import pg_arrays


def test_integers_and_nulls() -> None:
    assert pg_arrays.integers([1, -2, 3_000_000_000_000]) == "{1,-2,3000000000000}"
    assert pg_arrays.integers([1, None]) == "{1,NULL}"
    assert pg_arrays.integers([]) == "{}"


def test_a_bool_is_not_an_integer() -> None:
    with pytest.raises(TypeError, match="bool"):
        pg_arrays.integers([1, True])


def test_texts_are_quoted_whatever_they_hold() -> None:
    assert pg_arrays.texts(["a", 'say "hi"', "back\\slash", "NULL", None, "{x,y}", ""]) == (
        '{"a","say \\"hi\\"","back\\\\slash","NULL",NULL,"{x,y}",""}'
    )


def test_nul_is_refused() -> None:
    with pytest.raises(ValueError, match="NUL"):
        pg_arrays.texts(["a\x00b"])


def test_booleans() -> None:
    assert pg_arrays.booleans([True, False, None]) == "{t,f,NULL}"
