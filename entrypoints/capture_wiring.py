"""Building the built-in capture runners from the settings."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from entrypoints.container import Container


def capture_runners(
    container: Container,
    which: tuple[str, ...] = ("legacy", "revamp"),
    on_topics_lost: Callable[[list[str]], None] | None = None,
) -> dict[str, Any]:
    """One runner per database; each owns a Kafka publisher, which dead-letters a change
    too large for the broker instead of retrying it for ever."""
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

    runners: dict[str, Any] = {}
    if "legacy" in which:
        runners["capture-legacy"] = PostgresCaptureRunner(
            settings.legacy_dsn,
            publisher(),
            topic_prefix=settings.legacy_prefix,
            slot=settings.legacy_slot,
            schemas=settings.schemas_enable,
        )
    if "revamp" in which:
        runners["capture-revamp"] = MySQLCaptureRunner(
            settings.revamp_dsn,
            publisher(),
            settings.state_dir / "revamp-binlog.offset",
            topic_prefix=settings.revamp_prefix,
            schemas=settings.schemas_enable,
        )
    return runners


def refuse_foreign_checkpoints(runners: dict[str, Any]) -> None:
    """A checkpoint taken from another server stops the command at start, in one line; a
    server that cannot be reached now is waited for by the capture itself."""
    from domain.errors import TransientError

    for runner in runners.values():
        check = getattr(runner.capture, "check_checkpoint", None)
        if check is not None:
            with contextlib.suppress(TransientError):
                check()
