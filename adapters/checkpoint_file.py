"""Checkpoints in a JSON file, replaced atomically (write, fsync, rename, fsync)."""

from __future__ import annotations

import json
from pathlib import Path

from adapters.atomic_file import write_json_atomically


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
        write_json_atomically(self.path, self._read() | {name: last_id})

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)
