"""How big a message may be: the producers' request size and the topics' max.message.bytes.

Kafka's default is 1 MB, which a single PostgreSQL row (a TEXT column, a JSONB document) can
pass; the producers and the topics `tandem migrate` creates are raised to fit rows up to
MAX_MESSAGE_BYTES. Bigger ones are dead-lettered by capture (table and key), never retried.
"""

from __future__ import annotations

from domain.errors import MessageTooLargeError

MAX_MESSAGE_BYTES = 16 * 1024 * 1024
_RECORD_OVERHEAD = 64 * 1024  # batch and record headers, kept clear of the producer's check


def check_size(topic: str, key: bytes | None, value: bytes | None) -> None:
    """Raise MessageTooLargeError for a message no producer or topic of Tandem accepts."""
    size = len(key or b"") + len(value or b"")
    if size > MAX_MESSAGE_BYTES - _RECORD_OVERHEAD:
        shown = (key or b"").decode("utf-8", errors="replace")[:200]
        raise MessageTooLargeError(
            f"{topic} key {shown}: a message of {size} bytes exceeds the limit of "
            f"{MAX_MESSAGE_BYTES} bytes"
        )


TOPIC_CONFIGS = {"max.message.bytes": str(MAX_MESSAGE_BYTES)}
