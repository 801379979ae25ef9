"""Capture's publisher guard: a row too big for any topic is dead-lettered, never retried."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from domain.errors import MessageTooLargeError
from domain.model import DeadLetter
from domain.ports import DeadLetterQueue, EventPublisher

log = logging.getLogger("tandem.capture")


class OversizeDeadLettering:
    """EventPublisher: publishes through `publisher`; a message over the broker's limit goes
    to the DLQ instead, with its topic (the table), its key and the change without its
    row images, so that capture moves on rather than stalls on it."""

    def __init__(self, publisher: EventPublisher, dead_letters: DeadLetterQueue) -> None:
        self.publisher = publisher
        self.dead_letters = dead_letters

    def publish(self, topic: str, key: bytes | None, value: bytes | None) -> None:
        try:
            self.publisher.publish(topic, key, value)
        except MessageTooLargeError as error:
            self._dead_letter(topic, key, value, str(error))

    def flush(self) -> None:
        """Every message acknowledged or, when the broker refused some as too large (a topic
        made with a smaller limit), those dead-lettered; the others arrived."""
        try:
            self.publisher.flush()
        except MessageTooLargeError as error:
            if not error.refused:
                raise
            for topic, key, value in error.refused:
                shown = (key or b"").decode("utf-8", errors="replace")[:200]
                why = f"{topic} key {shown}: refused by the broker as too large"
                self._dead_letter(topic, key, value, why)

    def _dead_letter(self, topic: str, key: bytes | None, value: bytes | None, why: str) -> None:
        self.dead_letters.send(
            DeadLetter(
                original_event=_without_images(value),
                key=key,
                topic=topic,
                partition=-1,
                offset=-1,
                error_type=MessageTooLargeError.__name__,
                error_message=why,
                stack_trace="",
                retry_count=0,
                failed_at=datetime.now(UTC).isoformat(),
            )
        )
        log.error("change too large, dead-lettered", extra={"topic": topic, "error": why})

    def close(self) -> None:
        close = getattr(self.publisher, "close", None)
        if close is not None:
            close()


def _without_images(value: bytes | None) -> Any:
    """The change event with `before` and `after` left out: they are what is too big."""
    try:
        document = json.loads(value or b"null")
    except ValueError:
        return None
    payload = document.get("payload", document) if isinstance(document, dict) else None
    if not isinstance(payload, dict):
        return None
    return {k: v for k, v in payload.items() if k not in ("before", "after")} | {
        "before": None,
        "after": None,
        "omitted": "before and after: too large for the broker",
    }
