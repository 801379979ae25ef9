"""Building the capture runners (built-in or Debezium) from the settings."""

from __future__ import annotations

import contextlib
import zlib
from collections.abc import Callable
from typing import Any

from entrypoints.container import Container


def capture_runners(
    container: Container,
    which: tuple[str, ...] = ("legacy", "revamp"),
    on_topics_lost: Callable[[list[str]], None] | None = None,
    kind: str | None = None,
) -> dict[str, Any]:
    """One runner per database, of the capture `kind` (default SYNC_CAPTURE); each owns a
    Kafka publisher, which dead-letters a change too large for the broker instead of retrying
    it for ever."""
    from adapters.capture.oversize import OversizeDeadLettering
    from adapters.capture.runner import MySQLCaptureRunner, PostgresCaptureRunner
    from adapters.kafka.dead_letters import KafkaDeadLetterQueue
    from adapters.kafka.publisher import KafkaEventPublisher

    settings = container.core.settings()
    kafka = container.messaging.kafka()

    def publisher() -> OversizeDeadLettering:
        kafka_publisher = KafkaEventPublisher(
            kafka, topic_partitions=settings.topic_partitions, on_topics_lost=on_topics_lost
        )
        dead_letters = KafkaDeadLetterQueue(
            kafka,
            settings.dlq_topic,
            partitions=settings.topic_partitions,
            publisher=kafka_publisher,
        )
        return OversizeDeadLettering(kafka_publisher, dead_letters)

    if (kind or settings.capture) == "debezium":
        return debezium_runners(container, which, publisher)
    runners: dict[str, Any] = {}
    if "legacy" in which:
        runners["capture-legacy"] = PostgresCaptureRunner(
            settings.legacy_dsn,
            publisher(),
            topic_prefix=settings.legacy_prefix,
            slot=settings.legacy_slot,
        )
    if "revamp" in which:
        runners["capture-revamp"] = MySQLCaptureRunner(
            settings.revamp_dsn,
            publisher(),
            settings.state_dir / "revamp-binlog.offset",
            topic_prefix=settings.revamp_prefix,
        )
    return runners


def debezium_runners(
    container: Container, which: tuple[str, ...], publisher: Callable[[], Any]
) -> dict[str, Any]:
    """Debezium's PostgreSQL and MySQL connectors in the embedded engine, on the mapped
    tables, their offsets and schema history in the state directory."""
    from adapters.capture.debezium_engine.connector import (
        HEARTBEAT_TABLE,
        mysql_connector,
        postgres_connector,
    )
    from adapters.capture.debezium_engine.heartbeat import Heartbeat
    from adapters.capture.debezium_engine.runner import DebeziumCaptureRunner
    from adapters.capture.debezium_engine.slot import prepare_postgres

    settings, mapping = container.core.settings(), container.core.mapping()
    state = settings.state_dir.absolute()
    runners: dict[str, Any] = {}
    if "legacy" in which:
        tables = [(e.schemas.legacy, e.tables.legacy) for e in mapping.entities]
        slot = settings.debezium_slot  # and its publication: mapped tables and the heartbeat
        connector = postgres_connector(
            settings.legacy_dsn, prefix=settings.legacy_prefix, tables=tables,
            slot=slot, publication=slot, state_dir=state,
        )  # fmt: skip
        published = [*tables, (connector.heartbeat_schema, HEARTBEAT_TABLE)]
        runners["capture-legacy"] = DebeziumCaptureRunner(
            connector,
            publisher(),
            Heartbeat(settings.legacy_dsn, connector.heartbeat_schema),
            name=settings.legacy_prefix,
            prepare_source=lambda: prepare_postgres(settings.legacy_dsn, slot, slot, published),
        )
    if "revamp" in which:
        tables = [(e.schemas.revamp, e.tables.revamp) for e in mapping.entities]
        history = (state / "debezium-revamp").resolve()
        connector = mysql_connector(
            settings.revamp_dsn, prefix=settings.revamp_prefix, tables=tables,
            server_id=200_000 + zlib.crc32(str(history).encode()) % 2**30, state_dir=state,
        )  # fmt: skip
        runners["capture-revamp"] = DebeziumCaptureRunner(
            connector,
            publisher(),
            Heartbeat(settings.revamp_dsn, connector.heartbeat_schema),
            name=settings.revamp_prefix,
        )
    return runners


def refuse_unrunnable(runners: dict[str, Any]) -> None:
    """A checkpoint taken from another server, or Debezium without its extra or Java, stops
    the command at start, in one line; a server that cannot be reached now is waited for by
    the capture itself."""
    from domain.errors import TransientError

    for runner in runners.values():
        check_engine = getattr(runner, "check", None)
        if check_engine is not None:
            check_engine()
        check = getattr(getattr(runner, "capture", None), "check_checkpoint", None)
        if check is not None:
            with contextlib.suppress(TransientError):
                check()
