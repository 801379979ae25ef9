"""Natural keys on a case-insensitive column: the collation, not Python, says what matches."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest
from sqlalchemy import Engine, text

from adapters.sql.store import SqlTargetStore
from domain.events import Platform
from domain.mapping import SchemaMapping

pytestmark = pytest.mark.integration
COLUMN = "email_address VARCHAR(255) CHARACTER SET utf8mb4 COLLATE {} NOT NULL"


@pytest.fixture
def case_insensitive_emails(clean_engines: dict[str, Engine]) -> Iterator[Engine]:
    """revamp_users.email_address under MariaDB's usual case-insensitive collation, for the
    test; the reference schema's utf8mb4_bin afterwards."""
    engine = clean_engines["revamp"]
    alter = "ALTER TABLE revamp_users MODIFY " + COLUMN
    with engine.begin() as conn:
        conn.execute(text(alter.format("utf8mb4_unicode_ci")))
    try:
        yield engine
    finally:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM revamp_users"))
            conn.execute(text(alter.format("utf8mb4_bin")))


def test_a_key_differing_in_case_is_found_where_the_collation_ignores_case(
    case_insensitive_emails: Engine, mapping: SchemaMapping
) -> None:
    users = mapping.entity("user")
    store = SqlTargetStore(case_insensitive_emails, Platform.REVAMP, mapping)
    row = {
        "user_name": "ann",
        "email_address": "ann@example.com",
        "status": "Active",
        "created_at": datetime(2026, 1, 1),
        "updated_at": datetime(2026, 1, 1),
    }
    with store.transaction() as session:
        ann = session.insert(users, row)
    with store.transaction() as session:
        wanted = [("Ann@example.com",), ("ann@example.com",), ("bob@example.com",)]
        assert session.find_many(users, ("email_address",), wanted) == {
            ("Ann@example.com",): ann,
            ("ann@example.com",): ann,
        }
        assert session.find_by(users, {"email_address": "ANN@EXAMPLE.COM"}) == ann
