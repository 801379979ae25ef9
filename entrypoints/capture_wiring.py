"""Building the built-in capture runners from the settings."""

from __future__ import annotations

import contextlib
from typing import Any

from entrypoints.container import Container


def capture_runners(
    container: Container, which: tuple[str, ...] = ("legacy", "revamp")
) -> dict[str, Any]:
    """One runner per database; each owns a Kafka publisher."""
    from adapters.capture.runner import MySQLCaptureRunner, PostgresCaptureRunner
    from adapters.kafka.publisher import KafkaEventPublisher

    settings = container.core.settings()
    kafka = container.messaging.kafka()
    runners: dict[str, Any] = {}
    if "legacy" in which:
        runners["capture-legacy"] = PostgresCaptureRunner(
            settings.legacy_dsn,
            KafkaEventPublisher(kafka, topic_partitions=settings.topic_partitions),
            topic_prefix=settings.legacy_prefix,
            slot=settings.legacy_slot,
        )
    if "revamp" in which:
        runners["capture-revamp"] = MySQLCaptureRunner(
            settings.revamp_dsn,
            KafkaEventPublisher(kafka, topic_partitions=settings.topic_partitions),
            settings.state_dir / "revamp-binlog.offset",
            topic_prefix=settings.revamp_prefix,
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
