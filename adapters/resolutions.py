"""Dead letters as operators settle and read them: who resolves one and when (the operator's
user@host, the UTC time), and a letter as `tandem dlq show` prints it."""

from __future__ import annotations

import getpass
import socket
from datetime import UTC, datetime
from typing import Any

import cattrs
from cattrs.gen import make_dict_unstructure_fn, override

from domain.model import DeadLetter, Resolution

HOW = ("replayed", "acked", "purged")

_shown = cattrs.Converter()
_shown.register_unstructure_hook(
    DeadLetter, make_dict_unstructure_fn(DeadLetter, _shown, key=override(omit=True))
)


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


def shown(letter: DeadLetter) -> dict[str, Any]:
    """Every field of the letter but the message key (bytes), its resolution nested."""
    document: dict[str, Any] = _shown.unstructure(letter)
    return document
