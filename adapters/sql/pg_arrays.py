"""PostgreSQL array parameters as one text literal (`'{1,2,3}'`, cast by the statement).

psycopg dumps a list element by element in Python: ~0.5 µs an integer, ~1.2 µs a string,
8 % of the consumer's CPU into PostgreSQL for the bookkeeping arrays alone; the literal is
built by C-level joins, 6 to 8 times faster. Only for integers, booleans and text, whose
literal forms are exact; other types (the rows' values) stay with psycopg's dumpers.
"""

from __future__ import annotations

from collections.abc import Iterable


def integers(values: Iterable[int | None]) -> str:
    """`{1,NULL,3}`; bools are refused (they would go as 1 and 0 silently)."""
    items = list(values)
    if None in items or any(type(v) is not int for v in items):
        return "{" + ",".join("NULL" if v is None else str(_integer(v)) for v in items) + "}"
    return "{" + ",".join(map(str, items)) + "}"


def booleans(values: Iterable[bool | None]) -> str:
    return "{" + ",".join("NULL" if v is None else ("t" if v else "f") for v in values) + "}"


def texts(values: Iterable[str | None]) -> str:
    """Each element double-quoted, with backslash and quote escaped: any string is exact
    (`NULL`, braces, commas and spaces included); None is NULL."""
    return "{" + ",".join("NULL" if v is None else _quoted(v) for v in values) + "}"


def _quoted(value: str) -> str:
    if "\x00" in value:  # PostgreSQL text cannot hold it: refused as psycopg would
        raise ValueError("PostgreSQL text cannot contain NUL (0x00) characters")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _integer(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"an integer array element must be an int, not {type(value).__name__}")
    return value
