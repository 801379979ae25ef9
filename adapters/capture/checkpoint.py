"""A small JSON state file replaced atomically and durably (temp file, fsync, rename, fsync)."""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path
from typing import IO, Any

from adapters.atomic_file import write_json_atomically
from adapters.capture.errors import CaptureConfigurationError, SlotBusyError


class CheckpointFile:
    """Holds one JSON document; a crash leaves either the old or the new one, never a mix."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock: IO[str] | None = None

    def lock(self) -> None:
        """Hold `<path>.lock` while capturing: SlotBusyError when another process holds it."""
        if self._lock is not None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path.with_name(f"{self.path.name}.lock"), "a")  # noqa: SIM115
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as error:
            handle.close()
            raise SlotBusyError(f"another capture is using {self.path}") from error
        self._lock = handle

    def unlock(self) -> None:
        handle, self._lock = self._lock, None
        if handle is not None:
            handle.close()  # closing the descriptor releases the lock

    def load(self) -> dict[str, Any] | None:
        """The saved document, or None when nothing was saved yet."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        try:
            document = json.loads(text)
        except ValueError as error:
            raise CaptureConfigurationError(
                f"capture state file {self.path} is not JSON ({error}): fix or remove it"
            ) from error
        if not isinstance(document, dict):
            raise CaptureConfigurationError(f"capture state file {self.path} is not an object")
        return document

    def save(self, document: dict[str, Any]) -> None:
        """Replace the saved document; returns once it is on disk."""
        write_json_atomically(self.path, document)
