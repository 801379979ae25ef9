"""Who settles a dead letter and when: the operator's user@host and the UTC time."""

from __future__ import annotations

import getpass
import socket
from datetime import UTC, datetime

from domain.model import Resolution

HOW = ("replayed", "acked", "purged")


def operator() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers running as a bare uid)
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def resolution(how: str, reason: str = "") -> Resolution:
    """A resolution made now by this process's user."""
    if how not in HOW:
        raise ValueError(f"unknown resolution {how!r}: one of {', '.join(HOW)}")
    return Resolution(how=how, by=operator(), at=datetime.now(UTC).isoformat(), reason=reason)
