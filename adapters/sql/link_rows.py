"""Entity links as rows of `entity_mappings`, through a private cattrs converter."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import cattrs

from domain.model import EntityLink

# drivers hand BIGINT back as int or Decimal and BOOLEAN as 0/1 on MySQL: the link's own
# types (int, bool) are what the converter makes of them
_rows = cattrs.Converter()


def link_of(row: Mapping[str, Any]) -> EntityLink:
    """The link a row holds (its `updated_at` is bookkeeping, not part of the link)."""
    return _rows.structure(row, EntityLink)


def row_of(link: EntityLink, updated_at: datetime) -> dict[str, Any]:
    """The row that stores the link, stamped with when it was written."""
    row: dict[str, Any] = _rows.unstructure(link)
    return row | {"updated_at": updated_at}
