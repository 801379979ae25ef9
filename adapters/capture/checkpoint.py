"""The built-in MySQL capture's checkpoint: a JSON file replaced atomically and durably (temp
file, fsync, rename, fsync), read and written through a private cattrs converter."""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path
from typing import IO, Any

import attrs
import cattrs

from adapters.atomic_file import write_json_atomically
from adapters.capture.binlog import BinlogPosition
from adapters.capture.errors import CaptureConfigurationError, SlotBusyError


@attrs.frozen
class BinlogCheckpoint:
    """Where the next transaction starts, and the server it was read from (None in files
    written before servers were recorded)."""

    file: str
    pos: int
    gtid: str | None = None
    server: dict[str, Any] | None = None

    @classmethod
    def at(cls, position: BinlogPosition, server: dict[str, Any] | None) -> BinlogCheckpoint:
        return cls(position.file, position.pos, position.gtid, server or None)

    @property
    def position(self) -> BinlogPosition:
        return BinlogPosition(self.file, self.pos, self.gtid)


def _exactly(kind: type) -> Any:
    def structure(value: Any, _: type) -> Any:
        if type(value) is not kind:
            raise TypeError(f"expected {kind.__name__}, got {value!r}")
        return value

    return structure


_files = cattrs.Converter(forbid_extra_keys=True)
_files.register_structure_hook(str, _exactly(str))
_files.register_structure_hook(int, _exactly(int))
_files.register_unstructure_hook(
    BinlogCheckpoint,
    lambda c: {k: v for k, v in attrs.asdict(c).items() if v is not None or k == "gtid"},
)


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

    def load(self) -> BinlogCheckpoint | None:
        """The saved checkpoint, or None when nothing was saved yet."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        try:
            return _files.structure(json.loads(text), BinlogCheckpoint)
        except (ValueError, TypeError, cattrs.BaseValidationError) as error:
            why = (
                "; ".join(cattrs.transform_error(error))
                if isinstance(error, cattrs.BaseValidationError)
                else str(error)
            )
            raise CaptureConfigurationError(
                f"capture state file {self.path} is not a binlog checkpoint ({why}): "
                "fix or remove it"
            ) from None

    def save(self, checkpoint: BinlogCheckpoint) -> None:
        """Replace the saved checkpoint; returns once it is on disk."""
        write_json_atomically(self.path, _files.unstructure(checkpoint))
