"""PostgreSQL array parameters as one text literal (`'{1,2,3}'`, cast by the statement).

psycopg dumps a list element by element in Python: ~0.5 µs an integer, ~1.2 µs a string,
8 % of the consumer's CPU into PostgreSQL for the bookkeeping arrays alone; the literal is
built by C-level joins, 6 to 8 times faster. Only lists of integers, booleans or strings
(and NULLs) are written so, whose literal forms are exact; any other list is returned as it
is, for psycopg's dumpers (dates, decimals, bytes, a string holding NUL, mixed types).
"""

from __future__ import annotations

from collections.abc import Iterable
from types import NoneType
from typing import Any


def literal(values: Iterable[Any]) -> str | list[Any]:
    """The array literal of `values`, or `values` as a list when a literal would not be exact."""
    items = values if isinstance(values, list) else list(values)
    kinds = set(map(type, items))
    kinds.discard(NoneType)
    if not kinds:
        return _joined(items, str)
    if len(kinds) > 1:
        return items
    kind = kinds.pop()
    if kind is int:
        return _joined(items, str)
    if kind is bool:
        return _joined(items, lambda v: "t" if v else "f")
    if kind is str and not any("\x00" in v for v in items if v is not None):
        return _joined(items, _quoted)
    return items


def _joined(items: list[Any], text: Any) -> str:
    if None not in items:
        return "{" + ",".join(map(text, items)) + "}"
    return "{" + ",".join("NULL" if v is None else text(v) for v in items) + "}"


def _quoted(value: str) -> str:
    """Double-quoted, backslash and quote escaped: any string is exact (`NULL`, braces,
    commas and spaces included)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
