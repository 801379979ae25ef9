"""Checkpoints in a JSON file, replaced atomically (write, fsync, rename)."""

from __future__ import annotations

import json
import os
from pathlib import Path


class JsonFileCheckpoints:
    def __init__(self, path: Path) -> None:
        self.path = path

    def _read(self) -> dict[str, int]:
        try:
            return {k: int(v) for k, v in json.loads(self.path.read_text()).items()}
        except FileNotFoundError:
            return {}

    def load(self, name: str) -> int:
        return self._read().get(name, 0)

    def save(self, name: str, last_id: int) -> None:
        values = self._read() | {name: last_id}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        with open(temporary, "w") as handle:
            json.dump(values, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.path)

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)
