"""Emptying both reference databases: rows and sync bookkeeping, ids restarting at 1.

For tests and benchmarks that reuse one pair of servers; never called by the product.
"""

from __future__ import annotations

from sqlalchemy import Engine, text

LEGACY_TABLES = (
    "legacy_likes, legacy_posts, legacy_users, entity_mappings, processed_events,"
    " tandem_waiting_children"
)
REVAMP_TABLES = (
    "revamp_likes",
    "revamp_posts",
    "revamp_users",
    "entity_mappings",
    "processed_events",
    "tandem_waiting_children",
)


def empty_reference_databases(legacy: Engine, revamp: Engine) -> None:
    with legacy.begin() as conn:
        conn.execute(text(f"TRUNCATE {LEGACY_TABLES} RESTART IDENTITY CASCADE"))
    with revamp.begin() as conn:
        conn.execute(text("SET FOREIGN_KEY_CHECKS = 0"))
        for table in REVAMP_TABLES:
            conn.execute(text(f"TRUNCATE TABLE {table}"))
        conn.execute(text("SET FOREIGN_KEY_CHECKS = 1"))
