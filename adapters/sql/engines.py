"""SQLAlchemy engines for both databases: UTC sessions, pre-ping, short connect timeouts."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url


def open_engine(dsn: str, pool_size: int = 5) -> Engine:
    """An engine whose sessions run in UTC; no connection is made until first use."""
    url = make_url(dsn)
    if url.get_backend_name() == "postgresql":
        connect_args = {"options": "-c timezone=UTC", "connect_timeout": 5}
    else:
        connect_args = {
            "init_command": "SET time_zone = '+00:00'",
            "connect_timeout": 5,
            "read_timeout": 60,
            "write_timeout": 60,
        }
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=pool_size,
        max_overflow=2,
        pool_recycle=1800,
        connect_args=connect_args,
    )


def engine_resource(dsn: str) -> Iterator[Engine]:
    """For providers.Resource: dispose of the pool at shutdown."""
    engine = open_engine(dsn)
    try:
        yield engine
    finally:
        engine.dispose()
